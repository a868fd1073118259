"""Accepted-when 5: retention deletes whole old segments, ListOffsets
(earliest) moves forward, and a fetch below the log start gets
OFFSET_OUT_OF_RANGE."""
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "support"))
from broker import Broker  # noqa: E402
from clients import create_topic, wait_until  # noqa: E402

from kafka import KafkaConsumer, KafkaProducer, TopicPartition  # noqa: E402
from kafka.errors import OffsetOutOfRangeError  # noqa: E402


def segments(broker, topic):
    path = broker.partition_dir(topic, 0)
    return sorted(f for f in os.listdir(path) if f.endswith(".log"))


class RetentionTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.broker = Broker(config={"log.retention.check.interval.ms": "200"}).start()

    @classmethod
    def tearDownClass(cls):
        cls.broker.cleanup()

    def produce(self, topic, count, timestamp_ms=None):
        producer = KafkaProducer(bootstrap_servers=self.broker.bootstrap, acks="all", linger_ms=0)
        for i in range(count):
            producer.send(topic, value=b"%05d" % i + b"." * 200, partition=0, timestamp_ms=timestamp_ms).get(30)
        producer.close()

    def earliest(self, topic):
        consumer = KafkaConsumer(bootstrap_servers=self.broker.bootstrap)
        tp = TopicPartition(topic, 0)
        offset = consumer.beginning_offsets([tp])[tp]
        consumer.close()
        return offset

    def test_time_retention_deletes_old_segments(self):
        create_topic(self.broker, "by-time", configs={"segment.bytes": "2048", "retention.ms": "3000"})
        old = int(time.time() * 1000) - 60_000  # records a minute old: expired at once
        self.produce("by-time", 100, timestamp_ms=old)
        wait_until(lambda: self.earliest("by-time") == 100, timeout=15, what="every expired segment deleted")
        remaining = segments(self.broker, "by-time")
        self.assertEqual(remaining, ["%020d.log" % 100], "only an empty active segment at the log end remains")

        consumer = KafkaConsumer(bootstrap_servers=self.broker.bootstrap, auto_offset_reset="none",
                                 consumer_timeout_ms=3000)
        tp = TopicPartition("by-time", 0)
        consumer.assign([tp])
        consumer.seek(tp, 10)
        with self.assertRaises(OffsetOutOfRangeError):
            consumer.poll(timeout_ms=5000)
            consumer.poll(timeout_ms=5000)
        consumer.close()

    def test_size_retention_keeps_newest_segments(self):
        create_topic(self.broker, "by-size", configs={"segment.bytes": "4096", "retention.bytes": "8192"})
        self.produce("by-size", 200)
        wait_until(lambda: self.earliest("by-size") > 0, timeout=15, what="size retention")
        files = segments(self.broker, "by-size")
        total = sum(os.path.getsize(os.path.join(self.broker.partition_dir("by-size", 0), f)) for f in files)
        self.assertLessEqual(total, 8192 + 4096)
        self.assertEqual(self.earliest("by-size"), int(files[0][:20]))
        # What is left is still readable from the new log start.
        consumer = KafkaConsumer(bootstrap_servers=self.broker.bootstrap, consumer_timeout_ms=3000)
        tp = TopicPartition("by-size", 0)
        consumer.assign([tp])
        consumer.seek_to_beginning(tp)
        offsets = [m.offset for m in consumer]
        consumer.close()
        self.assertEqual(offsets, list(range(self.earliest("by-size"), 200)))


if __name__ == "__main__":
    unittest.main()

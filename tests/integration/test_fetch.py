"""Fetch semantics: min bytes and max wait as a real long poll woken by new
data, per-partition and per-response byte limits, and a first batch larger
than the limits still delivered (KIP-74)."""
import os
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "support"))
from broker import Broker  # noqa: E402
from clients import create_topic  # noqa: E402
from kafka_wire import Connection, fetch_partition  # noqa: E402

from kafka import KafkaConsumer, KafkaProducer, TopicPartition  # noqa: E402

MAX_WAIT_MS = 500


class FetchTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.broker = Broker().start()

    @classmethod
    def tearDownClass(cls):
        cls.broker.cleanup()

    def test_long_poll_wakes_on_new_data(self):
        create_topic(self.broker, "poll", partitions=2)
        consumer = KafkaConsumer(bootstrap_servers=self.broker.bootstrap, fetch_max_wait_ms=10_000,
                                 fetch_min_bytes=1, request_timeout_ms=30_000)
        consumer.assign([TopicPartition("poll", 0), TopicPartition("poll", 1)])
        consumer.seek_to_beginning()
        consumer.poll(timeout_ms=200)  # sends the first (waiting) fetch

        def produce_later():
            time.sleep(1.0)
            producer = KafkaProducer(bootstrap_servers=self.broker.bootstrap, acks="all")
            producer.send("poll", value=b"wake-up", partition=1).get(10)
            producer.close()

        thread = threading.Thread(target=produce_later)
        start = time.time()
        thread.start()
        records = {}
        while not records and time.time() - start < 9:
            records = consumer.poll(timeout_ms=9000)
        elapsed = time.time() - start
        thread.join()
        consumer.close()
        values = [m.value for batch in records.values() for m in batch]
        self.assertEqual(values, [b"wake-up"])
        self.assertLess(elapsed, 5.0, "the fetch should be woken by the append, not wait out max_wait_ms")

    def test_waits_max_wait_when_no_data(self):
        create_topic(self.broker, "idle", partitions=1)
        conn = Connection(self.broker)
        try:
            for version in (4, 11):
                start = time.monotonic()
                answer = fetch_partition(conn, "idle", 0, 0, version, max_wait_ms=MAX_WAIT_MS)
                waited = time.monotonic() - start
                self.assertEqual((answer["error"], answer["high_watermark"], answer["records"]), (0, 0, b""))
                # Neither an immediate empty answer nor one that waits far past the deadline.
                self.assertGreaterEqual(waited, MAX_WAIT_MS / 1000, "v%d answered before max wait" % version)
                self.assertLess(waited, MAX_WAIT_MS / 1000 + 1.0, "v%d waited far past max wait" % version)
        finally:
            conn.close()

    def test_byte_limits_and_oversized_first_batch(self):
        create_topic(self.broker, "big", partitions=1, configs={"max.message.bytes": "3000000"})
        producer = KafkaProducer(bootstrap_servers=self.broker.bootstrap, acks="all", max_request_size=4_000_000)
        producer.send("big", value=b"x" * 2_000_000, partition=0).get(30)
        for i in range(50):
            producer.send("big", value=b"small-%d" % i, partition=0)
        producer.flush()
        producer.close()
        # Partition and response limits far below the first batch: still delivered whole.
        consumer = KafkaConsumer(bootstrap_servers=self.broker.bootstrap, max_partition_fetch_bytes=1024,
                                 fetch_max_bytes=2048, consumer_timeout_ms=5000)
        consumer.assign([TopicPartition("big", 0)])
        consumer.seek_to_beginning()
        values = [m.value for m in consumer]
        consumer.close()
        self.assertEqual(len(values), 51)
        self.assertEqual(len(values[0]), 2_000_000)
        self.assertEqual(values[1:], [b"small-%d" % i for i in range(50)])


if __name__ == "__main__":
    unittest.main()

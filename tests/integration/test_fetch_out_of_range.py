"""Issue 11 item 1: a fetch below the log start (after DeleteRecords) or
above the log end gets OFFSET_OUT_OF_RANGE with an empty record set, as
Kafka answers, so consumers apply auto.offset.reset: earliest resets to the
log start, latest to the log end, and none/error surfaces the error to the
application. Checked on the wire and with python3-confluent-kafka
(librdkafka) and python3-kafka consumers; rdkafka++ has its own test
(fetch_out_of_range_test.cpp)."""
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "support"))
from broker import Broker  # noqa: E402
from clients import create_topic  # noqa: E402
from kafka_wire import Connection, fetch_partition  # noqa: E402
from rdkafka_admin import RecordDeleter  # noqa: E402

import kafka  # noqa: E402
import kafka.errors  # noqa: E402
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition  # noqa: E402

OFFSET_OUT_OF_RANGE = 1
RECORDS = 10
LOG_START = 5  # DeleteRecords moves the log start here
BELOW = 2
ABOVE = 50


def produce(broker, topic, values):
    producer = Producer({"bootstrap.servers": broker.bootstrap, "acks": "all"})
    for v in values:
        producer.produce(topic, value=v, partition=0)
    remaining = producer.flush(10)
    assert remaining == 0, "produce did not complete"


class FetchOutOfRangeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.broker = Broker().start()
        cls.topics = 0

    @classmethod
    def tearDownClass(cls):
        cls.broker.cleanup()

    def fresh_topic(self):
        """A one-partition topic holding offsets LOG_START..RECORDS-1 (0..4 deleted)."""
        FetchOutOfRangeTest.topics += 1
        name = "oor-%d" % FetchOutOfRangeTest.topics
        create_topic(self.broker, name)
        produce(self.broker, name, [b"r%d" % i for i in range(RECORDS)])
        deleter = RecordDeleter(self.broker.bootstrap)
        try:
            self.assertEqual(deleter.delete_records(name, {0: LOG_START}), {0: LOG_START})
        finally:
            deleter.close()
        return name

    # -- the wire ----------------------------------------------------------
    def fetch_v11(self, topic, offset):
        conn = Connection(self.broker)
        try:
            return fetch_partition(conn, topic, 0, offset, 11)
        finally:
            conn.close()

    def test_wire_answer_has_empty_records_not_null(self):
        topic = self.fresh_topic()
        for offset in (BELOW, RECORDS + 1, ABOVE):
            p = self.fetch_v11(topic, offset)
            self.assertEqual(p["error"], OFFSET_OUT_OF_RANGE, "offset %d" % offset)
            self.assertEqual(p["records"], b"", "offset %d: records must be empty, not null" % offset)
            # Kafka reports an erroring partition's offsets as unknown.
            self.assertEqual((p["high_watermark"], p["log_start_offset"]), (-1, -1))
        # In range: data; at the end: no error, no data.
        self.assertEqual(self.fetch_v11(topic, LOG_START)["error"], 0)
        at_end = self.fetch_v11(topic, RECORDS)
        self.assertEqual((at_end["error"], at_end["records"]), (0, b""))

    # -- librdkafka (python3-confluent-kafka) ------------------------------
    def librdkafka_consumer(self, reset):
        consumer = Consumer({"bootstrap.servers": self.broker.bootstrap, "group.id": "oor-rdkafka",
                             "enable.auto.commit": False, "auto.offset.reset": reset,
                             "fetch.wait.max.ms": 100})
        self.addCleanup(consumer.close)
        return consumer

    def librdkafka_poll(self, consumer, seconds, until=lambda records, errors: False):
        """(records as [(offset, value)], errors as [KafkaError code]) polled
        for `seconds` or until `until(records, errors)` holds."""
        records, errors = [], []
        deadline = time.time() + seconds
        while time.time() < deadline and not until(records, errors):
            msg = consumer.poll(0.1)
            if msg is None:
                continue
            if msg.error():
                errors.append(msg.error().code())
            else:
                records.append((msg.offset(), msg.value()))
        return records, errors

    def check_librdkafka(self, start, reset):
        topic = self.fresh_topic()
        consumer = self.librdkafka_consumer(reset)
        consumer.assign([TopicPartition(topic, 0, start)])
        if reset == "earliest":
            records, errors = self.librdkafka_poll(consumer, 5, lambda r, e: len(r) >= RECORDS - LOG_START or e)
            self.assertEqual(errors, [])
            self.assertEqual(records, [(o, b"r%d" % o) for o in range(LOG_START, RECORDS)])
        elif reset == "latest":
            records, errors = self.librdkafka_poll(consumer, 1)
            self.assertEqual((records, errors), ([], []), "latest: nothing before new records arrive")
            produce(self.broker, topic, [b"new-%d" % i for i in range(3)])
            records, errors = self.librdkafka_poll(consumer, 5, lambda r, e: len(r) >= 3 or e)
            self.assertEqual(errors, [])
            self.assertEqual(records, [(RECORDS + i, b"new-%d" % i) for i in range(3)])
        else:
            records, errors = self.librdkafka_poll(consumer, 5, lambda r, e: r or e)
            self.assertEqual(records, [])
            self.assertIn(KafkaError._AUTO_OFFSET_RESET, errors,
                          "auto.offset.reset=error must surface the out-of-range fetch to the application")

    def test_librdkafka_below_log_start_earliest(self):
        self.check_librdkafka(BELOW, "earliest")

    def test_librdkafka_below_log_start_latest(self):
        self.check_librdkafka(BELOW, "latest")

    def test_librdkafka_below_log_start_error(self):
        self.check_librdkafka(BELOW, "error")

    def test_librdkafka_above_end_earliest(self):
        self.check_librdkafka(ABOVE, "earliest")

    def test_librdkafka_above_end_latest(self):
        self.check_librdkafka(ABOVE, "latest")

    def test_librdkafka_above_end_error(self):
        self.check_librdkafka(ABOVE, "error")

    # -- python3-kafka -----------------------------------------------------
    def kafka_python_consumer(self, reset):
        consumer = kafka.KafkaConsumer(bootstrap_servers=self.broker.bootstrap, auto_offset_reset=reset,
                                       enable_auto_commit=False, fetch_max_wait_ms=100)
        self.addCleanup(consumer.close)
        return consumer

    @staticmethod
    def kafka_python_poll(consumer, seconds, want=None):
        """[(offset, value)] polled for `seconds` or until `want` records came."""
        records = []
        deadline = time.time() + seconds
        while time.time() < deadline and (want is None or len(records) < want):
            for batch in consumer.poll(timeout_ms=100).values():
                records += [(m.offset, m.value) for m in batch]
        return records

    def check_kafka_python(self, start, reset):
        topic = self.fresh_topic()
        consumer = self.kafka_python_consumer(reset)
        tp = kafka.TopicPartition(topic, 0)
        consumer.assign([tp])
        consumer.seek(tp, start)
        if reset == "earliest":
            self.assertEqual(self.kafka_python_poll(consumer, 5, RECORDS - LOG_START),
                             [(o, b"r%d" % o) for o in range(LOG_START, RECORDS)])
        elif reset == "latest":
            self.assertEqual(self.kafka_python_poll(consumer, 1), [])
            self.assertEqual(consumer.position(tp), RECORDS, "latest resets to the log end")
            produce(self.broker, topic, [b"new-%d" % i for i in range(3)])
            self.assertEqual(self.kafka_python_poll(consumer, 5, 3), [(RECORDS + i, b"new-%d" % i) for i in range(3)])
        else:
            with self.assertRaises(kafka.errors.OffsetOutOfRangeError) as raised:
                self.kafka_python_poll(consumer, 5)
            self.assertEqual(raised.exception.args[0], {tp: start})

    def test_kafka_python_below_log_start_earliest(self):
        self.check_kafka_python(BELOW, "earliest")

    def test_kafka_python_below_log_start_latest(self):
        self.check_kafka_python(BELOW, "latest")

    def test_kafka_python_below_log_start_none(self):
        self.check_kafka_python(BELOW, "none")

    def test_kafka_python_above_end_earliest(self):
        self.check_kafka_python(ABOVE, "earliest")

    def test_kafka_python_above_end_latest(self):
        self.check_kafka_python(ABOVE, "latest")

    def test_kafka_python_above_end_none(self):
        self.check_kafka_python(ABOVE, "none")


if __name__ == "__main__":
    unittest.main()

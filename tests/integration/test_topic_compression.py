"""Issue 11 item 2: topic compression.type. CreateTopics, AlterConfigs and
IncrementalAlterConfigs accept gzip, snappy, lz4, zstd, uncompressed and
producer; a batch whose codec differs from the topic's is recompressed on the
way in (offsets assigned as usual, idempotent producers unaffected), one
that matches is stored as sent; kcat, python3-confluent-kafka and
python3-kafka consumers read the result (python3-kafka fetches with v4, too
old for zstd: it gets UNSUPPORTED_COMPRESSION_TYPE, as from Kafka)."""
import glob
import os
import struct
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "support"))
from broker import Broker  # noqa: E402
from clients import admin, create_topic, kcat  # noqa: E402
from kafka_wire import Connection, fetch_partition  # noqa: E402

import kafka  # noqa: E402
import kafka.errors  # noqa: E402
from kafka.admin import ConfigResource, ConfigResourceType  # noqa: E402
from confluent_kafka import Consumer, Producer, TopicPartition  # noqa: E402

CODEC_ID = {"uncompressed": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}
# For each topic codec, producer codecs that differ from it (librdkafka, python3-kafka).
PRODUCER_CODECS = {
    "gzip": ("none", None),
    "snappy": ("lz4", "gzip"),
    "lz4": ("zstd", "snappy"),
    "zstd": ("gzip", "lz4"),
    "uncompressed": ("snappy", "gzip"),
}
INVALID_CONFIG = 40
UNSUPPORTED_COMPRESSION_TYPE = 76
RDKAFKA_RECORDS = 300
KAFKA_PYTHON_RECORDS = 50


def stored_batches(broker, topic):
    """(attributes, records section) of every batch in the partition's
    segment files, in log order."""
    batches = []
    for path in sorted(glob.glob(os.path.join(broker.partition_dir(topic, 0), "*.log"))):
        with open(path, "rb") as f:
            data = f.read()
        pos = 0
        while pos + 61 <= len(data):
            length = struct.unpack(">i", data[pos + 8:pos + 12])[0]
            attributes = struct.unpack(">h", data[pos + 21:pos + 23])[0]
            batches.append((attributes, data[pos + 61:pos + 12 + length]))
            pos += 12 + length
    return batches


def stored_codecs(broker, topic):
    return [attributes & 7 for attributes, _ in stored_batches(broker, topic)]


def stored_sections(broker, topic):
    return [section for _, section in stored_batches(broker, topic)]


def expected_records():
    """(offset, key, value) of everything the two producers write, in order."""
    out = [(i, b"k%d" % i, b"rdkafka-%d-" % i + b"x" * (i % 200)) for i in range(RDKAFKA_RECORDS)]
    out += [(RDKAFKA_RECORDS + i, b"kp%d" % i, b"kafka-python-%d" % i) for i in range(KAFKA_PYTHON_RECORDS)]
    return out


def incremental_alter(broker, topic, key, value):
    """IncrementalAlterConfigs v0 (SET) on the wire; returns (error code, message)."""
    conn = Connection(broker)
    try:
        def body(w):
            w.array([topic], lambda w, t: (w.int8(2), w.string(t), w.array([(key, value)], lambda w, kv: (
                w.string(kv[0]), w.int8(0), w.string(kv[1])))))
            w.bool(False)
        r = conn.request(44, 0, body, flexible=False)
        r.int32()  # throttle
        results = r.array(lambda r: (r.int16(), r.string(), r.int8(), r.string()))
        return results[0][0], results[0][1]
    finally:
        conn.close()


class TopicCompressionTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.broker = Broker().start()

    @classmethod
    def tearDownClass(cls):
        cls.broker.cleanup()

    def topic_config(self, topic):
        client = admin(self.broker)
        try:
            result = client.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
            entries = result[0].resources[0][4]
            return {e[0]: e[1] for e in entries}
        finally:
            client.close()

    def test_admin_calls_accept_every_codec(self):
        for codec in list(CODEC_ID) + ["producer"]:
            create_topic(self.broker, "created-" + codec, configs={"compression.type": codec})
            self.assertEqual(self.topic_config("created-" + codec)["compression.type"], codec)
        create_topic(self.broker, "altered")
        client = admin(self.broker)
        try:
            for codec in CODEC_ID:
                client.alter_configs([ConfigResource(ConfigResourceType.TOPIC, "altered",
                                                     configs={"compression.type": codec})])
                self.assertEqual(self.topic_config("altered")["compression.type"], codec)
        finally:
            client.close()
        for codec in CODEC_ID:
            self.assertEqual(incremental_alter(self.broker, "altered", "compression.type", codec), (0, None))
            self.assertEqual(self.topic_config("altered")["compression.type"], codec)
        error, message = incremental_alter(self.broker, "altered", "compression.type", "brotli")
        self.assertEqual(error, INVALID_CONFIG)
        self.assertIn("compression.type", message)

    def produce(self, topic, rdkafka_codec, kafka_python_codec):
        delivered = []
        producer = Producer({"bootstrap.servers": self.broker.bootstrap, "enable.idempotence": True,
                             "compression.type": rdkafka_codec, "linger.ms": 5, "batch.num.messages": 64})
        for i in range(RDKAFKA_RECORDS):
            producer.produce(topic, key=b"k%d" % i, value=b"rdkafka-%d-" % i + b"x" * (i % 200), partition=0,
                             headers=[("h", b"%d" % i)],
                             on_delivery=lambda err, msg: delivered.append((err, msg.offset())))
        self.assertEqual(producer.flush(20), 0)
        self.assertEqual([e for e, _ in delivered if e is not None], [], "idempotent produce must succeed")
        self.assertEqual(sorted(o for _, o in delivered), list(range(RDKAFKA_RECORDS)))
        producer = kafka.KafkaProducer(bootstrap_servers=self.broker.bootstrap, acks="all",
                                       compression_type=kafka_python_codec, linger_ms=5)
        for i in range(KAFKA_PYTHON_RECORDS):
            producer.send(topic, key=b"kp%d" % i, value=b"kafka-python-%d" % i, partition=0)
        producer.flush(20)
        producer.close()

    def consume_kcat(self, topic):
        out = kcat(self.broker, "-C", "-t", topic, "-o", "beginning", "-e", "-q", "-f", "%o %k %s\n").stdout
        return [(int(o), k.encode(), v.encode()) for o, k, v in (line.split(" ", 2) for line in out.splitlines())]

    def consume_confluent(self, topic):
        consumer = Consumer({"bootstrap.servers": self.broker.bootstrap, "group.id": "compression",
                             "enable.auto.commit": False})
        consumer.assign([TopicPartition(topic, 0, 0)])
        out, deadline = [], time.time() + 20
        while len(out) < len(expected_records()) and time.time() < deadline:
            msg = consumer.poll(0.2)
            if msg is None:
                continue
            self.assertIsNone(msg.error())
            out.append((msg.offset(), msg.key(), msg.value()))
        consumer.close()
        return out

    def kafka_python_consumer(self, topic):
        consumer = kafka.KafkaConsumer(bootstrap_servers=self.broker.bootstrap, enable_auto_commit=False)
        consumer.assign([kafka.TopicPartition(topic, 0)])
        consumer.seek_to_beginning()
        self.addCleanup(consumer.close)
        return consumer

    def consume_kafka_python(self, topic):
        consumer = self.kafka_python_consumer(topic)
        out, deadline = [], time.time() + 20
        while len(out) < len(expected_records()) and time.time() < deadline:
            for batch in consumer.poll(timeout_ms=200).values():
                out += [(m.offset, m.key, m.value) for m in batch]
        return out

    def check_codec(self, codec):
        topic = "stored-" + codec
        create_topic(self.broker, topic, configs={"compression.type": codec})
        self.produce(topic, *PRODUCER_CODECS[codec])
        codecs = stored_codecs(self.broker, topic)
        self.assertGreater(len(codecs), 1)
        self.assertEqual(set(codecs), {CODEC_ID[codec]}, "every stored batch must carry the topic's codec")
        want = expected_records()
        self.assertEqual(self.consume_kcat(topic), want)
        self.assertEqual(self.consume_confluent(topic), want)
        if codec == "zstd":
            # Fetch below v10 (python3-kafka's v4) may not read a zstd topic.
            conn = Connection(self.broker)
            self.addCleanup(conn.close)
            self.assertEqual(fetch_partition(conn, topic, 0, 0, 4)["error"], UNSUPPORTED_COMPRESSION_TYPE)
            self.assertEqual(fetch_partition(conn, topic, 0, 0, 9)["error"], UNSUPPORTED_COMPRESSION_TYPE)
            self.assertEqual(fetch_partition(conn, topic, 0, 0, 10)["error"], 0)
            consumer = self.kafka_python_consumer(topic)
            got = [m for _ in range(10) for batch in consumer.poll(timeout_ms=200).values() for m in batch]
            self.assertEqual(got, [])
        else:
            self.assertEqual(self.consume_kafka_python(topic), want)

    def test_gzip(self):
        self.check_codec("gzip")

    def test_snappy(self):
        self.check_codec("snappy")

    def test_lz4(self):
        self.check_codec("lz4")

    def test_zstd(self):
        self.check_codec("zstd")

    def test_uncompressed(self):
        self.check_codec("uncompressed")

    def test_matching_codec_is_stored_as_sent(self):
        """A batch already in the topic's codec is stored as sent, one in
        another codec is re-encoded. Told apart by snappy's framing: librdkafka
        sends raw snappy blocks, the broker writes the xerial framing every
        client reads."""
        xerial = b"\x82SNAPPY\x00"
        for topic, producer_codec, want_xerial in (("snappy-as-sent", "snappy", False),
                                                   ("snappy-recompressed", "lz4", True)):
            create_topic(self.broker, topic, configs={"compression.type": "snappy"})
            producer = Producer({"bootstrap.servers": self.broker.bootstrap, "compression.type": producer_codec,
                                 "linger.ms": 20})
            for i in range(100):
                producer.produce(topic, value=b"same-%d," % i * 20, partition=0)
            self.assertEqual(producer.flush(10), 0)
            sections = stored_sections(self.broker, topic)
            self.assertTrue(sections)
            self.assertEqual({s[:len(xerial)] == xerial for s in sections}, {want_xerial}, topic)
            self.assertEqual([v for _, _, v in self.consume_kcat(topic)], [b"same-%d," % i * 20 for i in range(100)])


if __name__ == "__main__":
    unittest.main()

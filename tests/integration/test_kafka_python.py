"""Accepted-when 2: python3-kafka's admin client creates and deletes topics
and reads configs; KafkaProducer (acks=all) and a KafkaConsumer with assign
and seek read back what was written; offsets_for_times finds the right
offsets."""
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "support"))
from broker import Broker  # noqa: E402
from clients import admin  # noqa: E402

from kafka import KafkaConsumer, KafkaProducer, TopicPartition  # noqa: E402
from kafka.admin import ConfigResource, ConfigResourceType, NewPartitions, NewTopic  # noqa: E402
from kafka.errors import InvalidConfigurationError, InvalidPartitionsError, InvalidReplicationFactorError  # noqa: E402
from kafka.errors import TopicAlreadyExistsError, UnknownTopicOrPartitionError  # noqa: E402


class KafkaPythonTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.broker = Broker(config={"log.retention.hours": "48"}).start()
        cls.admin = admin(cls.broker)

    @classmethod
    def tearDownClass(cls):
        cls.admin.close()
        cls.broker.cleanup()

    def consumer(self, **kw):
        return KafkaConsumer(bootstrap_servers=self.broker.bootstrap, enable_auto_commit=False,
                             consumer_timeout_ms=5000, **kw)

    def test_admin_create_describe_delete(self):
        self.admin.create_topics([NewTopic("orders", num_partitions=4, replication_factor=1,
                                           topic_configs={"retention.ms": "3600000", "segment.bytes": "1048576"})])
        self.assertIn("orders", self.admin.list_topics())
        with self.assertRaises(TopicAlreadyExistsError):
            self.admin.create_topics([NewTopic("orders", num_partitions=1, replication_factor=1)])
        with self.assertRaises(InvalidConfigurationError):
            self.admin.create_topics([NewTopic("bad-config", 1, 1, topic_configs={"retention.ms": "soon"})])
        with self.assertRaises(InvalidReplicationFactorError):
            self.admin.create_topics([NewTopic("three-copies", 1, 3)])
        self.assertNotIn("bad-config", self.admin.list_topics())

        resources = self.admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, "orders")])
        configs = {c[0]: c for c in resources[0].resources[0][4]}
        self.assertEqual(configs["retention.ms"][1], "3600000")
        self.assertEqual(configs["segment.bytes"][1], "1048576")
        self.assertEqual(configs["flush.messages"][1], "1")
        self.assertEqual(configs["cleanup.policy"][1], "delete")

        broker_configs = self.admin.describe_configs([ConfigResource(ConfigResourceType.BROKER, "0")])
        values = {c[0]: c[1] for c in broker_configs[0].resources[0][4]}
        self.assertEqual(values["log.retention.ms"], str(48 * 3600 * 1000))
        self.assertEqual(values["auto.create.topics.enable"], "false")

        # validate_only checks everything and creates nothing.
        self.admin.create_topics([NewTopic("dry-run", 2, 1, topic_configs={"retention.ms": "1000"})],
                                 validate_only=True)
        self.assertNotIn("dry-run", self.admin.list_topics())
        with self.assertRaises(TopicAlreadyExistsError):
            self.admin.create_topics([NewTopic("orders", 1, 1)], validate_only=True)

        # AlterConfigs replaces the topic's overrides at run time.
        self.admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, "orders",
                                                 configs={"retention.ms": "7200000"})])
        resources = self.admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, "orders")])
        configs = {c[0]: c for c in resources[0].resources[0][4]}
        self.assertEqual(configs["retention.ms"][1], "7200000")
        self.assertEqual(configs["segment.bytes"][1], "1073741824", "overrides not named are removed")

        self.admin.create_partitions({"orders": NewPartitions(total_count=6)})
        self.assertEqual(len(self.consumer().partitions_for_topic("orders")), 6)
        with self.assertRaises(InvalidPartitionsError):
            self.admin.create_partitions({"orders": NewPartitions(total_count=2)})

        self.admin.delete_topics(["orders"])
        self.assertNotIn("orders", self.admin.list_topics())
        with self.assertRaises(UnknownTopicOrPartitionError):
            self.admin.delete_topics(["orders"])
        self.assertFalse(any(d.startswith("orders-") for d in os.listdir(self.broker.data_dir)))

    def test_produce_assign_seek(self):
        self.admin.create_topics([NewTopic("events", num_partitions=3, replication_factor=1)])
        producer = KafkaProducer(bootstrap_servers=self.broker.bootstrap, acks="all")
        sent = {}
        for i in range(3000):
            meta = producer.send("events", key=b"k%d" % i, value=b"v%d" % i, partition=i % 3,
                                 headers=[("n", b"%d" % i)]).get(timeout=30)
            sent[(meta.partition, meta.offset)] = i
        producer.close()
        self.assertEqual(len(sent), 3000)

        consumer = self.consumer()
        tp = TopicPartition("events", 1)
        consumer.assign([tp])
        consumer.seek(tp, 500)
        got = []
        for message in consumer:
            got.append(message)
            if len(got) == 500:
                break
        consumer.close()
        self.assertEqual([m.offset for m in got], list(range(500, 1000)))
        for m in got:
            i = sent[(1, m.offset)]
            self.assertEqual(m.key, b"k%d" % i)
            self.assertEqual(m.value, b"v%d" % i)
            self.assertEqual(m.headers, [("n", b"%d" % i)])

        consumer = self.consumer()
        consumer.assign([TopicPartition("events", p) for p in range(3)])
        self.assertEqual(consumer.beginning_offsets([tp])[tp], 0)
        self.assertEqual(consumer.end_offsets([tp])[tp], 1000)
        consumer.close()

    def test_offsets_for_times(self):
        self.admin.create_topics([NewTopic("timed", num_partitions=1, replication_factor=1)])
        producer = KafkaProducer(bootstrap_servers=self.broker.bootstrap, acks="all", linger_ms=0)
        base = int(time.time() * 1000) - 100_000
        for i in range(100):
            producer.send("timed", value=b"%d" % i, timestamp_ms=base + i * 1000).get(timeout=30)
        producer.close()
        consumer = self.consumer()
        tp = TopicPartition("timed", 0)
        found = consumer.offsets_for_times({tp: base + 42_500})[tp]
        self.assertEqual(found.offset, 43)
        self.assertEqual(found.timestamp, base + 43_000)
        exact = consumer.offsets_for_times({tp: base + 10_000})[tp]
        self.assertEqual((exact.offset, exact.timestamp), (10, base + 10_000))
        self.assertEqual(consumer.offsets_for_times({tp: base})[tp].offset, 0)
        self.assertIsNone(consumer.offsets_for_times({tp: base + 1_000_000})[tp])
        consumer.close()

    def test_old_producers_with_legacy_message_sets(self):
        """Producers pinned to old protocol versions send Produce v1/v2 with
        magic 0/1 message sets (optionally gzip-wrapped); they are stored as
        RecordBatch v2 and read back by a current consumer."""
        self.admin.create_topics([NewTopic("legacy", num_partitions=1, replication_factor=1)])
        tp = TopicPartition("legacy", 0)
        expected = []
        base = int(time.time() * 1000) - 5000
        for api_version, codec in [((0, 9), None), ((0, 9), "gzip"), ((0, 10, 1), None), ((0, 10, 1), "gzip")]:
            producer = KafkaProducer(bootstrap_servers=self.broker.bootstrap, api_version=api_version,
                                     compression_type=codec, acks=1, linger_ms=50)
            futures = []
            for i in range(20):
                key, value = b"%s-%d" % (str(api_version).encode(), i), b"%s-%s-%d" % (str(codec).encode(), str(api_version).encode(), i)
                ts = base + len(expected)
                futures.append(producer.send("legacy", key=key, value=value, partition=0, timestamp_ms=ts))
                magic1 = api_version >= (0, 10)
                expected.append((key, value, ts if magic1 else -1))
            for f in futures:
                f.get(30)
            producer.close()
        consumer = self.consumer()
        consumer.assign([tp])
        consumer.seek(tp, 0)
        got = [(m.key, m.value, m.timestamp) for m in consumer]
        consumer.close()
        self.assertEqual(got, expected)


if __name__ == "__main__":
    unittest.main()

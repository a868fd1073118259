"""Issue 3, accepted-when 6 (groups): group state survives kill -9. After
the broker restarts, ListGroups, DescribeGroups (members, assignments) and
OffsetFetch answer what they answered before, for a consumer group and for
a group that only commits (no group management); and the consumer that
kept running carries on as the same member of the same generation."""
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "support"))
from broker import Broker  # noqa: E402
from clients import admin, create_topic, wait_until  # noqa: E402
from group_clients import GroupConsumer  # noqa: E402

from kafka import KafkaConsumer, KafkaProducer, TopicPartition  # noqa: E402
from kafka.structs import OffsetAndMetadata  # noqa: E402


class GroupDurabilityTest(unittest.TestCase):
    def setUp(self):
        self.broker = Broker(config={"group.initial.rebalance.delay.ms": "100"}).start()
        self.addCleanup(self.broker.cleanup)

    def produce(self, count, start=0):
        producer = KafkaProducer(bootstrap_servers=self.broker.bootstrap, acks="all")
        for i in range(start, start + count):
            producer.send("dur", value=b"v%d" % i, partition=i % 3)
        producer.flush()
        producer.close()

    def describe(self, group):
        client = admin(self.broker)
        try:
            info = client.describe_consumer_groups([group])[0]
            members = {m.member_id: (m.client_id, m.client_host,
                                     sorted(p for _, parts in m.member_assignment.assignment for p in parts))
                       for m in info.members}
            return info.state, info.protocol, members
        finally:
            client.close()

    def offsets(self, group):
        client = admin(self.broker)
        try:
            return {tp.partition: (om.offset, om.metadata)
                    for tp, om in client.list_consumer_group_offsets(group).items()}
        finally:
            client.close()

    def test_group_state_survives_kill9(self):
        create_topic(self.broker, "dur", partitions=3)
        self.produce(30)
        consumer = GroupConsumer(self.broker, "dur", "durable-group", 10000, client_id="durable")
        self.addCleanup(consumer.close)
        wait_until(lambda: len(consumer.consumed()) == 30, timeout=30, what="the consumer to read all 30 records")
        consumer.commit()

        # A group that only commits: a consumer with assign(), no membership.
        simple = KafkaConsumer(bootstrap_servers=self.broker.bootstrap, group_id="simple-group",
                               enable_auto_commit=False)
        simple.assign([TopicPartition("dur", 1)])
        simple.commit({TopicPartition("dur", 1): OffsetAndMetadata(7, "checkpoint-7")})
        simple.close(autocommit=False)

        before = self.describe("durable-group")
        self.assertEqual(before[0], "Stable")
        self.assertEqual(len(before[2]), 1)
        [(member_id, (client_id, host, partitions))] = before[2].items()
        self.assertEqual((client_id, host, partitions), ("durable", "/127.0.0.1", [0, 1, 2]))
        committed = self.offsets("durable-group")
        self.assertEqual(committed, {0: (10, ""), 1: (10, ""), 2: (10, "")})

        self.broker.kill9()
        self.broker.start(port=self.broker.port)
        self.broker.wait_for_log(r"loaded 2 consumer groups with 1 members and 4 committed offsets")

        client = admin(self.broker)
        groups = dict(client.list_consumer_groups())
        client.close()
        self.assertEqual(groups, {"durable-group": "consumer", "simple-group": ""})
        self.assertEqual(self.describe("durable-group"), before)
        self.assertEqual(self.offsets("durable-group"), committed)
        self.assertEqual(self.offsets("simple-group"), {1: (7, "checkpoint-7")})

        # The running consumer heartbeats into the restored generation: no
        # rebalance, same member, and it consumes what comes next.
        self.produce(9, start=30)
        wait_until(lambda: len(consumer.consumed()) == 39, timeout=30,
                   what="the consumer to carry on after the restart")
        time.sleep(2)
        self.assertEqual(self.describe("durable-group"), before)
        consumer.commit()
        self.assertEqual(self.offsets("durable-group"), {0: (13, ""), 1: (13, ""), 2: (13, "")})
        logs = self.broker.logs()
        restarted = max(i for i, line in enumerate(logs) if "geomirror-broker ready" in line)
        self.assertEqual([line for line in logs[restarted:] if "durable-group" in line and "rebalance" in line], [],
                         "no rebalance after the restart")

if __name__ == "__main__":
    unittest.main()

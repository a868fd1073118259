"""Issue 3, accepted-when 3: `kcat -G group topic` consumes as a balanced
consumer (JoinGroup/SyncGroup through librdkafka), and python3-kafka's
admin client sees it: DescribeGroups shows the member with its client id,
host and assignment while it runs, and ListGroups/OffsetFetch show its
committed offsets once it has gone."""
import os
import signal
import subprocess
import sys
import threading
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "support"))
from broker import Broker  # noqa: E402
from clients import admin, create_topic, kcat, wait_until  # noqa: E402


class KcatGroupTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.broker = Broker(config={"group.initial.rebalance.delay.ms": "100"}).start()
        cls.admin = admin(cls.broker)

    @classmethod
    def tearDownClass(cls):
        cls.admin.close()
        cls.broker.cleanup()

    def test_balanced_consumer_offsets_visible_to_admin_client(self):
        create_topic(self.broker, "kc", partitions=4)
        lines = "".join("k%d:v%d\n" % (i, i) for i in range(400))
        kcat(self.broker, "-P", "-t", "kc", "-K", ":", input=lines)

        proc = subprocess.Popen(["kcat", "-b", self.broker.bootstrap, "-G", "kcat-group", "-X", "client.id=kcat-client",
                                 "-X", "auto.offset.reset=earliest", "-X", "auto.commit.interval.ms=100",
                                 "-u", "-f", "%p %o %s\n", "kc"],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        received = []
        lock = threading.Lock()

        def read():
            for line in proc.stdout:
                with lock:
                    received.append(line.split())

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        wait_until(lambda: len(received) >= 400, timeout=30, what="kcat to consume all 400 records")

        # While it runs: one member, Stable, owning all four partitions.
        def described():
            info = self.admin.describe_consumer_groups(["kcat-group"])[0]
            return info if info.state == "Stable" and info.members else None
        info = wait_until(described, timeout=15, what="a Stable kcat-group")
        self.assertEqual(info.protocol_type, "consumer")
        self.assertIn(info.protocol, ("range", "roundrobin"))
        self.assertEqual(len(info.members), 1)
        member = info.members[0]
        self.assertEqual(member.client_id, "kcat-client")
        self.assertEqual(member.client_host, "/127.0.0.1")
        self.assertTrue(member.member_id.startswith("kcat-client-"))
        assigned = member.member_assignment.assignment
        self.assertEqual(sorted(p for topic, parts in assigned if topic == "kc" for p in parts), [0, 1, 2, 3])

        # Auto commits land while it runs; SIGTERM makes kcat close cleanly
        # (final commit, LeaveGroup).
        ends = {}
        with lock:
            for p, offset, _ in received:
                ends[int(p)] = max(ends.get(int(p), 0), int(offset) + 1)
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        reader.join(5)
        offsets = self.admin.list_consumer_group_offsets("kcat-group")
        self.assertEqual({tp.partition: om.offset for tp, om in offsets.items() if tp.topic == "kc"}, ends)
        self.assertEqual(sum(ends.values()), 400)
        self.assertIn(("kcat-group", "consumer"), self.admin.list_consumer_groups())
        info = self.admin.describe_consumer_groups(["kcat-group"])[0]
        self.assertEqual(info.state, "Empty")
        self.assertEqual(info.members, [])

        # A second run of the same group starts from the commits: nothing new.
        out = kcat(self.broker, "-G", "kcat-group", "-X", "auto.offset.reset=earliest", "-e", "-q", "kc",
                   timeout=60).stdout
        self.assertEqual(out, "")


if __name__ == "__main__":
    unittest.main()

"""Issue 3, accepted-when 1: two python3-kafka KafkaConsumers in one group
split a 6-partition topic; when one leaves (close -> LeaveGroup) or is
killed (SIGKILL, so only its session timeout can evict it) the other gets
every partition within the timeout; and committed offsets resume exactly
after both the consumers and the broker (kill -9) restart."""
import os
import signal
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "support"))
from broker import Broker  # noqa: E402
from clients import admin, create_topic, wait_until  # noqa: E402
from group_clients import GroupConsumer  # noqa: E402

from kafka import KafkaProducer  # noqa: E402

SESSION_TIMEOUT_MS = 6000
ALL = set(range(6))

# A consumer in a child process, so that the test can SIGKILL it: it prints
# its assignment (sorted partition numbers) every time it changes.
CHILD = r"""
import sys
from kafka import KafkaConsumer
c = KafkaConsumer(sys.argv[2], bootstrap_servers=sys.argv[1], group_id=sys.argv[3], client_id="child",
                  session_timeout_ms=%d, heartbeat_interval_ms=500, auto_offset_reset="earliest",
                  enable_auto_commit=False)
last = None
while True:
    c.poll(timeout_ms=100)
    now = sorted(tp.partition for tp in c.assignment())
    if now != last:
        print(" ".join(map(str, now)) or "-", flush=True)
        last = now
""" % SESSION_TIMEOUT_MS


class ConsumerGroupTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.broker = Broker(config={"group.initial.rebalance.delay.ms": "200"}).start()

    @classmethod
    def tearDownClass(cls):
        cls.broker.cleanup()

    def produce(self, topic, per_partition):
        producer = KafkaProducer(bootstrap_servers=self.broker.bootstrap, acks="all")
        for p in range(6):
            for i in range(per_partition):
                producer.send(topic, value=b"%d:%d" % (p, i), partition=p)
        producer.flush()
        producer.close()

    def wait_split(self, a, b, timeout=30):
        def split():
            pa, pb = a(), b()
            return pa and pb and not (pa & pb) and (pa | pb) == ALL
        wait_until(split, timeout=timeout, interval=0.1, what="the two consumers to split the partitions")

    def test_leave_hands_partitions_over(self):
        create_topic(self.broker, "split-leave", partitions=6)
        a = GroupConsumer(self.broker, "split-leave", "leave-group", SESSION_TIMEOUT_MS, client_id="a")
        b = GroupConsumer(self.broker, "split-leave", "leave-group", SESSION_TIMEOUT_MS, client_id="b")
        self.addCleanup(a.close)
        self.wait_split(a.assigned, b.assigned)
        b.close()  # LeaveGroup: no session timeout to wait for
        start = time.time()
        wait_until(lambda: a.assigned() == ALL, timeout=SESSION_TIMEOUT_MS / 1000,
                   interval=0.05, what="the remaining consumer to own every partition")
        self.assertLess(time.time() - start, SESSION_TIMEOUT_MS / 1000)

    def test_killed_consumer_is_evicted_by_its_session_timeout(self):
        create_topic(self.broker, "split-kill", partitions=6)
        a = GroupConsumer(self.broker, "split-kill", "kill-group", SESSION_TIMEOUT_MS, client_id="a")
        self.addCleanup(a.close)
        child = subprocess.Popen([sys.executable, "-c", CHILD, self.broker.bootstrap, "split-kill", "kill-group"],
                                 stdout=subprocess.PIPE, text=True)
        self.addCleanup(child.stdout.close)
        self.addCleanup(lambda: child.poll() is None and child.kill())
        child_partitions = set()
        lines_lock = threading.Lock()

        def read_child():
            for line in child.stdout:
                with lines_lock:
                    child_partitions.clear()
                    child_partitions.update(int(p) for p in line.split() if p != "-")

        threading.Thread(target=read_child, daemon=True).start()

        def child_assigned():
            with lines_lock:
                return set(child_partitions)

        self.wait_split(a.assigned, child_assigned)
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        start = time.time()
        # Session timeout, then the survivor's rejoin (heartbeat every 0.5 s).
        wait_until(lambda: a.assigned() == ALL, timeout=SESSION_TIMEOUT_MS / 1000 + 5, interval=0.05,
                   what="the survivor to own every partition after the session timeout")
        took = time.time() - start
        self.assertGreater(took, 2, "the killed member cannot leave by itself: only its session timeout evicts it")
        self.broker.wait_for_log(r"group kill-group: member child-\S+ sent no heartbeat within 6000 ms")

    def test_committed_offsets_resume_after_consumer_and_broker_restart(self):
        create_topic(self.broker, "resume", partitions=6)
        self.produce("resume", 50)  # 300 records
        a = GroupConsumer(self.broker, "resume", "resume-group", SESSION_TIMEOUT_MS, client_id="a")
        b = GroupConsumer(self.broker, "resume", "resume-group", SESSION_TIMEOUT_MS, client_id="b")
        self.wait_split(a.assigned, b.assigned)
        a.stop_after = b.stop_after = 60
        wait_until(lambda: len(a.consumed()) >= 60 and len(b.consumed()) >= 60, timeout=30,
                   what="each consumer to process its first records")
        a.close(commit=True)
        b.close(commit=True)
        first = a.consumed() + b.consumed()
        # What the group committed: the next offset after the last processed record.
        expected = {}
        for p, offset, _ in first:
            expected[p] = max(expected.get(p, 0), offset + 1)
        client = admin(self.broker)
        committed = client.list_consumer_group_offsets("resume-group")
        client.close()
        got = {tp.partition: om.offset for tp, om in committed.items()}
        for p in ALL:
            self.assertEqual(got.get(p, 0), expected.get(p, 0), "committed offset of partition %d" % p)

        self.broker.kill9()
        self.broker.start(port=self.broker.port)

        c = GroupConsumer(self.broker, "resume", "resume-group", SESSION_TIMEOUT_MS, client_id="c")
        self.addCleanup(c.close)
        wait_until(lambda: len(first) + len(c.consumed()) >= 300, timeout=30,
                   what="the restarted consumer to process the rest")
        second = c.consumed()
        for p in range(6):
            offsets = [o for q, o, _ in second if q == p]
            if offsets:
                self.assertEqual(min(offsets), expected.get(p, 0), "partition %d resumes at its commit" % p)
        values = sorted(v for _, _, v in first + second)
        self.assertEqual(values, sorted(b"%d:%d" % (p, i) for p in range(6) for i in range(50)),
                         "every record exactly once")


if __name__ == "__main__":
    unittest.main()

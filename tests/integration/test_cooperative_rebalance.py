"""Issue 3, accepted-when 2: confluent-kafka (librdkafka 2.0.2) consumers
with partition.assignment.strategy=cooperative-sticky rebalance
incrementally when a third joins while two consume: the two keep the
partitions they retain (only incremental revokes, no full unassign), no
partition is owned by two members at once, every record produced during
the test is processed, and none twice beyond what was not yet committed
(each consumer commits what it processed, synchronously, before giving a
partition up, so nothing is processed twice)."""
import os
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "support"))
from broker import Broker  # noqa: E402
from clients import create_topic, wait_until  # noqa: E402

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition  # noqa: E402

TOPIC = "coop"
GROUP = "coop-group"
PARTITIONS = 6


class Ledger:
    """Who owned which partition when, and who processed what."""

    def __init__(self):
        self.lock = threading.Lock()
        self.events = []     # (monotonic time, consumer, "assign"/"revoke", partition)
        self.processed = []  # (consumer, partition, offset, value)

    def record(self, consumer, kind, partitions):
        with self.lock:
            now = time.monotonic()
            self.events.extend((now, consumer, kind, p) for p in partitions)

    def owned(self, consumer):
        with self.lock:
            owned = set()
            for _, who, kind, p in self.events:
                if who == consumer:
                    (owned.add if kind == "assign" else owned.discard)(p)
            return owned


class CooperativeConsumer:
    def __init__(self, name, broker, ledger):
        self.name = name
        self.ledger = ledger
        self.running = True
        self.uncommitted = {}   # partition -> next offset, processed but not committed
        self.commits = []       # (partition, committed offset) in commit order
        self.failed_commits = []  # (revoked partitions or None, error name)
        self.error = None
        self.consumer = Consumer({
            "bootstrap.servers": broker.bootstrap,
            "group.id": GROUP,
            "client.id": name,
            "partition.assignment.strategy": "cooperative-sticky",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "session.timeout.ms": 6000,
            "heartbeat.interval.ms": 500,
        })
        self.consumer.subscribe([TOPIC], on_assign=self._on_assign, on_revoke=self._on_revoke)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    # incremental_assign/incremental_unassign fail unless the group runs the
    # COOPERATIVE rebalance protocol: calling them checks that it does.
    def _on_assign(self, consumer, partitions):
        consumer.incremental_assign(partitions)
        self.ledger.record(self.name, "assign", [tp.partition for tp in partitions])

    def _on_revoke(self, consumer, partitions):
        # Commit what was processed of the partitions being given up, before
        # the next owner reads the committed offsets.
        revoked = {tp.partition for tp in partitions}
        self._commit(revoked)
        consumer.incremental_unassign(partitions)
        self.ledger.record(self.name, "revoke", revoked)

    def _commit(self, partitions=None):
        offsets = [TopicPartition(TOPIC, p, o) for p, o in self.uncommitted.items()
                   if partitions is None or p in partitions]
        if not offsets:
            return
        try:
            self.consumer.commit(offsets=offsets, asynchronous=False)
        except KafkaException as e:
            # Left uncommitted: the next owner may process them again.
            self.failed_commits.append((partitions, e.args[0].name()))
            return
        for tp in offsets:
            self.commits.append((tp.partition, tp.offset))
            del self.uncommitted[tp.partition]

    def _run(self):
        # Commits happen when a partition is given up (on_revoke) and at the
        # end. A commit sent on a timer could race a rebalance and get
        # ILLEGAL_GENERATION (Kafka answers the same), after which
        # librdkafka drops its whole assignment: not what this test studies.
        try:
            while self.running:
                msg = self.consumer.poll(0.1)
                if msg is not None and not msg.error():
                    with self.ledger.lock:
                        self.ledger.processed.append((self.name, msg.partition(), msg.offset(), msg.value()))
                    self.uncommitted[msg.partition()] = msg.offset() + 1
            self._commit()
        except Exception as e:  # surfaced by the test
            self.error = e

    def close(self):
        self.running = False
        self.thread.join(20)
        self.consumer.close()


class CooperativeRebalanceTest(unittest.TestCase):
    def setUp(self):
        self.broker = Broker(config={"group.initial.rebalance.delay.ms": "200"}).start()
        self.addCleanup(self.broker.cleanup)
        create_topic(self.broker, TOPIC, partitions=PARTITIONS)

    def test_third_member_joins_incrementally(self):
        ledger = Ledger()
        produced = []
        stop_producing = threading.Event()

        def produce():
            producer = Producer({"bootstrap.servers": self.broker.bootstrap, "acks": "all", "linger.ms": 5})
            i = 0
            while not stop_producing.is_set():
                for _ in range(20):
                    value = b"r%06d" % i
                    producer.produce(TOPIC, value=value, partition=i % PARTITIONS)
                    produced.append(value)
                    i += 1
                producer.poll(0)
                time.sleep(0.05)
            self.assertEqual(producer.flush(20), 0)

        producer_thread = threading.Thread(target=produce)
        producer_thread.start()
        consumers = {}
        try:
            for name in ("c1", "c2"):
                consumers[name] = CooperativeConsumer(name, self.broker, ledger)
            wait_until(lambda: all(len(ledger.owned(n)) == 3 for n in ("c1", "c2")), timeout=30, interval=0.1,
                       what="c1 and c2 to own three partitions each")
            before = {n: ledger.owned(n) for n in ("c1", "c2")}
            with ledger.lock:
                joined_at = time.monotonic()
            consumers["c3"] = CooperativeConsumer("c3", self.broker, ledger)
            wait_until(lambda: all(len(ledger.owned(n)) == 2 for n in ("c1", "c2", "c3")), timeout=30,
                       interval=0.1, what="the three consumers to own two partitions each")
            time.sleep(1)
        finally:
            stop_producing.set()
            producer_thread.join()
        try:
            wait_until(lambda: len({v for _, _, _, v in ledger.processed}) >= len(produced), timeout=30,
                       what="every produced record to be processed")
        except AssertionError:
            done = {v for _, _, _, v in ledger.processed}
            missing = [v for v in produced if v not in done]
            raise AssertionError("%d of %d records never processed, first %s; owners %s; events %s; commits %s" % (
                len(missing), len(produced), missing[:5], {n: ledger.owned(n) for n in consumers},
                [(round(t, 3), w, k, p) for t, w, k, p in ledger.events],
                {n: c.commits[-12:] for n, c in consumers.items()}))
        for c in consumers.values():
            c.close()
            self.assertIsNone(c.error, "%s failed: %s" % (c.name, c.error))

        # Incremental: after c3 joined, c1 and c2 only gave partitions up;
        # what they kept was never revoked and nothing was reassigned to them.
        with ledger.lock:
            later = [e for e in ledger.events if e[0] >= joined_at and e[1] in ("c1", "c2")]
        for name in ("c1", "c2"):
            kept = ledger.owned(name)
            self.assertTrue(kept < before[name], "%s keeps a subset of what it had" % name)
            mine = [e for e in later if e[1] == name]
            self.assertTrue(all(kind == "revoke" for _, _, kind, _ in mine), "%s: %s" % (name, mine))
            self.assertEqual({p for _, _, _, p in mine}, before[name] - kept,
                             "%s revoked exactly what it lost" % name)

        # Exclusive ownership: ownership intervals of a partition never overlap.
        with ledger.lock:
            events = sorted(ledger.events)
        owner = {}
        for _, who, kind, p in events:
            if kind == "assign":
                self.assertNotIn(p, owner, "partition %d assigned to %s while %s owns it" % (p, who, owner.get(p)))
                owner[p] = who
            else:
                self.assertEqual(owner.pop(p, None), who)

        # Every record processed; a record processed twice was not yet
        # committed by the member that processed it first.
        processed_values = {v for _, _, _, v in ledger.processed}
        self.assertEqual(processed_values, set(produced))
        first_by = {}
        duplicates = 0
        for name, p, offset, _ in ledger.processed:
            if (p, offset) not in first_by:
                first_by[(p, offset)] = name
                continue
            duplicates += 1
            first = consumers[first_by[(p, offset)]]
            committed = [o for q, o in first.commits if q == p]
            self.assertTrue(not committed or offset >= max(committed),
                            "offset %d of partition %d was committed by %s, then processed again" %
                            (offset, p, first.name))
        failed = {n: c.failed_commits for n, c in consumers.items() if c.failed_commits}
        self.assertEqual(failed, {}, "every commit on revoke succeeds")
        self.assertEqual(duplicates, 0, "commits on revoke leave nothing to process twice")


if __name__ == "__main__":
    unittest.main()

"""Power loss (issue 11, item 4): kill -9 keeps the page cache, so these tests
run the broker under the power-loss shim and, after the kill, drop every byte
and directory entry no completed fsync/fdatasync covered
(support/powerloss.py). They prove that

- with the default (strict) durability, every record acknowledged to an
  acks=-1 producer is there after the cut, byte for byte (value and
  timestamp), at its acknowledged offset, in order and exactly once, through
  segment rolls and several cuts at random moments; three idempotent
  producers that keep running across the cuts end with every record exactly
  once (the producer state -- snapshots and log replay -- survived); index
  and time-index lookups still land on the right records; and the broker
  starts cleanly each time, sealed segments loading with the indexes they
  were synced with. Segment syncs are slowed down (a 5 ms disk) and each
  kill comes at a moment an append is written but not yet durable;
- with flush.messages relaxed, what is lost is only the unsynced tail
  (printed; at most 2 x flush.messages records per partition), and what
  survives is a prefix of each partition;
- an acknowledged DeleteRecords is not undone: after a cut right behind its
  acknowledgement the log start is exactly there (log-start-offset file);
- topics and committed group offsets acknowledged to clients survive
  (metadata.db, SQLite WAL);
- and that the test can fail: the shim really journals the broker's syncs,
  and with the syncs of segment files (or of one partition directory) turned
  into unjournaled no-ops the same checks find lost acknowledged records.

Seeds are printed; GEOMIRROR_POWERLOSS_SEED=<n> replays a run's cuts (the
moments of the kills still vary with timing).
"""
import os
import random
import re
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "support"))
from powerloss_broker import (AckedProducer, PowerLossBroker, check_acked, check_stored, counter_of,  # noqa: E402
                              read_partitions, read_partitions_apart, seed_from_env)
from rdkafka_admin import RecordDeleter  # noqa: E402

from confluent_kafka import Consumer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic  # noqa: E402

PRODUCER_STATE = re.compile(r"(\S+): producer state loaded: (\d+) producer\(s\); snapshot (\S+), (\d+) batch")


def admin(b):
    return AdminClient({"bootstrap.servers": b.bootstrap})


def create_topic(b, name, partitions, configs=None):
    """CreateTopics with confluent-kafka's AdminClient; returns once acknowledged."""
    client = admin(b)  # (must outlive the future)
    futures = client.create_topics([NewTopic(name, partitions, 1, config=configs or {})], request_timeout=20)
    futures[name].result(30)


class PowerLossTestCase(unittest.TestCase):
    maxDiff = None

    def setUp(self):
        self.seed = seed_from_env()
        print(f"\n{self.id()}: seed {self.seed}", flush=True)
        self.rng = random.Random(self.seed)

    def broker(self, **kwargs):
        b = PowerLossBroker(**kwargs).start()
        self.addCleanup(b.cleanup)
        return b

    def restart_cleanly(self, b, what):
        b.start()
        self.assertEqual(b.unclean_start_lines(), [], f"{what}: the broker did not start cleanly")


class StrictDurabilityTest(PowerLossTestCase):
    PARTITIONS = 4
    PRODUCERS = 3  # concurrent appends: a roll can come while another producer's batch awaits its sync
    CUTS = 3
    # Per cut, the chance that an unsynced write reached the disk anyway:
    # none (torn tails certain), the default, and half (written but
    # unacknowledged batches survive: the retries must be deduplicated).
    KEEP = (0.0, 0.2, 0.5)

    def test_acknowledged_records_survive_power_cuts_under_load(self):
        b = self.broker(slow_sync=".log:5000")
        # Small segments: dozens of rolls (seal, new files, producer snapshots)
        # per partition and cut; dense index entries.
        create_topic(b, "load", self.PARTITIONS, {"segment.bytes": "32768", "index.interval.bytes": "1024"})
        producers = [AckedProducer(b.bootstrap, "load", self.PARTITIONS, rate=1500, stream=k, streams=self.PRODUCERS,
                                   config={"enable.idempotence": True}) for k in range(self.PRODUCERS)]
        for producer in producers:
            producer.start()
            self.addCleanup(producer.abandon)
        lost_log_writes = 0
        for cut, keep in zip(range(self.CUTS), self.KEEP):
            time.sleep(self.rng.uniform(1.0, 2.0))
            self.assertTrue(b.kill_when_unsynced(".log"), f"cut {cut}: no append was ever waiting for its sync")
            time.sleep(0.3)  # delivery reports of what was answered before the kill
            acked = self.merge([producer.acked_snapshot() for producer in producers])
            report = b.power_cut(self.seed + cut, keep=keep)
            if cut == 0:
                self.check_journal(report)
            self.assertGreater(report.volatile_writes(".log"), 0, f"cut {cut} found unsynced appends")
            if keep == 0:
                self.assertGreater(report.lost_writes(".log"), 0, f"cut {cut} dropped every unsynced append")
            lost_log_writes += report.lost_writes(".log")
            self.restart_cleanly(b, f"cut {cut}")
            self.check_producer_state(b, cut)
            stored, _ = read_partitions(b.bootstrap, "load", self.PARTITIONS)
            for p in range(self.PARTITIONS):
                problems, _ = check_acked(stored[p], acked[p])
                self.assertEqual(problems, [], f"cut {cut} (seed {self.seed + cut}), partition {p}")
            print(f"cut {cut}: all {sum(len(v) for v in acked.values())} records acknowledged before the kill "
                  f"are there; {report.lost_writes('.log')} segment write(s) lost", flush=True)
        time.sleep(0.5)
        for producer in producers:
            producer.stop()
            self.assertEqual(producer.errors, [], "the idempotent producers carried on across every cut")
            self.assertEqual(producer.flush_left, 0)

        # Exactly once, in order: every record the producers made, acknowledged
        # at its offset, and nothing else.
        produced = sum(producer.produced for producer in producers)
        acked = self.merge([producer.acked_snapshot() for producer in producers])
        self.assertEqual(sum(len(v) for v in acked.values()), produced)
        stored, _ = read_partitions(b.bootstrap, "load", self.PARTITIONS)
        for p in range(self.PARTITIONS):
            problems, _ = check_acked(stored[p], acked[p])
            self.assertEqual(problems, [], f"partition {p} after the last cut")
            self.assertEqual(len(stored[p]), len(acked[p]), f"partition {p} holds only acknowledged records")
            for k in range(self.PRODUCERS):
                # The i-th record of producer k is counter k + PRODUCERS * i, in partition i % PARTITIONS.
                mine = [(counter_of(v) - k) // self.PRODUCERS for _, v, _ in stored[p]
                        if counter_of(v) % self.PRODUCERS == k]
                self.assertEqual(mine, sorted(mine), f"partition {p} keeps producer {k}'s order")
                self.assertTrue(all(i % self.PARTITIONS == p for i in mine))
            segments = [f for f in os.listdir(b.partition_dir("load", p)) if f.endswith(".log")]
            self.assertGreaterEqual(len(segments), 10, "small segments roll many times")
        total = sum(len(v) for v in stored.values())
        print(f"{total} records, {produced} produced by {self.PRODUCERS} producers, exactly once after "
              f"{self.CUTS} power cuts; {lost_log_writes} unsynced segment write(s) dropped", flush=True)
        self.check_index_lookups(b, stored)

    @staticmethod
    def merge(snapshots):
        """{partition: {offset: (value, ts)}} of several producers in one."""
        out = {}
        for snapshot in snapshots:
            for p, records in snapshot.items():
                out.setdefault(p, {}).update(records)
        return out

    def check_journal(self, report):
        """The shim saw the broker's syncs: segment, index and snapshot files,
        metadata.db's WAL, and the directories whose entries changed."""
        files = report.synced_files
        for pattern in (r"data/load-\d/\d{20}\.log$", r"data/load-\d/\d{20}\.index$",
                        r"data/load-\d/\d{20}\.timeindex$", r"data/load-\d/\d{20}\.snapshot\.tmp$",
                        r"data/metadata\.db-wal$"):
            self.assertTrue(any(re.search(pattern, f) for f in files),
                            f"no completed sync of a file like {pattern} journaled: {sorted(files)[:20]}")
        for d in (".", "data", "data/load-0", f"data/load-{self.PARTITIONS - 1}"):
            self.assertIn(d, report.synced_dirs, "directory syncs journaled")
        self.assertGreater(report.writes, 100)

    def check_producer_state(self, b, cut):
        """Every partition reloaded its idempotent producers from a snapshot
        (written at the rolls; the cut kept it) plus a replay of the tail."""
        loaded = [PRODUCER_STATE.search(line) for line in b.logs_since_start()]
        loaded = {m.group(1): m for m in loaded if m}
        self.assertEqual(sorted(loaded), [f"load-{p}" for p in range(self.PARTITIONS)],
                         f"cut {cut}: every partition reloads its producer state")
        for name, m in loaded.items():
            self.assertEqual(m.group(2), str(self.PRODUCERS), f"cut {cut}: {m.group(0)}")
            self.assertNotEqual(m.group(3), "none", f"cut {cut}: {name} loaded no producer snapshot")

    def check_index_lookups(self, b, stored):
        """Fetches at sampled offsets start at the right batch (offset index of
        sealed and recovered segments) and offsets_for_times finds the first
        record at or after a timestamp (time index)."""
        consumer = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "powerloss-index",
                             "enable.auto.commit": False, "fetch.wait.max.ms": 50})
        self.addCleanup(consumer.close)
        for p, records in stored.items():
            for offset, value, ts in self.rng.sample(records, 6):
                consumer.assign([TopicPartition("load", p, offset)])
                msg = None
                deadline = time.time() + 10
                while msg is None and time.time() < deadline:
                    msg = consumer.poll(0.5)
                    if msg is not None and msg.error():
                        msg = None
                self.assertIsNotNone(msg, f"fetch at {p}/{offset}")
                self.assertEqual((msg.offset(), msg.value()), (offset, value), f"fetch at {p}/{offset}")
                want = min(o for o, _, t in records if t >= ts)
                found = consumer.offsets_for_times([TopicPartition("load", p, ts)], timeout=10)[0]
                self.assertEqual(found.offset, want, f"offsets_for_times({ts}) on partition {p}")


class RelaxedDurabilityTest(PowerLossTestCase):
    PARTITIONS = 2
    FLUSH_MESSAGES = 400

    def test_relaxed_flush_loses_only_a_bounded_unsynced_tail(self):
        b = self.broker()
        create_topic(b, "relaxed", self.PARTITIONS,
                     {"flush.messages": str(self.FLUSH_MESSAGES), "segment.bytes": "65536"})
        producer = AckedProducer(b.bootstrap, "relaxed", self.PARTITIONS, rate=3000)
        producer.start()
        self.addCleanup(producer.abandon)
        time.sleep(self.rng.uniform(1.2, 2.0))
        b.kill()
        acked = producer.acked_after_kill()
        producer.abandon()  # no retries into the restarted broker
        b.power_cut(self.seed)
        self.restart_cleanly(b, "relaxed")
        stored, _ = read_partitions(b.bootstrap, "relaxed", self.PARTITIONS)
        total_lost = 0
        for p in range(self.PARTITIONS):
            self.assertEqual(check_stored(stored[p], start=0), [], f"partition {p}")
            end = len(stored[p])  # the recovered log end
            survived = {o: a for o, a in acked[p].items() if o < end}
            lost = sorted(o for o in acked[p] if o >= end)
            # A prefix: every acknowledged record below the recovered end is
            # there, unchanged; only records at or past it are gone.
            problems, _ = check_acked(stored[p], survived)
            self.assertEqual(problems, [], f"partition {p}: what survives is the acknowledged prefix")
            print(f"relaxed partition {p}: {len(acked[p])} acknowledged, {len(survived)} survived, {len(lost)} lost"
                  + (f" (offsets {lost[0]}..{lost[-1]})" if lost else ""), flush=True)
            self.assertLessEqual(len(lost), 2 * self.FLUSH_MESSAGES,
                                 f"partition {p}: only the tail since the last background sync is lost")
            self.assertGreater(len(survived), self.FLUSH_MESSAGES, f"partition {p}: background syncs ran")
            total_lost += len(lost)
        self.assertGreater(total_lost, 0, "with flush.messages relaxed a power cut loses acknowledged records")


class DeleteRecordsTest(PowerLossTestCase):
    PARTITIONS = 2

    def test_acknowledged_delete_records_survive(self):
        b = self.broker(config={"log.retention.check.interval.ms": "100"})
        create_topic(b, "trim", self.PARTITIONS, {"segment.bytes": "16384"})
        producer = AckedProducer(b.bootstrap, "trim", self.PARTITIONS, rate=2000)
        producer.start()
        self.addCleanup(producer.abandon)
        deleter = RecordDeleter(b.bootstrap)
        self.addCleanup(deleter.close)
        deadline = time.monotonic() + self.rng.uniform(1.0, 1.8)
        start = {p: 0 for p in range(self.PARTITIONS)}
        calls = 0
        while True:
            time.sleep(0.02)
            acked = producer.acked_snapshot()
            targets = {p: max(acked[p]) - 30 for p in range(self.PARTITIONS)
                       if acked[p] and max(acked[p]) - 30 > start[p]}
            if not targets:
                continue
            low = deleter.delete_records("trim", targets)
            calls += 1
            self.assertEqual(low, targets, "DeleteRecords answers with the new low watermarks")
            start.update(low)
            if time.monotonic() > deadline:
                break
        # The cut comes right behind the last acknowledgement.
        b.kill()
        acked = producer.acked_after_kill()
        producer.abandon()
        b.power_cut(self.seed)
        self.restart_cleanly(b, "delete records")
        stored, low = read_partitions(b.bootstrap, "trim", self.PARTITIONS)
        print(f"{calls} DeleteRecords acknowledged; log start offsets acknowledged {start}, after the cut {low}",
              flush=True)
        self.assertEqual(low, start, "the log start is where the last acknowledged DeleteRecords put it")
        for p in range(self.PARTITIONS):
            self.assertEqual(check_stored(stored[p], start=start[p]), [], f"partition {p}")
            problems, _ = check_acked(stored[p], {o: a for o, a in acked[p].items() if o >= start[p]})
            self.assertEqual(problems, [], f"partition {p}: acknowledged records above the log start")
        bases = [sorted(int(f[:20]) for f in os.listdir(b.partition_dir("trim", p)) if f.endswith(".log"))
                 for p in range(self.PARTITIONS)]
        self.assertTrue(all(s[0] > 0 for s in bases), f"segments below the log start were deleted: {bases}")


class MetadataDurabilityTest(PowerLossTestCase):
    def test_acknowledged_topics_and_group_offsets_survive(self):
        b = self.broker()
        create_topic(b, "meta-base", 2)
        client = admin(b)
        committer = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "durable-group",
                              "enable.auto.commit": False})
        self.addCleanup(committer.close)
        topics = {}       # name -> (partitions, retention.ms), all acknowledged
        committed = {}    # partition -> offset, last acknowledged commit
        ops = self.rng.randint(40, 80)
        for i in range(ops):
            if self.rng.random() < 0.5:
                name, partitions, retention = f"meta-{i}", 1 + i % 3, str(3_600_000 + i)
                futures = client.create_topics([NewTopic(name, partitions, 1, config={"retention.ms": retention})],
                                               request_timeout=20)
                futures[name].result(30)
                topics[name] = (partitions, retention)
            else:
                offsets = [TopicPartition("meta-base", p, 10 * i + p) for p in range(2)]
                result = committer.commit(offsets=offsets, asynchronous=False)
                self.assertTrue(all(r.error is None for r in result), result)
                committed.update({r.partition: r.offset for r in result})
        # The cut comes right behind the last acknowledgement.
        report = b.power_cut(self.seed)
        self.assertIn("data/metadata.db-wal", report.synced_files)
        self.restart_cleanly(b, "metadata")
        print(f"{len(topics)} topics created and {ops - len(topics)} group commits acknowledged before the cut",
              flush=True)

        client = admin(b)
        metadata = client.list_topics(timeout=20).topics
        for name, (partitions, _) in topics.items():
            self.assertIn(name, metadata, "an acknowledged topic survives")
            self.assertEqual(len(metadata[name].partitions), partitions, name)
        resources = [ConfigResource("topic", name) for name in topics]
        for resource, future in client.describe_configs(resources, request_timeout=20).items():
            self.assertEqual(future.result(30)["retention.ms"].value, topics[resource.name][1], resource.name)
        reader = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "durable-group",
                           "enable.auto.commit": False})
        self.addCleanup(reader.close)
        got = reader.committed([TopicPartition("meta-base", p) for p in range(2)], timeout=20)
        self.assertEqual({tp.partition: tp.offset for tp in got}, {p: committed.get(p, -1001) for p in range(2)},
                         "the last acknowledged commit of the group survives")


class NegativeControlTest(PowerLossTestCase):
    """The harness catches a broker that does not sync: the same load and
    checks, with the shim turning some syncs into no-ops it does not journal
    as syncs (the broker still believes they happened)."""

    def lost_after_cut(self, skip_sync, partitions=2):
        b = self.broker(skip_sync=skip_sync)
        create_topic(b, "load", partitions, {"segment.bytes": "32768"})
        producer = AckedProducer(b.bootstrap, "load", partitions, rate=3000)
        producer.start()
        self.addCleanup(producer.abandon)
        time.sleep(1.0)
        b.kill()
        acked = producer.acked_after_kill()
        producer.abandon()
        report = b.power_cut(self.seed)
        self.assertGreater(report.skipped_syncs, 0)
        b.start()  # (not cleanly: the broker finds sealed segments it had "synced" corrupt)
        stored = read_partitions_apart(b.bootstrap, "load", partitions, idle=2.0)
        missing = {p: check_acked(stored[p], acked[p])[1] for p in range(partitions)}
        print(f"POWERLOSS_SKIP_SYNC={skip_sync}: acknowledged records lost per partition {missing} "
              f"of {[len(acked[p]) for p in range(partitions)]}", flush=True)
        return report, missing

    def test_detects_a_broker_that_skips_segment_syncs(self):
        report, missing = self.lost_after_cut(".log")
        self.assertFalse(any(f.endswith(".log") for f in report.synced_files))
        self.assertTrue(all(n > 0 for n in missing.values()), "without fdatasync acknowledged records are lost")

    def test_detects_a_broker_that_skips_directory_syncs(self):
        report, missing = self.lost_after_cut("/load-0")
        self.assertNotIn("data/load-0", report.synced_dirs)
        self.assertTrue(any(op.startswith("create data/load-0/") for op in report.undone), report.undone[:5])
        self.assertGreater(missing[0], 0, "segments whose names were never made durable are lost")
        self.assertEqual(missing[1], 0, "the partition whose directory was synced lost nothing")


if __name__ == "__main__":
    unittest.main()

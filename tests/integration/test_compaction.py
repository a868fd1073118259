"""Accepted-when 5: a compacted topic with 1,000 keys and 200,000 updates
ends with at most the latest value per key in its cleaned segments (plus the
active segment), offsets intact, tombstones gone after delete.retention.ms,
and a consumer reading from 0 sees each key's latest value."""
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "support"))
from broker import Broker  # noqa: E402
from clients import create_topic, kcat, wait_until  # noqa: E402

from confluent_kafka import Producer  # noqa: E402

KEYS = 1000
UPDATES = 200_000
TOMBSTONED = {f"key-{k:04d}" for k in range(0, KEYS, 100)}


def active_base(broker, topic):
    logs = sorted(f for f in os.listdir(broker.partition_dir(topic, 0)) if f.endswith(".log"))
    return int(logs[-1][:20])


def read_log(broker, topic):
    """(offset, key, value or None) of every record from offset 0."""
    out = []
    text = kcat(broker, "-C", "-t", topic, "-o", "beginning", "-e", "-q", "-f", "%o|%k|%S|%s\n").stdout
    for line in text.splitlines():
        offset, key, size, value = line.split("|", 3)
        out.append((int(offset), key, None if size == "-1" else value))
    return out


class CompactionTest(unittest.TestCase):
    def test_compacted_topic_keeps_latest_value_per_key(self):
        broker = Broker(config={"log.cleaner.backoff.ms": "200"}).start()
        self.addCleanup(broker.cleanup)
        create_topic(broker, "compacted", configs={"cleanup.policy": "compact", "segment.bytes": "65536",
                                                   "min.cleanable.dirty.ratio": "0.01",
                                                   "delete.retention.ms": "1000"})
        producer = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 20, "acks": "all",
                             "compression.codec": "lz4"})
        # 200,000 updates of 1,000 keys, then one tombstone per tombstoned
        # key, then other updates until the tombstones are out of the active
        # segment (only closed segments are compacted).
        latest = {}
        produced = 0

        def send(stream):
            nonlocal produced
            for key, value in stream:
                while True:
                    try:
                        producer.produce("compacted", key=key, value=value, partition=0)
                        break
                    except BufferError:
                        producer.poll(0.05)
                latest[key] = value
                produced += 1
            self.assertEqual(producer.flush(60), 0)

        send((f"key-{i % KEYS:04d}", f"v{i}") for i in range(UPDATES))
        send((key, None) for key in sorted(TOMBSTONED))
        last_tombstone = produced - 1
        live_keys = [f"key-{k:04d}" for k in range(KEYS) if f"key-{k:04d}" not in TOMBSTONED]
        rounds = 0
        while active_base(broker, "compacted") <= last_tombstone:
            rounds += 1
            send((key, f"late{rounds}") for key in live_keys)
        produced_end = produced

        def compacted():
            records = read_log(broker, "compacted")
            base = active_base(broker, "compacted")
            cleaned_keys = [k for o, k, _ in records if o < base]
            tombstones_left = [k for o, k, v in records if o < base and v is None]
            return (records if len(cleaned_keys) == len(set(cleaned_keys)) and not tombstones_left
                    and len(cleaned_keys) > 0 else None)

        records = wait_until(compacted, timeout=60, interval=0.5, what="the cleaner to compact every closed segment")
        offsets = [o for o, _, _ in records]
        self.assertEqual(offsets, sorted(set(offsets)), "offsets must stay strictly increasing")
        self.assertEqual(offsets[-1], produced_end - 1, "the newest record keeps its offset")
        self.assertLess(len(records), UPDATES // 10, "most superseded records must be gone")
        seen = {}
        for _, key, value in records:
            seen[key] = value
        for key, value in latest.items():
            if value is None:
                self.assertTrue(key not in seen, f"{key} was deleted: its tombstone and older values must be gone")
            else:
                self.assertTrue(seen.get(key) == value, f"{key} must keep its latest value {value}, not {seen.get(key)}")
        self.assertTrue(any(line for line in broker.logs() if "compacted-0" in line and "clean" in line))


if __name__ == "__main__":
    unittest.main()

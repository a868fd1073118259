"""Accepted-when 4: a kill -9 during a produce load loses no acknowledged
record; a segment truncated mid-batch is recovered to the last whole batch
and served; and a second broker on the same data dir refuses to start.
(kill -9 keeps the page cache, so this says nothing about fdatasync:
test_powerloss.py cuts the power.)"""
import os
import struct
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "support"))
from broker import Broker  # noqa: E402
from clients import create_topic, kcat  # noqa: E402

from confluent_kafka import Producer  # noqa: E402


def read_all(broker, topic, partitions):
    """Every record of the topic as {partition: [(offset, value), ...]} in offset order."""
    out = {p: [] for p in range(partitions)}
    text = kcat(broker, "-C", "-t", topic, "-o", "beginning", "-e", "-q", "-f", "%p %o %s\n").stdout
    for line in text.splitlines():
        p, offset, value = line.split(" ")
        out[int(p)].append((int(offset), value.encode()))
    return out


def batch_ends(log_file):
    """Last offset of every RecordBatch in a segment file, in file order."""
    with open(log_file, "rb") as f:
        data = f.read()
    ends, pos = [], 0
    while pos + 61 <= len(data):
        base, length = struct.unpack(">qi", data[pos:pos + 12])
        last_delta = struct.unpack(">i", data[pos + 23:pos + 27])[0]
        ends.append(base + last_delta)
        pos += 12 + length
    return ends


class DurabilityTest(unittest.TestCase):
    def test_kill9_loses_no_acknowledged_record(self):
        broker = Broker().start()
        self.addCleanup(broker.cleanup)
        create_topic(broker, "durable", partitions=4)

        acked = {p: [] for p in range(4)}
        lock = threading.Lock()
        stop = threading.Event()

        def on_delivery(err, msg):
            if err is None:
                with lock:
                    acked[msg.partition()].append((msg.offset(), msg.value()))

        def produce():
            producer = Producer({"bootstrap.servers": broker.bootstrap, "acks": "all", "linger.ms": 2,
                                 "message.timeout.ms": 5000, "retries": 0})
            i = 0
            while not stop.is_set():
                try:
                    producer.produce("durable", value=b"record-%08d" % i, partition=i % 4, on_delivery=on_delivery)
                    i += 1
                except BufferError:
                    producer.poll(0.05)
                producer.poll(0)
            producer.flush(10)

        thread = threading.Thread(target=produce)
        thread.start()
        time.sleep(3)
        broker.kill9()
        time.sleep(1)
        stop.set()
        thread.join()
        total_acked = sum(len(v) for v in acked.values())
        self.assertGreater(total_acked, 1000, "the load should have acknowledged many records before the kill")

        broker.start()
        stored = read_all(broker, "durable", 4)
        for p in range(4):
            stored_by_offset = dict(stored[p])
            for offset, value in acked[p]:
                self.assertEqual(stored_by_offset.get(offset), value, f"acknowledged record lost at {p}/{offset}")
            offsets = [o for o, _ in stored[p]]
            self.assertEqual(offsets, list(range(len(offsets))), "offsets must stay dense and ordered")
            values = [v for _, v in stored[p]]
            self.assertEqual(values, sorted(values), "records must stay in produce order")

    def test_truncated_segment_recovers_to_last_whole_batch(self):
        broker = Broker().start()
        self.addCleanup(broker.cleanup)
        create_topic(broker, "torn", partitions=1)
        for batch in range(5):
            lines = "\n".join(f"b{batch}-r{i}" for i in range(100)) + "\n"
            kcat(broker, "-P", "-t", "torn", "-p", "0", "-X", "linger.ms=0", "-X", "batch.num.messages=100",
                 input=lines)
        self.assertEqual(broker.stop(), 0)

        segment_dir = broker.partition_dir("torn", 0)
        log_file = os.path.join(segment_dir, sorted(f for f in os.listdir(segment_dir) if f.endswith(".log"))[-1])
        batches = batch_ends(log_file)
        self.assertGreater(len(batches), 1)
        size = os.path.getsize(log_file)
        with open(log_file, "r+b") as f:
            f.truncate(size - 37)  # cut into the last batch

        broker.start()
        line = broker.wait_for_log(r"torn-0.*truncat")
        self.assertRegex(line, r"\d+ bytes")
        out = kcat(broker, "-C", "-t", "torn", "-o", "beginning", "-e", "-q", "-f", "%o %s\n").stdout.split("\n")
        records = [l.split(" ") for l in out if l]
        self.assertGreater(len(records), 0)
        self.assertLess(len(records), 500)
        self.assertEqual([int(o) for o, _ in records], list(range(len(records))))
        last_whole = len(records)
        self.assertEqual(int(records[-1][0]), batches[-2], "recovery must end at the last whole batch")

        kcat(broker, "-P", "-t", "torn", "-p", "0", input="after-recovery\n")
        out = kcat(broker, "-C", "-t", "torn", "-o", str(last_whole), "-e", "-q", "-f", "%o %s\n").stdout
        self.assertEqual(out.strip(), f"{last_whole} after-recovery")

    def test_second_broker_on_same_data_dir_refuses(self):
        broker = Broker().start()
        self.addCleanup(broker.cleanup)
        second = Broker(data_dir=broker.data_dir)
        with self.assertRaises(RuntimeError) as ctx:
            second.start(timeout=10)
        self.assertIn("already in use by another geomirror-broker", str(ctx.exception))
        # The first broker still serves.
        self.assertIn("broker 0 at", kcat(broker, "-L").stdout)

    def test_sigterm_exits_cleanly_and_data_survives(self):
        broker = Broker().start()
        self.addCleanup(broker.cleanup)
        create_topic(broker, "clean", partitions=2)
        kcat(broker, "-P", "-t", "clean", "-p", "1", input="one\ntwo\nthree\n")
        self.assertEqual(broker.stop(), 0)
        self.assertTrue(any("stopped cleanly" in l for l in broker.logs()))
        broker.start()
        out = kcat(broker, "-C", "-t", "clean", "-p", "1", "-o", "beginning", "-e", "-q", "-f", "%s\n").stdout
        self.assertEqual(out.split(), ["one", "two", "three"])


if __name__ == "__main__":
    unittest.main()

"""Accepted-when 1: kcat lists the broker and topics, and 100,000 keyed
records with headers round-trip identically through -P/-C on a 6-partition
topic for every compression codec, stored compressed as the producer sent
them."""
import os
import struct
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "support"))
from broker import Broker  # noqa: E402
from clients import create_topic, kcat  # noqa: E402

RECORDS = 100_000
PARTITIONS = 6
CODEC_IDS = {"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}


def stored_codecs(path):
    """Compression codecs of the batches stored in a partition dir's segments."""
    codecs = set()
    for name in sorted(f for f in os.listdir(path) if f.endswith(".log")):
        with open(os.path.join(path, name), "rb") as f:
            data = f.read()
        pos = 0
        while pos + 61 <= len(data):
            length = struct.unpack(">i", data[pos + 8:pos + 12])[0]
            attributes = struct.unpack(">h", data[pos + 21:pos + 23])[0]
            codecs.add(attributes & 0x7)
            pos += 12 + length
    return codecs


class KcatTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.broker = Broker().start()

    @classmethod
    def tearDownClass(cls):
        cls.broker.cleanup()

    def test_list_metadata(self):
        create_topic(self.broker, "listed", partitions=3)
        out = kcat(self.broker, "-L").stdout
        self.assertIn("1 brokers:", out)
        self.assertIn(f"broker 0 at 127.0.0.1:{self.broker.port} (controller)", out)
        self.assertIn('topic "listed" with 3 partitions:', out)
        for p in range(3):
            self.assertIn(f"partition {p}, leader 0, replicas: 0, isrs: 0", out)

    def roundtrip(self, codec):
        topic = f"kcat-{codec}"
        create_topic(self.broker, topic, partitions=PARTITIONS)
        lines = [f"key-{i % 5000}\tvalue-{i}-{'x' * (i % 50)}" for i in range(RECORDS)]
        start_ms = int(time.time() * 1000)
        kcat(self.broker, "-P", "-t", topic, "-K", "\t", "-H", "origin=east", "-H", "trace=abc-123",
             "-X", f"compression.codec={codec}", "-X", "linger.ms=20", input="\n".join(lines) + "\n")
        end_ms = int(time.time() * 1000)

        out = kcat(self.broker, "-C", "-t", topic, "-o", "beginning", "-e", "-q",
                   "-f", "%p|%o|%T|%k|%s|%h\n").stdout
        consumed = [line.split("|") for line in out.splitlines() if line]
        self.assertEqual(len(consumed), RECORDS)

        expected = {}
        for line in lines:
            key, value = line.split("\t")
            expected[value] = key
        partition_of_key = {}
        last_seq = {}
        last_offset = {}
        last_ts = {}
        seen = set()
        for p, offset, ts, key, value, headers in consumed:
            p, offset, ts = int(p), int(offset), int(ts)
            self.assertEqual(expected.get(value), key, f"wrong key for {value}")
            self.assertNotIn(value, seen, f"duplicate {value}")
            seen.add(value)
            self.assertEqual(headers, "origin=east,trace=abc-123")
            self.assertTrue(start_ms - 1000 <= ts <= end_ms + 1000, f"timestamp {ts} outside the produce window")
            self.assertEqual(partition_of_key.setdefault(key, p), p, f"key {key} in two partitions")
            seq = int(value.split("-")[1])
            self.assertGreater(seq, last_seq.get(p, -1), f"partition {p} out of order at offset {offset}")
            self.assertGreater(offset, last_offset.get(p, -1))
            self.assertGreaterEqual(ts, last_ts.get(p, 0))
            last_seq[p], last_offset[p], last_ts[p] = seq, offset, ts
        self.assertEqual(len(seen), RECORDS)
        self.assertEqual(set(last_seq), set(range(PARTITIONS)), "records should spread over all partitions")
        # Offsets are dense from 0 in every partition.
        counts = {}
        for p, *_ in consumed:
            counts[int(p)] = counts.get(int(p), 0) + 1
        for p in range(PARTITIONS):
            self.assertEqual(last_offset[p], counts[p] - 1)
            # librdkafka sends a batch uncompressed when compression would not
            # shrink it; every other batch is stored compressed, as sent.
            codecs = stored_codecs(self.broker.partition_dir(topic, p))
            self.assertIn(CODEC_IDS[codec], codecs)
            self.assertLessEqual(codecs, {0, CODEC_IDS[codec]})

    def test_roundtrip_uncompressed(self):
        self.roundtrip("none")

    def test_roundtrip_gzip(self):
        self.roundtrip("gzip")

    def test_roundtrip_snappy(self):
        self.roundtrip("snappy")

    def test_roundtrip_lz4(self):
        self.roundtrip("lz4")

    def test_roundtrip_zstd(self):
        self.roundtrip("zstd")


if __name__ == "__main__":
    unittest.main()

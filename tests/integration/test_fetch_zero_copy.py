"""Issue 11 items 5 and 7: Fetch sends record data from the page cache with
sendfile (no copy through the broker), and data that is not in the page
cache is read on a storage thread, not a network thread, and copied into the
response. Both paths deliver every record intact; the broker's
geomirror_broker_fetch_bytes_total counter says which path served them."""
import glob
import os
import re
import sys
import unittest
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "support"))
from broker import Broker  # noqa: E402
from clients import create_topic, kcat  # noqa: E402

from confluent_kafka import Producer  # noqa: E402

RECORDS = 20_000
VALUE = 1000


def sample(text, name, **labels):
    for line in text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no sample {name} {labels}")


def evict_from_page_cache(paths):
    """Drops the (clean, fdatasync'ed) pages of `paths` from the page cache."""
    for path in paths:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


class FetchZeroCopyTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.broker = Broker(extra_args=["--metrics-listen", "127.0.0.1:0"],
                            config={"log.segment.bytes": str(4 << 20)}).start()
        line = cls.broker.wait_for_log(r"metrics on http://")
        cls.url = re.search(r"metrics on (http://\S+/metrics)", line).group(1)
        create_topic(cls.broker, "zc", partitions=3)
        producer = Producer({"bootstrap.servers": cls.broker.bootstrap, "acks": "all", "linger.ms": 5})
        for i in range(RECORDS):
            producer.produce("zc", value=b"%08d" % i + b"z" * (VALUE - 8), partition=i % 3)
            if i % 1000 == 0:
                producer.poll(0)
        assert producer.flush(30) == 0

    @classmethod
    def tearDownClass(cls):
        cls.broker.cleanup()

    def fetched(self):
        text = urllib.request.urlopen(self.url, timeout=10).read().decode()
        return (sample(text, "geomirror_broker_fetch_bytes_total", path="sendfile"),
                sample(text, "geomirror_broker_fetch_bytes_total", path="copied"))

    def consume_all(self):
        out = kcat(self.broker, "-C", "-t", "zc", "-o", "beginning", "-e", "-q", "-f", "%p %o %s\n").stdout
        got = {}
        for line in out.splitlines():
            p, o, v = line.split(" ")
            got[(int(p), int(o))] = v
        self.assertEqual(len(got), RECORDS)
        for i in range(RECORDS):
            v = got[(i % 3, i // 3)]
            self.assertEqual(v[:8], "%08d" % i)
            self.assertEqual(len(v), VALUE)

    def test_hot_data_goes_out_with_sendfile_then_cold_data_is_copied(self):
        sent_before, copied_before = self.fetched()
        self.consume_all()
        sent, copied = self.fetched()
        self.assertGreaterEqual(sent - sent_before, RECORDS * VALUE, "hot data must be sent from the page cache")
        self.assertEqual(copied - copied_before, 0, "nothing was cold")

        segments = glob.glob(os.path.join(self.broker.data_dir, "zc-*", "*.log"))
        self.assertGreater(len(segments), 3, "several segments per partition")
        evict_from_page_cache(segments)
        self.consume_all()
        sent_after, copied_after = self.fetched()
        print("hot consume: %d bytes by sendfile; after eviction: %d bytes copied on storage threads, %d by sendfile"
              % (sent - sent_before, copied_after - copied, sent_after - sent))
        self.assertGreater(copied_after - copied, 0, "evicted data must be read on a storage thread")


if __name__ == "__main__":
    unittest.main()

"""The broker's Prometheus endpoint (--metrics-listen): request counters and
latencies per API, and per-partition offsets read at scrape time."""
import os
import re
import sys
import unittest
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "support"))
from broker import Broker  # noqa: E402
from clients import create_topic, kcat  # noqa: E402

from confluent_kafka import Producer  # noqa: E402


def sample(text, name, **labels):
    """The value of one sample of `name` whose labels include `labels`."""
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no sample {name} {labels}")


class MetricsTest(unittest.TestCase):
    def test_scrape_after_traffic(self):
        broker = Broker(extra_args=["--metrics-listen", "127.0.0.1:0"]).start()
        self.addCleanup(broker.cleanup)
        line = broker.wait_for_log(r"metrics on http://")
        url = re.search(r"metrics on (http://\S+/metrics)", line).group(1)
        create_topic(broker, "measured", partitions=2)
        create_topic(broker, "relaxed", partitions=1, configs={"flush.messages": "1000000"})
        # Three acks=-1 produce requests one after the other: each waits for
        # its own sync, so partition 1 has synced exactly three times; the
        # relaxed topic syncs in the background, not before these acks.
        producer = Producer({"bootstrap.servers": broker.bootstrap, "acks": "all", "linger.ms": 0})
        for value in (b"a", b"b", b"c"):
            producer.produce("measured", value=value, partition=1)
            producer.produce("relaxed", value=value, partition=0)
            self.assertEqual(producer.flush(10), 0)
        kcat(broker, "-C", "-t", "measured", "-p", "1", "-o", "beginning", "-e", "-q")

        text = urllib.request.urlopen(url, timeout=10).read().decode()
        self.assertGreaterEqual(sample(text, "geomirror_broker_requests_total", api="Produce"), 1)
        self.assertGreaterEqual(sample(text, "geomirror_broker_requests_total", api="Fetch"), 1)
        self.assertGreaterEqual(sample(text, "geomirror_broker_request_duration_seconds_count", api="Produce"), 1)
        self.assertGreater(sample(text, "geomirror_broker_request_bytes_total", api="Produce"), 0)
        self.assertEqual(sample(text, "geomirror_partition_log_end_offset", topic="measured", partition="1"), 3)
        self.assertEqual(sample(text, "geomirror_partition_high_watermark", topic="measured", partition="1"), 3)
        self.assertEqual(sample(text, "geomirror_partition_log_end_offset", topic="measured", partition="0"), 0)
        self.assertEqual(sample(text, "geomirror_partition_fdatasyncs_total", topic="measured", partition="1"), 3)
        self.assertEqual(sample(text, "geomirror_partition_fdatasyncs_total", topic="measured", partition="0"), 0)
        self.assertEqual(sample(text, "geomirror_partition_fdatasyncs_total", topic="relaxed", partition="0"), 0)
        self.assertEqual(sample(text, "geomirror_partition_high_watermark", topic="relaxed", partition="0"), 3)


if __name__ == "__main__":
    unittest.main()

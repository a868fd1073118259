"""The broker binary's command line and start-up errors: clear messages and
non-zero exits for wrong flags and bad configs; help; cluster id reported
and kept."""
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "support"))
from broker import Broker, broker_binary  # noqa: E402
from clients import kcat  # noqa: E402

from confluent_kafka.admin import AdminClient  # noqa: E402


def run(*args, timeout=30):
    return subprocess.run([broker_binary(), *args], capture_output=True, text=True, timeout=timeout)


class CliTest(unittest.TestCase):
    def test_help(self):
        result = run("--help")
        self.assertEqual(result.returncode, 0)
        for flag in ("--listen", "--data-dir", "--cluster-id", "--advertised-listener", "--config", "--log-level"):
            self.assertIn(flag, result.stdout)

    def test_unknown_flag(self):
        result = run("--data-dir", "/tmp/x", "--no-such-flag")
        self.assertEqual(result.returncode, 2)
        self.assertIn("unrecognised option '--no-such-flag'", result.stderr)
        self.assertIn("--help", result.stderr)

    def test_missing_data_dir(self):
        result = run()
        self.assertEqual(result.returncode, 2)
        self.assertIn("--data-dir is required", result.stderr)

    def test_bad_listen_address(self):
        result = run("--data-dir", tempfile.mkdtemp(), "--listen", "localhost")
        self.assertEqual(result.returncode, 2)
        self.assertIn("--listen expects HOST:PORT", result.stderr)

    def test_bad_config_values(self):
        with tempfile.TemporaryDirectory() as d:
            for text, message in [
                ("log.retention.ms=forever\n", "cfg:1: Invalid value 'forever' for configuration log.retention.ms"),
                ("num.partitions=1\nmystery.key=1\n", "cfg:2: unknown broker config 'mystery.key'"),
                ("just a line\n", "cfg:1: expected key=value"),
                ("default.replication.factor=3\n", "default.replication.factor: expected between 1 and 1"),
            ]:
                path = os.path.join(d, "cfg")
                with open(path, "w") as f:
                    f.write(text)
                result = run("--data-dir", os.path.join(d, "data"), "--config", path)
                self.assertEqual(result.returncode, 2, text)
                self.assertIn(message.replace("cfg:", path + ":"), result.stderr, text)

    def test_cluster_id_reported_and_kept(self):
        broker = Broker(cluster_id="region-east").start()
        self.addCleanup(broker.cleanup)
        metadata = AdminClient({"bootstrap.servers": broker.bootstrap}).list_topics(timeout=10)
        self.assertEqual(metadata.cluster_id, "region-east")
        self.assertEqual(metadata.controller_id, 0)
        self.assertEqual(broker.stop(), 0)
        other = Broker(data_dir=broker.data_dir, cluster_id="region-west")
        with self.assertRaises(RuntimeError) as ctx:
            other.start(timeout=10)
        self.assertIn("belongs to cluster 'region-east'", str(ctx.exception))

    def test_auto_create_topics(self):
        broker = Broker(config={"auto.create.topics.enable": "true", "num.partitions": "3"}).start()
        self.addCleanup(broker.cleanup)
        kcat(broker, "-P", "-t", "auto-made", input="hello\n")
        self.assertIn('topic "auto-made" with 3 partitions', kcat(broker, "-L", "-t", "auto-made").stdout)
        off = Broker().start()
        self.addCleanup(off.cleanup)
        result = kcat(off, "-P", "-t", "not-made", "-m", "3", "-X", "message.timeout.ms=2000", input="hello\n",
                      check=False)
        self.assertNotEqual(result.returncode, 0)
        self.assertNotIn("not-made", kcat(off, "-L").stdout)


if __name__ == "__main__":
    unittest.main()

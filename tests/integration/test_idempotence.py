"""Accepted-when 4 and 6 (idempotence): an idempotent librdkafka producer
whose connections are cut mid-stream, or whose broker is killed and
restarted, retries and leaves exactly one copy of every record, in order;
and it runs clean, with no warnings about the broker."""
import logging
import os
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "support"))
from broker import Broker  # noqa: E402
from clients import create_topic, kcat  # noqa: E402
from proxy import CuttingProxy  # noqa: E402

from confluent_kafka import Producer  # noqa: E402

RECORDS = 60_000
PARTITIONS = 3


def values_by_partition(broker, topic):
    out = {}
    text = kcat(broker, "-C", "-t", topic, "-o", "beginning", "-e", "-q", "-f", "%p %s\n").stdout
    for line in text.splitlines():
        p, value = line.split(" ")
        out.setdefault(int(p), []).append(int(value))
    return out


class IdempotenceTest(unittest.TestCase):
    def produce_all(self, bootstrap, topic, during=None, logger=None):
        """Produces RECORDS values i (partition i % PARTITIONS) with
        enable.idempotence while `during(stop_event, delivered)` runs
        alongside (delivered() counts the acknowledged records so far);
        returns the delivery errors."""
        config = {"bootstrap.servers": bootstrap, "enable.idempotence": True, "linger.ms": 5,
                  "batch.num.messages": 500, "message.timeout.ms": 120000, "retry.backoff.ms": 50,
                  "reconnect.backoff.ms": 20, "reconnect.backoff.max.ms": 200}
        if logger is not None:
            config["logger"] = logger
        producer = Producer(config)
        errors = []
        acknowledged = [0]
        stop = threading.Event()
        side = threading.Thread(target=during, args=(stop, lambda: acknowledged[0])) if during else None
        if side:
            side.start()

        def on_delivery(err, msg):
            if err is not None:
                errors.append(err)
            else:
                acknowledged[0] += 1

        for i in range(RECORDS):
            while True:
                try:
                    producer.produce(topic, value=str(i).encode(), partition=i % PARTITIONS, on_delivery=on_delivery)
                    break
                except BufferError:
                    producer.poll(0.01)
            if i % 500 == 0:
                producer.poll(0)
                time.sleep(0.01)  # spread the load over ~1.2 s of faults
        remaining = producer.flush(120)
        stop.set()
        if side:
            side.join()
        self.assertEqual(remaining, 0, "every record should be delivered")
        return errors

    def assert_exactly_once_in_order(self, broker, topic):
        got = values_by_partition(broker, topic)
        for p in range(PARTITIONS):
            expected = list(range(p, RECORDS, PARTITIONS))
            values = got.get(p, [])
            dups = len(values) - len(set(values))
            self.assertEqual(dups, 0, f"partition {p} has {dups} duplicates")
            self.assertEqual(values, expected, f"partition {p}: records lost or out of order")

    def test_connection_cuts_leave_exactly_one_copy(self):
        # Clients reach the broker only through the proxy: the broker
        # advertises the proxy's address.
        proxy = CuttingProxy()
        self.addCleanup(proxy.close)
        broker = Broker(extra_args=["--advertised-listener", f"127.0.0.1:{proxy.port}"]).start()
        self.addCleanup(broker.cleanup)
        proxy.upstream_port = broker.port
        create_topic(broker, "cut", partitions=PARTITIONS)

        def cutter(stop, delivered):
            while not stop.wait(0.05):
                proxy.cut()

        errors = self.produce_all(f"127.0.0.1:{proxy.port}", "cut", during=cutter)
        self.assertEqual(errors, [])
        self.assertGreater(proxy.cuts, 10, "the test should have cut connections mid-stream")
        self.assert_exactly_once_in_order(broker, "cut")

    def test_broker_kill9_and_restart(self):
        broker = Broker().start()
        self.addCleanup(broker.cleanup)
        create_topic(broker, "restart", partitions=PARTITIONS)

        killed_after = []

        def restarter(stop, delivered):
            deadline = time.monotonic() + 30
            while delivered() < RECORDS // 10 and time.monotonic() < deadline:
                time.sleep(0.005)
            broker.kill9()
            killed_after.append(delivered())
            time.sleep(0.3)
            broker.start(port=broker.port)

        errors = self.produce_all(broker.bootstrap, "restart", during=restarter)
        self.assertEqual(errors, [])
        print("killed after %d of %d records were acknowledged" % (killed_after[0], RECORDS))
        # The kill landed mid-stream: some records acknowledged before it, most after the restart.
        self.assertGreaterEqual(killed_after[0], RECORDS // 10)
        self.assertLess(killed_after[0], RECORDS // 2, "the kill came too late to test the restart")
        self.assert_exactly_once_in_order(broker, "restart")

    def test_runs_clean_without_broker_warnings(self):
        broker = Broker().start()
        self.addCleanup(broker.cleanup)
        create_topic(broker, "clean", partitions=PARTITIONS)
        records = []
        logger = logging.getLogger("librdkafka-idempotence")
        logger.setLevel(logging.DEBUG)
        handler = logging.Handler()
        handler.emit = records.append
        logger.addHandler(handler)
        errors = self.produce_all(broker.bootstrap, "clean", logger=logger)
        self.assertEqual(errors, [])
        warnings = [r.getMessage() for r in records if r.levelno >= logging.WARNING]
        self.assertEqual(warnings, [], "librdkafka warned about the broker")
        self.assert_exactly_once_in_order(broker, "clean")


if __name__ == "__main__":
    unittest.main()

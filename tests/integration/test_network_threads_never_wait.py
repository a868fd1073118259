"""Issue 11 item 5: no fsync, no file creation and no cold read on a network
thread. The broker runs one network thread under the power-loss shim with
every file sync slowed to 200 ms (a slow disk), so a network thread that
rolled a segment, deleted records or created a topic itself would hold every
connection for at least that long. A probe producer (acks=1 on a topic that
syncs in the background) measures its round trips while another producer
makes a topic roll its 16 KiB segments over and over, and an admin client
creates topics (with CreateTopics, and by asking Metadata for missing ones
with auto-creation on) and deletes records: no round trip may wait for a
sync."""
import os
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "support"))
from clients import create_topic  # noqa: E402
from powerloss_broker import PowerLossBroker  # noqa: E402
from rdkafka_admin import RecordDeleter  # noqa: E402

from confluent_kafka import Producer  # noqa: E402

SLOW_SYNC_US = 200_000
RELAXED = {"flush.messages": "100000"}  # acknowledged after the write, synced in the background


class NetworkThreadsNeverWaitTest(unittest.TestCase):
    def test_rolls_and_admin_calls_do_not_stall_other_connections(self):
        broker = PowerLossBroker(config={"num.network.threads": "1", "auto.create.topics.enable": "true"}, slow_sync="all:%d" % SLOW_SYNC_US).start()
        self.addCleanup(broker.cleanup)
        create_topic(broker.broker, "probe", configs=RELAXED)
        create_topic(broker.broker, "rolling", partitions=2, configs=dict(RELAXED, **{"segment.bytes": "16384"}))

        stop = threading.Event()
        errors = []
        created = []

        def roll_load():
            # 200 records/s of 1 KB: a 16 KiB segment fills every 80 ms per
            # partition; each roll's seal then waits for three slow syncs.
            p = Producer({"bootstrap.servers": broker.bootstrap, "acks": "1", "linger.ms": 1})
            i = 0
            while not stop.is_set():
                p.produce("rolling", value=b"r" * 1000, partition=i % 2,
                          on_delivery=lambda err, msg: err and not stop.is_set() and errors.append(err))
                i += 1
                p.poll(0.005)
            p.purge()
            p.flush(10)

        def admin_load():
            deleter = RecordDeleter(broker.bootstrap)
            asker = Producer({"bootstrap.servers": broker.bootstrap})  # its Metadata requests allow auto-creation
            while not stop.is_set():
                create_topic(broker.broker, "made-%d" % len(created), configs=RELAXED)
                asker.list_topics("auto-%d" % len(created), timeout=10)
                created.append(True)
                deleter.delete_records("rolling", {0: -1})
                time.sleep(0.2)
            deleter.close()

        threads = [threading.Thread(target=roll_load), threading.Thread(target=admin_load)]
        for t in threads:
            t.start()
        probe = Producer({"bootstrap.servers": broker.bootstrap, "acks": "1", "linger.ms": 0})
        probe.produce("probe", value=b"warm-up")
        probe.flush(10)
        round_trips = []
        deadline = time.time() + 6
        while time.time() < deadline:
            start = time.time()
            probe.produce("probe", value=b"p")
            self.assertEqual(probe.flush(10), 0)
            round_trips.append(time.time() - start)
            time.sleep(0.01)
        stop.set()
        for t in threads:
            t.join()

        # Partition 1 is never trimmed, so each of its segments past the first is a roll.
        segments = sorted(f for f in os.listdir(broker.partition_dir("rolling", 1)) if f.endswith(".log"))
        rolled = int(segments[-1].split(".")[0])
        round_trips.sort()
        print("%d probe round trips: median %.1f ms, max %.1f ms; 'rolling' partition 1 rolled %d segments "
              "(last base offset %d); %d topics created" %
              (len(round_trips), 1000 * round_trips[len(round_trips) // 2], 1000 * round_trips[-1],
               len(segments) - 1, rolled, len(created)))
        self.assertEqual(errors, [])
        # Even a loaded 2-core machine rolls about ten per partition in the 6 s window.
        self.assertGreaterEqual(len(segments) - 1, 4, "the load must have rolled segments while the probe ran")
        self.assertGreaterEqual(len(created), 3, "the admin load must have created topics while the probe ran")
        self.assertTrue(os.path.isdir(broker.partition_dir("auto-0", 0)), "Metadata auto-created no topic")
        self.assertLess(round_trips[-1], 0.8 * SLOW_SYNC_US / 1e6,
                        "a probe round trip waited for a sync: a network thread did file work")


if __name__ == "__main__":
    unittest.main()

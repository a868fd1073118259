"""A python3-kafka group consumer polled on its own thread, for tests that
run several members of one group in one process."""
import threading
import time

from kafka import KafkaConsumer


class GroupConsumer:
    """A KafkaConsumer polled on its own thread (kafka-python joins inside
    poll(), so consumers of one group need their own threads)."""

    def __init__(self, broker, topic, group, session_timeout_ms, **conf):
        self.consumer = KafkaConsumer(topic, bootstrap_servers=broker.bootstrap, group_id=group,
                                      session_timeout_ms=session_timeout_ms, heartbeat_interval_ms=500,
                                      auto_offset_reset="earliest", enable_auto_commit=False, **conf)
        self.lock = threading.Lock()
        self.records = []
        self.partitions = set()
        self.stop_after = None  # stop consuming after this many records (then commit)
        self.running = True
        self.commit_requested = threading.Event()
        self.committed = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while self.running:
            if self.commit_requested.is_set():
                self.consumer.commit()
                self.commit_requested.clear()
                self.committed.set()
            with self.lock:
                full = self.stop_after is not None and len(self.records) >= self.stop_after
            if full:
                time.sleep(0.05)
                continue
            batches = self.consumer.poll(timeout_ms=100, max_records=5)
            with self.lock:
                for records in batches.values():
                    for r in records:
                        self.records.append((r.partition, r.offset, r.value))
                self.partitions = {tp.partition for tp in self.consumer.assignment()}

    def assigned(self):
        with self.lock:
            return set(self.partitions)

    def consumed(self):
        with self.lock:
            return list(self.records)

    def commit(self, timeout=30):
        """Commits what was consumed (the consumer's positions), on the
        polling thread (a KafkaConsumer is not thread-safe)."""
        self.committed.clear()
        self.commit_requested.set()
        if not self.committed.wait(timeout):
            raise AssertionError("commit not done within %ss" % timeout)

    def close(self, commit=False):
        self.running = False
        self.thread.join(10)
        if commit:
            self.consumer.commit()
        self.consumer.close(autocommit=False)

"""What the power-loss tests share: a geomirror-broker running under the
power-loss shim (powerloss.py), a producer that records what was
acknowledged, and the checks of what survived a cut.

Layout of one run, in its own temporary directory:
    <base>/root/            POWERLOSS_ROOT: everything the broker writes
    <base>/root/data/       its --data-dir (created by the broker itself)
    <base>/journal          the shim's journal (+ journal.backup/)
"""
import hashlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time

from broker import Broker, broker_binary
from powerloss import PowerCut

from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition

# Warnings a power cut legitimately causes at the next start: a torn tail is
# what an unsynced append leaves. Anything else at warning level or above is a
# broker that did not start cleanly.
EXPECTED_WARNINGS = [re.compile(r"truncated \d+ bytes of torn or corrupt tail in segment")]
LEVEL = re.compile(r"^\S+ \S+ (warning|error|critical) ")


def seed_from_env(default_bits=32):
    """GEOMIRROR_POWERLOSS_SEED reproduces a run; otherwise a fresh seed."""
    value = os.environ.get("GEOMIRROR_POWERLOSS_SEED")
    return int(value) if value else random.SystemRandom().getrandbits(default_bits)


class PowerLossBroker:
    """config: broker settings (--config); skip_sync / slow_sync: the shim's
    POWERLOSS_SKIP_SYNC / POWERLOSS_SLOW_SYNC."""

    def __init__(self, config=None, skip_sync=None, slow_sync=None):
        self.base = tempfile.mkdtemp(prefix="geomirror-powerloss-")
        self.root = os.path.join(self.base, "root")
        os.mkdir(self.root)
        self.cut = PowerCut(self.root, os.path.join(self.base, "journal"))
        self.data_dir = os.path.join(self.root, "data")
        self.broker = Broker(data_dir=self.data_dir, config=config,
                             env=self.cut.env(broker_binary(), skip_sync=skip_sync, slow_sync=slow_sync))
        self._first_line = 0

    def start(self):
        """Starts (or restarts, on the same port) with a fresh journal."""
        self.cut.reset()
        self._first_line = len(self.broker.logs())
        self.broker.start()
        return self

    def kill(self):
        """kill -9: the page cache still holds everything; nothing is cut yet."""
        self.broker.kill9()

    def kill_when_unsynced(self, suffix=".log", timeout=10.0):
        """kill -9 at the first moment the journal shows a completed write to
        a file ending in `suffix` that no completed sync covers yet: the
        moment a power cut matters. Each candidate moment is confirmed with
        the broker frozen (SIGSTOP, so no sync can complete in between);
        if the sync won the race the broker goes on (SIGCONT) and the watch
        with it. Returns False if no such moment came within `timeout` (it
        kills anyway)."""
        proc = self.broker.proc
        watched, last_write, synced = set(), {}, {}
        pending = b""

        def unsynced(f):
            nonlocal pending
            data = pending + f.read()
            *lines, pending = data.split(b"\n")
            for line in lines:
                p = line.split(b" ")
                if p[0] == b"open" and len(p) > 5 and p[5].endswith(suffix.encode()):
                    watched.add((p[2], p[3]))
                elif p[0] == b"we" and (p[2], p[3]) in watched:
                    last_write[(p[2], p[3])] = int(p[1])
                elif p[0] == b"sync":
                    synced[(p[2], p[3])] = max(synced.get((p[2], p[3]), 0), int(p[1]))
            return any(seq > synced.get(key, 0) for key, seq in last_write.items())

        deadline = time.monotonic() + timeout
        with open(self.cut.journal, "rb") as f:
            while time.monotonic() < deadline:
                if not unsynced(f):
                    time.sleep(0.0005)
                    continue
                os.kill(proc.pid, signal.SIGSTOP)
                _, status = os.waitpid(proc.pid, os.WUNTRACED)  # returns once every thread has stopped
                if not os.WIFSTOPPED(status):
                    raise AssertionError("the broker died on its own:\n" + "\n".join(self.broker.logs()[-20:]))
                if unsynced(f):
                    self.broker.kill9()
                    return True
                os.kill(proc.pid, signal.SIGCONT)
        self.broker.kill9()
        return False

    def power_cut(self, seed, **model):
        """kill -9 (if still running), then the power cut; prints and returns
        the CutReport."""
        self.broker.kill9()
        report = self.cut.apply(seed, **model)
        print(report.summary(), flush=True)
        return report

    def logs_since_start(self):
        return self.broker.logs()[self._first_line:]

    def unclean_start_lines(self):
        """Log lines of the latest start that say it was not clean."""
        bad = []
        for line in self.logs_since_start():
            m = LEVEL.match(line)
            if m and not (m.group(1) == "warning" and any(p.search(line) for p in EXPECTED_WARNINGS)):
                bad.append(line)
        for dirpath, _, files in os.walk(self.data_dir):
            bad += [f"set aside: {os.path.join(dirpath, f)}" for f in files if f.endswith(".cannotrecover")]
        # Sealed segments had their indexes synced when they rolled: after a
        # cut they must load as they are (only the active one is rebuilt).
        bad += [line for line in self.logs_since_start() if "rebuilt indexes of segment" in line]
        return bad

    @property
    def bootstrap(self):
        return self.broker.bootstrap

    def partition_dir(self, topic, partition):
        return self.broker.partition_dir(topic, partition)

    def cleanup(self):
        self.broker.kill9()
        shutil.rmtree(self.base, ignore_errors=True)


def record_value(counter):
    """Deterministic, incompressible payload of 51..411 bytes for `counter`."""
    rnd = random.Random(counter)
    head = b"%010d:" % counter
    body = b""
    digest = hashlib.sha256(head).digest()
    want = rnd.randint(40, 400)
    while len(body) < want:
        digest = hashlib.sha256(digest).digest()
        body += digest
    return head + body[:want]


def counter_of(value):
    return int(value[:10])


class AckedProducer(threading.Thread):
    """Produces its i-th record, record_value(stream + streams * i), to
    partition i % partitions at about `rate` records/s and records every
    acknowledgement: acked[partition][offset] = (value, timestamp). Several
    producers on one topic each take their own `stream` of `streams`."""

    def __init__(self, bootstrap, topic, partitions, rate=4000, config=None, stream=0, streams=1):
        super().__init__(daemon=True)
        self.topic = topic
        self.partitions = partitions
        self.rate = rate
        self.stream = stream
        self.streams = streams
        self.conf = {"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5, "batch.size": 16384,
                     "message.timeout.ms": 60000, "reconnect.backoff.ms": 50, "reconnect.backoff.max.ms": 250,
                     "retry.backoff.ms": 50}
        self.conf.update(config or {})
        self.lock = threading.Lock()
        self.acked = {p: {} for p in range(partitions)}
        self.errors = []
        self.produced = 0
        self._halt = threading.Event()  # (Thread has a _stop of its own)
        self._purge = False
        self._ready = threading.Event()
        self.flush_left = None

    def _delivered(self, err, msg):
        with self.lock:
            if err is None:
                self.acked[msg.partition()][msg.offset()] = (msg.value(), msg.timestamp()[1])
            else:
                self.errors.append(str(err))

    def start(self):
        """Starts the thread; returns once the producer knows the topic's
        partitions (librdkafka would otherwise sit on the first records for
        a second before it asks for the topic's metadata)."""
        super().start()
        if not self._ready.wait(30):
            raise AssertionError(f"the producer did not get the metadata of {self.topic}")
        return self

    def run(self):
        producer = Producer(self.conf)
        producer.list_topics(self.topic, timeout=20)
        self._ready.set()
        start = time.monotonic()
        while not self._halt.is_set():
            due = int((time.monotonic() - start) * self.rate)
            while self.produced < due and not self._halt.is_set():
                try:
                    producer.produce(self.topic, value=record_value(self.stream + self.streams * self.produced),
                                     partition=self.produced % self.partitions, on_delivery=self._delivered)
                    self.produced += 1
                except BufferError:
                    producer.poll(0.01)
            producer.poll(0.005)
        if self._purge:
            producer.purge()  # queued and in flight: reported as purged, never acknowledged
            self.flush_left = producer.flush(10)
        else:
            self.flush_left = producer.flush(60)

    def acked_snapshot(self):
        with self.lock:
            return {p: dict(v) for p, v in self.acked.items()}

    def acked_after_kill(self, settle=0.3):
        """What was acknowledged by a broker that was just killed: waits for
        the delivery reports of responses that reached the client before the
        kill (the thread polls every 5 ms), then snapshots."""
        time.sleep(settle)
        return self.acked_snapshot()

    def acked_count(self):
        with self.lock:
            return sum(len(v) for v in self.acked.values())

    def stop(self):
        """Stops producing and waits for every outstanding delivery report."""
        self._halt.set()
        self.join(90)

    def abandon(self):
        """Stops producing and drops whatever is not acknowledged yet (for a
        broker that is dead and must not receive retries after its restart)."""
        self._purge = True
        self._halt.set()
        self.join(30)


def read_partitions(bootstrap, topic, partitions, idle=5.0, complete=True, which=None):
    """Every record of each partition from its log start to its high
    watermark: ({partition: [(offset, value, timestamp)]}, {partition: low})
    in offset order, with one consumer. Reading stops when nothing new came
    for `idle` seconds; then, if `complete`, it raises (a log with holes
    cannot be read to its high watermark), else it returns what it read."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "powerloss-reader",
                         "enable.auto.commit": False, "fetch.wait.max.ms": 50})
    try:
        marks = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=20) for p in range(partitions)}
        out = {p: [] for p in range(partitions)}
        todo = {p for p, (low, high) in marks.items() if high > low and (which is None or p in which)}
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in sorted(todo)])
        progress = time.monotonic()
        while todo and time.monotonic() - progress < idle:
            for m in consumer.consume(num_messages=5000, timeout=0.2):
                if m.error():
                    continue
                progress = time.monotonic()
                p = m.partition()
                out[p].append((m.offset(), m.value(), m.timestamp()[1]))
                if m.offset() >= marks[p][1] - 1:
                    todo.discard(p)
        if todo and complete:
            raise AssertionError(f"{topic}: partitions {sorted(todo)} not read up to their high watermarks "
                                 f"{marks}: nothing more came for {idle}s "
                                 f"(read up to {[out[p][-1][0] if out[p] else None for p in sorted(todo)]})")
        return out, {p: low for p, (low, _) in marks.items()}
    finally:
        consumer.close()


def read_partitions_apart(bootstrap, topic, partitions, idle=2.0):
    """read_partitions(complete=False) for a broker that serves corrupt data
    (a negative control): each partition is read by its own child process,
    because librdkafka 2.0.2 aborts the process on some corrupt batch headers
    (rd_slice_narrow_copy assertion). A partition whose reader died reads as
    empty: nothing acknowledged there could be read back."""
    script = ("import json, sys; sys.path.insert(0, sys.argv[1]); from powerloss_broker import read_partitions; "
              "out, _ = read_partitions(sys.argv[2], sys.argv[3], int(sys.argv[4]), idle=float(sys.argv[5]), "
              "complete=False, which={int(sys.argv[6])}); p = int(sys.argv[6]); "
              "print(json.dumps([[o, v.hex() if v is not None else None, ts] for o, v, ts in out[p]]))")
    stored = {}
    for p in range(partitions):
        child = subprocess.run(["/usr/bin/python3", "-c", script, os.path.dirname(os.path.abspath(__file__)),
                                bootstrap, topic, str(partitions), str(idle), str(p)],
                               capture_output=True, text=True, timeout=120)
        if child.returncode != 0:
            print(f"{topic}-{p}: the reader died ({child.returncode}): {child.stderr.strip()[-300:]}", flush=True)
            stored[p] = []
            continue
        stored[p] = [(o, bytes.fromhex(v) if v is not None else None, ts) for o, v, ts in json.loads(child.stdout)]
    return stored


def check_stored(stored, start=None):
    """Problems with `stored` ([(offset, value, ts)] of one partition) on its
    own: offsets not dense and ordered (from `start` if given), records that
    are not a record_value() the producers made, duplicated records."""
    problems = []
    offsets = [o for o, _, _ in stored]
    first = start if start is not None else (offsets[0] if offsets else 0)
    if offsets != list(range(first, first + len(offsets))):
        problems.append(f"offsets are not dense and ordered from {first} ({offsets[:5]} ... {offsets[-5:]})")
    seen = {}
    for offset, value, _ in stored:
        try:
            genuine = record_value(counter_of(value)) == value
        except ValueError:
            genuine = False
        if not genuine:
            problems.append(f"record at offset {offset} is no record any producer sent ({value[:16]!r})")
        if value in seen:
            problems.append(f"duplicate record {value[:11]!r} at offsets {seen[value]} and {offset}")
        seen[value] = offset
    return problems[:20]


def check_acked(stored, acked, limit=10):
    """Problems with `stored` ([(offset, value, ts)] of one partition) given
    `acked` ({offset: (value, ts)}): acknowledged records missing or altered
    (value or timestamp), offsets not dense, records nobody sent, duplicates.
    Returns (problems, missing)."""
    problems = check_stored(stored)
    by_offset = {o: (v, ts) for o, v, ts in stored}
    missing = 0
    for offset, (value, ts) in sorted(acked.items()):
        got = by_offset.get(offset)
        if got != (value, ts):
            missing += 1
            if missing <= limit:
                what = "missing" if got is None else f"altered (now {got[0][:11]!r}, timestamp {got[1]} vs {ts})"
                problems.append(f"acknowledged record at offset {offset} ({value[:11]!r}) {what}")
    if missing > limit:
        problems.append(f"... {missing} acknowledged records missing or altered in all")
    return problems, missing

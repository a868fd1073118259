"""Power cuts for integration tests: after a SIGKILL, throw away everything a
power failure would have taken.

`kill -9` leaves the page cache alone, so a broker that never called
fdatasync would still pass a kill -9 test. Here the broker runs with
tests/support/powerloss_shim.cpp preloaded: the shim journals every write,
truncation, directory change and completed fsync/fdatasync under a root
directory (format in the shim's header). After the kill, PowerCut.apply()
replays that journal and leaves the root as a power cut may have left it:

1. Namespace: every create, mkdir, unlink, rmdir and rename whose directory
   was not fsync'ed after it is undone, newest first (an unlinked or
   overwritten file comes back from the hard link the shim made of it; an
   undone mkdir takes everything below it along). A rename needs both
   directories synced.
2. SQLite's -shm files (mmap'ed, never synced) are deleted; SQLite rebuilds
   them from the WAL.
3. Data, per inode still reachable: its durable size is the size at its last
   completed sync (or at its first open in this run, or 0 if the run created
   it). Every write that completed after that sync started -- or was still in
   flight at the kill -- is volatile: each is, seeded-randomly, kept (it
   reached the disk anyway, maybe out of order with others), read back as
   zeros (an allocated but unwritten extent), torn at a 512-byte sector
   boundary (head on disk, rest garbage) or replaced by garbage. A file
   longer than its durable size is cut back to it, or (randomly) keeps its
   length with garbage past the durable size.

Limits of the model: the old content under an overwritten range is not known,
so a lost overwrite becomes garbage or zeros, never the old bytes; a shrinking
ftruncate that was not synced is taken to have survived; a namespace change
the process was killed in the middle of (between the real call and its
journal line) is taken to have reached the disk; fsync and fdatasync are the
same (file times, which fdatasync may leave behind, are not modeled); only
what the preloaded process does through libc is seen (the shim's header lists
what it reports as unsupported, which makes apply() fail). Garbage where a
filesystem would show zeros or old bytes is harsher than a real crash; the
kept shrink and the kept half-done namespace change are the kinder choices
the model makes. The journal covers one process lifetime: reset() before
each start (PowerLossBroker.start does).
"""
import os
import random
import shutil
import subprocess
from dataclasses import dataclass, field


SECTOR = 512  # unit in which a torn write reaches the disk


class PowerCutError(AssertionError):
    """The journal shows a call the model cannot represent."""


def unescape(text):
    return text.replace("%20", " ").replace("%0A", "\n").replace("%25", "%")


@dataclass
class FileCut:
    path: str            # relative to the root
    size: int            # at the kill
    durable: int         # what the last completed sync covered
    final: int           # after the cut
    garbage_bytes: int = 0
    zeroed_bytes: int = 0
    kept_writes: int = 0
    lost_writes: int = 0   # zeroed, torn or garbage, or cut off with the file
    torn_writes: int = 0


@dataclass
class CutReport:
    seed: int
    undone: list = field(default_factory=list)   # "op path" strings, newest first
    files: dict = field(default_factory=dict)    # relative path -> FileCut
    syncs: int = 0
    dir_syncs: int = 0
    writes: int = 0
    skipped_syncs: int = 0                       # POWERLOSS_SKIP_SYNC no-ops
    synced_files: set = field(default_factory=set)  # relative paths with a completed sync
    synced_dirs: set = field(default_factory=set)

    def lost_writes(self, suffix):
        """Writes to files ending in `suffix` that the cut did not keep."""
        return sum(f.lost_writes for p, f in self.files.items() if p.endswith(suffix))

    def volatile_writes(self, suffix):
        """Writes to files ending in `suffix` that no sync covered (lost or,
        by the draw, kept)."""
        return sum(f.lost_writes + f.kept_writes for p, f in self.files.items() if p.endswith(suffix))

    def summary(self):
        changed = [f for f in self.files.values() if f.final != f.size or f.garbage_bytes or f.zeroed_bytes]
        skipped = f", {self.skipped_syncs} syncs skipped (POWERLOSS_SKIP_SYNC)" if self.skipped_syncs else ""
        lines = [f"power cut seed={self.seed}: {self.writes} writes, {self.syncs} file syncs, "
                 f"{self.dir_syncs} directory syncs journaled{skipped}; {len(self.undone)} namespace change(s) "
                 f"undone, {len(changed)} file(s) cut"]
        for op in self.undone[:20]:
            lines.append(f"  undone: {op}")
        if len(self.undone) > 20:
            lines.append(f"  ... {len(self.undone) - 20} more undone")
        for f in sorted(changed, key=lambda f: f.path)[:30]:
            lines.append(f"  {f.path}: {f.size} -> {f.final} bytes (durable {f.durable}; "
                         f"{f.lost_writes} write(s) lost ({f.torn_writes} torn), {f.kept_writes} kept, "
                         f"{f.garbage_bytes} bytes garbage, {f.zeroed_bytes} zeroed)")
        if len(changed) > 30:
            lines.append(f"  ... {len(changed) - 30} more files cut")
        return "\n".join(lines)


class Journal:
    """The parsed journal of one process."""

    def __init__(self, path):
        self.begins = {}     # wb seq -> (key, offset, len)
        self.ends = {}       # key -> [(seq, offset, len, wb seq)]
        self.truncs = {}     # key -> [(seq, new, old)]
        self.opens = []      # (seq, key, size before, path)
        self.syncs = {}      # key -> [(point, size)] regular files
        self.dir_syncs = {}  # key -> [point]
        self.nosyncs = []    # (seq, key)
        self.ns = []         # (seq, op, fields)
        self.unsupported = []
        self.created = set()  # keys created in this run
        if not os.path.exists(path):
            return
        with open(path, "rb") as f:
            raw = f.read().decode("utf-8", "replace")
        for line in raw.split("\n"):
            parts = line.split(" ")
            try:
                self._add(parts)
            except (IndexError, ValueError):
                continue  # the last line may be torn by the kill
        completed = {e[3] for v in self.ends.values() for e in v}
        self.in_flight = {}  # key -> [(wb seq, offset, len)]: begun, never completed
        for seq, (key, off, n) in self.begins.items():
            if seq not in completed:
                self.in_flight.setdefault(key, []).append((seq, off, n))
        self.first_open = {}  # key -> (seq, size before its first open)
        for seq, key, size, _ in sorted(self.opens):
            self.first_open.setdefault(key, (seq, size))

    def write_count(self):
        return sum(len(v) for v in self.ends.values())

    @staticmethod
    def _key(dev, ino):
        return int(dev), int(ino)

    def _add(self, p):
        kind = p[0]
        if kind == "wb":
            self.begins[int(p[1])] = (self._key(p[2], p[3]), int(p[4]), int(p[5]))
        elif kind == "we":
            self.ends.setdefault(self._key(p[2], p[3]), []).append((int(p[1]), int(p[4]), int(p[5]), int(p[6])))
        elif kind == "trunc":
            self.truncs.setdefault(self._key(p[2], p[3]), []).append((int(p[1]), int(p[4]), int(p[5])))
        elif kind == "open":
            self.opens.append((int(p[1]), self._key(p[2], p[3]), int(p[4]), unescape(p[5])))
        elif kind == "sync":
            key = self._key(p[2], p[3])
            if p[5] == "dir":
                self.dir_syncs.setdefault(key, []).append(int(p[1]))
            else:
                self.syncs.setdefault(key, []).append((int(p[1]), int(p[4])))
        elif kind == "nosync":
            self.nosyncs.append((int(p[1]), self._key(p[2], p[3])))
        elif kind == "ns":
            seq, op = int(p[1]), p[2]
            if op in ("create", "mkdir"):
                fields = (self._key(p[3], p[4]), unescape(p[5]), self._key(p[6], p[7]))
                self.created.add(fields[2])
            elif op == "unlink":
                fields = (self._key(p[3], p[4]), unescape(p[5]), None if p[6] == "-" else unescape(p[6]))
            elif op == "rmdir":
                fields = (self._key(p[3], p[4]), unescape(p[5]))
            elif op == "rename":
                fields = (self._key(p[3], p[4]), unescape(p[5]), self._key(p[6], p[7]), unescape(p[8]),
                          None if p[9] == "-" else unescape(p[9]))
            else:
                raise ValueError(op)
            self.ns.append((seq, op, fields))
        elif kind == "unsupported":
            self.unsupported.append((int(p[1]), p[2], unescape(p[3])))
        elif kind in ("start", "syncb", ""):
            pass
        else:
            raise ValueError(kind)

    def dir_durable(self, key, seq):
        """True if a sync of directory `key` started after event `seq`."""
        return any(point > seq for point in self.dir_syncs.get(key, ()))

    def synced_paths(self):
        """Paths (as opened) of regular files with at least one completed sync."""
        keys = set(self.syncs)
        return {path for _, key, _, path in self.opens if key in keys}

    def synced_dirs(self):
        keys = set(self.dir_syncs)
        return {path for _, key, _, path in self.opens if key in keys}


def asan_runtime(binary):
    """Path of the libasan the binary links, or None (a plain build)."""
    out = subprocess.run(["ldd", binary], capture_output=True, text=True).stdout
    for line in out.splitlines():
        name, _, rest = line.strip().partition(" => ")
        if name.startswith("libasan.so"):
            return rest.split(" (")[0].strip()
    return None


def shim_path():
    path = os.environ.get("GEOMIRROR_POWERLOSS_SHIM")
    if not path or not os.path.exists(path):
        raise RuntimeError("set GEOMIRROR_POWERLOSS_SHIM to libpowerloss_shim.so (ctest does this)")
    return path


class PowerCut:
    """One root directory watched through the shim, and its journal (kept
    next to the root, outside it)."""

    def __init__(self, root, journal):
        self.root = os.path.realpath(root)
        self.journal = journal
        self.backup_dir = journal + ".backup"

    def env(self, binary, skip_sync=None, slow_sync=None):
        """Environment entries that preload the shim into `binary`. An ASan
        binary gets its libasan first in LD_PRELOAD (ASan insists on coming
        first; its interceptors then call the shim, which calls libc).
        skip_sync / slow_sync: POWERLOSS_SKIP_SYNC / POWERLOSS_SLOW_SYNC."""
        preload = [shim_path()]
        asan = asan_runtime(binary)
        if asan:
            preload.insert(0, asan)
        env = {"LD_PRELOAD": ":".join(preload), "POWERLOSS_ROOT": self.root, "POWERLOSS_JOURNAL": self.journal}
        if skip_sync:
            env["POWERLOSS_SKIP_SYNC"] = skip_sync
        if slow_sync:
            env["POWERLOSS_SLOW_SYNC"] = slow_sync
        return env

    def reset(self):
        """Forget the previous process's journal: what is on disk now is the
        durable state the next process starts from."""
        if os.path.exists(self.journal):
            os.unlink(self.journal)
        shutil.rmtree(self.backup_dir, ignore_errors=True)

    def read_journal(self):
        return Journal(self.journal)

    def apply(self, seed, keep=0.2, zero=0.1, torn=0.2, long=0.5):
        """Applies the power cut (the process must be dead). keep / zero /
        torn: probability that a volatile write survives / reads back as
        zeros / is torn at a sector boundary, its head on disk and the rest
        garbage (else it is all garbage); long: probability that a file
        longer than its durable size keeps its length (garbage past the
        durable size)."""
        rng = random.Random(seed)
        j = self.read_journal()
        if j.unsupported:
            raise PowerCutError("the journal has calls the power-cut model does not represent: %s"
                                % j.unsupported[:10])
        report = CutReport(seed=seed, writes=j.write_count(), syncs=sum(len(v) for v in j.syncs.values()),
                           dir_syncs=sum(len(v) for v in j.dir_syncs.values()), skipped_syncs=len(j.nosyncs),
                           synced_files={self._rel(p) for p in j.synced_paths()},
                           synced_dirs={self._rel(p) for p in j.synced_dirs()})
        self._undo_namespace(j, report)
        for dirpath, _, files in os.walk(self.root):
            for name in files:
                if name.endswith("-shm"):
                    os.unlink(os.path.join(dirpath, name))
        seen = set()
        for dirpath, _, files in os.walk(self.root):
            for name in sorted(files):
                path = os.path.join(dirpath, name)
                st = os.lstat(path)
                key = (st.st_dev, st.st_ino)
                if key in seen:
                    continue
                seen.add(key)
                cut = self._cut_file(j, key, path, st.st_size, rng, keep, zero, torn, long)
                if cut:
                    report.files[os.path.relpath(path, self.root)] = cut
        self.reset()
        return report

    # -- namespace -----------------------------------------------------------
    def _undo_namespace(self, j, report):
        for seq, op, f in sorted(j.ns, key=lambda e: e[0], reverse=True):
            if op == "rename":
                p_from, old, p_to, new, saved = f
                if j.dir_durable(p_from, seq) and j.dir_durable(p_to, seq):
                    continue
                if os.path.lexists(new) and os.path.isdir(os.path.dirname(old)):
                    os.rename(new, old)
                    if saved == "dir":
                        os.mkdir(new)
                    elif saved:
                        os.link(saved, new)
                    report.undone.append(f"rename {self._rel(old)} -> {self._rel(new)}")
                continue
            parent = f[0]
            if j.dir_durable(parent, seq):
                continue
            path = f[1]
            if op == "create":
                if os.path.lexists(path) and (os.lstat(path).st_dev, os.lstat(path).st_ino) == f[2]:
                    os.unlink(path)
                    report.undone.append(f"create {self._rel(path)}")
            elif op == "mkdir":
                if os.path.isdir(path):
                    shutil.rmtree(path)
                    report.undone.append(f"mkdir {self._rel(path)}")
            elif op == "unlink":
                if f[2] and not os.path.lexists(path) and os.path.isdir(os.path.dirname(path)):
                    os.link(f[2], path)
                    report.undone.append(f"unlink {self._rel(path)}")
            elif op == "rmdir":
                if not os.path.lexists(path) and os.path.isdir(os.path.dirname(path)):
                    os.mkdir(path)
                    report.undone.append(f"rmdir {self._rel(path)}")

    def _rel(self, path):
        return os.path.relpath(path, self.root)

    # -- data ----------------------------------------------------------------
    def _cut_file(self, j, key, path, size, rng, keep, zero, torn, long):
        ends = j.ends.get(key, [])
        in_flight = j.in_flight.get(key, [])
        truncs = j.truncs.get(key, [])
        syncs = j.syncs.get(key, [])
        if not (ends or in_flight or truncs or syncs or key in j.created):
            return None  # untouched in this run
        if syncs:
            point, durable = max(syncs)
        else:
            point = 0
            if key in j.created:
                durable = 0
            else:
                first = sorted(([j.first_open[key]] if key in j.first_open else []) +
                               [(seq, old) for seq, _, old in truncs])
                durable = first[0][1] if first else size
        volatile = sorted([(seq, off, n) for seq, off, n, _ in ends if seq > point] + in_flight)
        final = size
        grow_garbage = False
        if size > durable:
            if rng.random() < long:
                grow_garbage = True
            else:
                final = durable
        cut = FileCut(path=self._rel(path), size=size, durable=durable, final=final)
        if not volatile and final == size and not grow_garbage:
            return cut
        with open(path, "r+b") as f:
            original = f.read()
            data = bytearray(original[:final])
            fate = bytearray(final)  # per byte: 0 as written, 1 garbage, 2 zeros
            if grow_garbage:
                data[durable:final] = rng.randbytes(final - durable)
                fate[durable:final] = b"\x01" * (final - durable)
            for _, off, n in volatile:
                a, b = max(0, off), min(off + n, final)
                if a >= b:
                    cut.lost_writes += 1  # entirely past the cut
                    continue
                draw = rng.random()
                if draw < keep:
                    data[a:b] = original[a:b]
                    fate[a:b] = bytes(b - a)
                    cut.kept_writes += 1
                    continue
                cut.lost_writes += 1
                if draw < keep + zero:
                    data[a:b] = bytes(b - a)
                    fate[a:b] = b"\x02" * (b - a)
                    continue
                if draw < keep + zero + torn:
                    # Torn: the sectors up to a random boundary inside the
                    # write reached the disk, the rest did not.
                    boundaries = range((a // SECTOR + 1) * SECTOR, b, SECTOR)
                    if boundaries:
                        at = rng.choice(boundaries)
                        data[a:at] = original[a:at]
                        fate[a:at] = bytes(at - a)
                        a = at
                        cut.torn_writes += 1
                data[a:b] = rng.randbytes(b - a)
                fate[a:b] = b"\x01" * (b - a)
            cut.garbage_bytes = fate.count(1)
            cut.zeroed_bytes = fate.count(2)
            f.seek(0)
            f.write(data)
            f.truncate(final)
        return cut

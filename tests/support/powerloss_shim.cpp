// powerloss_shim: an LD_PRELOAD library for power-loss tests. It journals
// every change a process makes to files and directories under one root, and
// every fsync/fdatasync that completes, so that after a SIGKILL a harness
// (tests/integration/support/powerloss.py) can throw away exactly what a
// power cut would: every byte and every directory entry no completed sync
// covered. kill -9 alone keeps the page cache, so it proves nothing about
// fsync; this journal is what turns it into a power cut.
//
// Environment:
//   POWERLOSS_ROOT     only paths under this directory are tracked (absolute,
//                      no symlinks); unset: the shim passes everything through
//   POWERLOSS_JOURNAL  file the events are appended to; one write(2) per line
//                      on an O_APPEND fd, so events survive SIGKILL.
//                      <journal>.backup/ holds hard links to every file the
//                      process unlinked or renamed over, so the harness can
//                      bring it back if the unlink was not made durable.
//   POWERLOSS_SKIP_SYNC  negative control: syncs of files or directories whose
//                      path ends with one of these comma-separated suffixes
//                      ("all": every sync) become no-ops that are NOT
//                      journaled as syncs, as in a broker that never syncs.
//   POWERLOSS_SLOW_SYNC  <suffixes>:<microseconds>, e.g. ".log:10000": syncs
//                      of matching files take that much longer (a slow disk).
//                      The delay comes after the sync point is taken, so it
//                      only widens the window in which appends are written
//                      but not yet durable -- the window a power cut hits.
//
// Journal lines (space separated; seq is one global, increasing counter):
//   start <pid> <root>
//   open <seq> <dev> <ino> <size-before-open> <path>
//   wb <seq> <dev> <ino> <offset> <len>            a write is starting
//   we <seq> <dev> <ino> <offset> <len> <wb-seq>   ... and completed
//   trunc <seq> <dev> <ino> <new-size> <old-size>
//   syncb <seq> <dev> <ino>                        sync starting
//   sync <seq> <dev> <ino> <size> file|dir         completed: every event with
//                                                  a smaller seq on this inode
//                                                  (for a dir: every namespace
//                                                  op in it) is durable; size
//                                                  is the file size before it
//   nosync <seq> <dev> <ino>                       skipped (POWERLOSS_SKIP_SYNC)
//   ns <seq> create <pdev> <pino> <path> <dev> <ino>
//   ns <seq> mkdir <pdev> <pino> <path> <dev> <ino>
//   ns <seq> unlink <pdev> <pino> <path> <backup>|-
//   ns <seq> rmdir <pdev> <pino> <path>
//   ns <seq> rename <pdev> <pino> <old> <pdev2> <pino2> <new> <backup>|-|dir
//   unsupported <seq> <what> <path>                a call this model cannot
//                                                  represent (the harness fails)
// Paths are percent-escaped (space, newline, %).
//
// How: every wrapper calls the next definition (dlsym RTLD_NEXT). Writes and
// syncs find the inode with fstat(fd), so dup'ed fds need no bookkeeping; an
// inode is tracked once it was opened or created under the root. Wrappers
// keep errno as the real call left it.
//
// Limits: calls glibc makes internally (fwrite's write, remove's unlink,
// posix_fallocate's fallocate) cannot be interposed, which is why remove,
// fopen and the fallocate family are wrapped themselves. Shared writable
// mmaps cannot be journaled: they are reported as unsupported except for
// SQLite's -shm, which the harness deletes (SQLite rebuilds it).
//
// With an ASan binary, libasan must come first in LD_PRELOAD (the harness
// does that); this library itself is built without sanitizers.

#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace {

// ------------------------------------------------------------ real functions

template <class F>
F next_fn(const char* name) {
  return reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
}

// The next definition of `name` (libc's, or ASan's interceptor's target),
// looked up once (thread-safe static initialization).
#define REAL(name, type) static const type real_fn = next_fn<type>(#name)

using open_fn = int (*)(const char*, int, ...);
using openat_fn = int (*)(int, const char*, int, ...);
using open2_fn = int (*)(const char*, int);
using openat2_fn = int (*)(int, const char*, int);
using creat_fn = int (*)(const char*, mode_t);
using fopen_fn = FILE* (*)(const char*, const char*);
using write_fn = ssize_t (*)(int, const void*, size_t);
using pwrite_fn = ssize_t (*)(int, const void*, size_t, off_t);
using writev_fn = ssize_t (*)(int, const struct iovec*, int);
using pwritev_fn = ssize_t (*)(int, const struct iovec*, int, off_t);
using pwritev2_fn = ssize_t (*)(int, const struct iovec*, int, off_t, int);
using ftruncate_fn = int (*)(int, off_t);
using truncate_fn = int (*)(const char*, off_t);
using sync_fn = int (*)(int);
using mkdir_fn = int (*)(const char*, mode_t);
using mkdirat_fn = int (*)(int, const char*, mode_t);
using path_fn = int (*)(const char*);
using unlinkat_fn = int (*)(int, const char*, int);
using rename_fn = int (*)(const char*, const char*);
using renameat_fn = int (*)(int, const char*, int, const char*);
using renameat2_fn = int (*)(int, const char*, int, const char*, unsigned);
using link_fn = int (*)(const char*, const char*);
using linkat_fn = int (*)(int, const char*, int, const char*, int);
using symlinkat_fn = int (*)(const char*, int, const char*);
using mmap_fn = void* (*)(void*, size_t, int, int, int, off_t);
using fallocate_fn = int (*)(int, int, off_t, off_t);
using posix_fallocate_fn = int (*)(int, off_t, off_t);
using sync_file_range_fn = int (*)(int, off_t, off_t, unsigned);
using void_fn = void (*)();
using msync_fn = int (*)(void*, size_t, int);
using copy_file_range_fn = ssize_t (*)(int, off_t*, int, off_t*, size_t, unsigned);
using sendfile_fn = ssize_t (*)(int, int, off_t*, size_t);

// The shim's own file operations must not be journaled.
ssize_t raw_write(int fd, const void* buf, size_t n) {
  REAL(write, write_fn);
  return real_fn(fd, buf, n);
}
int raw_link(const char* from, const char* to) {
  REAL(link, link_fn);
  return real_fn(from, to);
}
int raw_unlink(const char* path) {
  REAL(unlink, path_fn);
  return real_fn(path);
}

// -------------------------------------------------------------------- state

struct state {
  std::string root;  // no trailing '/'
  int journal = -1;
  std::string backup_dir;
  std::vector<std::string> skip_sync;  // POWERLOSS_SKIP_SYNC suffixes ("all" matches all)
  std::vector<std::string> slow_sync;  // POWERLOSS_SLOW_SYNC suffixes
  long slow_sync_us = 0;
  std::atomic<unsigned long long> seq{1};
  std::mutex mu;
  std::set<std::pair<dev_t, ino_t>> tracked;  // guarded by mu
};

state* g_state = nullptr;  // never freed: wrappers run until the very end
pthread_once_t g_once = PTHREAD_ONCE_INIT;

void emit(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

std::vector<std::string> split_list(const std::string& list) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i <= list.size()) {
    size_t j = list.find(',', i);
    if (j == std::string::npos) j = list.size();
    if (j > i) out.push_back(list.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

void init_once() {
  const char* root = getenv("POWERLOSS_ROOT");
  const char* journal = getenv("POWERLOSS_JOURNAL");
  if (root == nullptr || journal == nullptr || root[0] != '/') return;
  auto* s = new state;
  s->root = root;
  while (s->root.size() > 1 && s->root.back() == '/') s->root.pop_back();
  s->backup_dir = std::string(journal) + ".backup";
  if (const char* skip = getenv("POWERLOSS_SKIP_SYNC")) s->skip_sync = split_list(skip);
  if (const char* slow = getenv("POWERLOSS_SLOW_SYNC")) {
    const char* colon = strrchr(slow, ':');
    if (colon != nullptr) {
      s->slow_sync = split_list(std::string(slow, colon));
      s->slow_sync_us = strtol(colon + 1, nullptr, 10);
    }
  }
  REAL(open, open_fn);
  s->journal = real_fn(journal, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (s->journal < 0) {
    static const char msg[] = "powerloss_shim: cannot open POWERLOSS_JOURNAL\n";
    raw_write(2, msg, sizeof msg - 1);
    abort();
  }
  {
    REAL(mkdir, mkdir_fn);
    if (real_fn(s->backup_dir.c_str(), 0755) != 0 && errno != EEXIST) {
      static const char msg[] = "powerloss_shim: cannot create the backup directory\n";
      raw_write(2, msg, sizeof msg - 1);
      abort();
    }
  }
  g_state = s;
  emit("start %d %s\n", static_cast<int>(getpid()), s->root.c_str());
}

state* active() {
  pthread_once(&g_once, init_once);
  return g_state;
}

unsigned long long next_seq() { return g_state->seq.fetch_add(1); }

void emit(const char* fmt, ...) {
  char buf[8192];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n <= 0) return;
  if (static_cast<size_t>(n) >= sizeof buf) {
    n = sizeof buf - 1;
    buf[n - 1] = '\n';
  }
  raw_write(g_state->journal, buf, static_cast<size_t>(n));
}

// Restores errno when the wrapper is done with its own calls.
struct errno_guard {
  int saved = errno;
  ~errno_guard() { errno = saved; }
};

std::string escape(const std::string& p) {
  std::string out;
  out.reserve(p.size());
  for (char c : p) {
    if (c == ' ') out += "%20";
    else if (c == '\n') out += "%0A";
    else if (c == '%') out += "%25";
    else out += c;
  }
  return out;
}

// Lexical normalization of an absolute path ("." and ".." and "//").
std::string normalize(const std::string& path) {
  std::string out;
  size_t i = 0;
  while (i < path.size()) {
    while (i < path.size() && path[i] == '/') ++i;
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    std::string part = path.substr(i, j - i);
    i = j;
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      size_t k = out.rfind('/');
      out.erase(k == std::string::npos ? 0 : k);
      continue;
    }
    out += '/';
    out += part;
  }
  return out.empty() ? "/" : out;
}

// Absolute, normalized form of (dirfd, path); false if it cannot be known.
bool resolve(int dirfd, const char* path, std::string& out) {
  if (path == nullptr) return false;
  if (path[0] == '/') {
    out = normalize(path);
    return true;
  }
  char base[4096];
  if (dirfd == AT_FDCWD) {
    if (getcwd(base, sizeof base) == nullptr) return false;
  } else {
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", dirfd);
    ssize_t n = readlink(link, base, sizeof base - 1);
    if (n <= 0) return false;
    base[n] = '\0';
  }
  out = normalize(std::string(base) + "/" + path);
  return true;
}

bool under_root(const state* s, const std::string& abs) {
  return abs == s->root ||
         (abs.size() > s->root.size() && abs.compare(0, s->root.size(), s->root) == 0 &&
          abs[s->root.size()] == '/');
}

// The tracked path for (dirfd, path), or false.
bool tracked_path(int dirfd, const char* path, std::string& abs) {
  state* s = active();
  return s != nullptr && resolve(dirfd, path, abs) && under_root(s, abs);
}

std::string parent_of(const std::string& abs) {
  size_t k = abs.rfind('/');
  return k == 0 ? std::string("/") : abs.substr(0, k);
}

void track(const struct stat& st) {
  std::lock_guard lock(g_state->mu);
  g_state->tracked.emplace(st.st_dev, st.st_ino);
}

// fstat of a tracked inode (regular file or directory), or false.
bool tracked_fd(int fd, struct stat& st) {
  if (active() == nullptr || fd < 0) return false;
  errno_guard keep;
  if (fstat(fd, &st) != 0) return false;
  if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) return false;
  std::lock_guard lock(g_state->mu);
  return g_state->tracked.count({st.st_dev, st.st_ino}) != 0;
}

std::string fd_path(int fd) {
  char link[64];
  char buf[4096];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, buf, sizeof buf - 1);
  if (n <= 0) return std::string();
  return std::string(buf, static_cast<size_t>(n));
}

unsigned long long ull(dev_t v) { return static_cast<unsigned long long>(v); }
unsigned long long ull_ino(ino_t v) { return static_cast<unsigned long long>(v); }

void unsupported(const char* what, const std::string& path) {
  emit("unsupported %llu %s %s\n", next_seq(), what, escape(path).c_str());
}

// ------------------------------------------------------------------ opening

struct open_probe {
  bool tracked = false;
  bool existed = false;
  off_t size_before = 0;
  std::string abs;
};

open_probe before_open(int dirfd, const char* path, int flags) {
  open_probe p;
  if (!tracked_path(dirfd, path, p.abs)) return p;
  errno_guard keep;
  p.tracked = true;
  struct stat st;
  if (stat(p.abs.c_str(), &st) == 0) {
    p.existed = true;
    p.size_before = st.st_size;
  }
#ifdef O_TMPFILE
  if ((flags & O_TMPFILE) == O_TMPFILE) unsupported("O_TMPFILE", p.abs);
#else
  (void)flags;
#endif
  return p;
}

void after_open(const open_probe& p, int fd, bool truncating) {
  if (!p.tracked || fd < 0) return;
  errno_guard keep;
  struct stat st;
  if (fstat(fd, &st) != 0 || (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))) return;
  track(st);
  if (!p.existed) {
    struct stat parent;
    if (stat(parent_of(p.abs).c_str(), &parent) == 0) {
      emit("ns %llu create %llu %llu %s %llu %llu\n", next_seq(), ull(parent.st_dev),
           ull_ino(parent.st_ino), escape(p.abs).c_str(), ull(st.st_dev), ull_ino(st.st_ino));
    }
  }
  emit("open %llu %llu %llu %lld %s\n", next_seq(), ull(st.st_dev), ull_ino(st.st_ino),
       static_cast<long long>(p.existed ? p.size_before : 0), escape(p.abs).c_str());
  if (p.existed && truncating && p.size_before > 0 && S_ISREG(st.st_mode)) {
    emit("trunc %llu %llu %llu 0 %lld\n", next_seq(), ull(st.st_dev), ull_ino(st.st_ino),
         static_cast<long long>(p.size_before));
  }
}

// An open journaled around `call`, which performs it and returns the fd.
template <class Call>
int traced_open(int dirfd, const char* path, int flags, Call&& call) {
  const open_probe p = before_open(dirfd, path, flags);
  const int fd = call();
  after_open(p, fd, flags & O_TRUNC);
  return fd;
}

mode_t mode_arg(int flags, va_list ap) {
#ifdef O_TMPFILE
  if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE) return static_cast<mode_t>(va_arg(ap, int));
#else
  if (flags & O_CREAT) return static_cast<mode_t>(va_arg(ap, int));
#endif
  return 0;
}

// ------------------------------------------------------------------ writing

struct write_probe {
  bool tracked = false;
  struct stat st {};
  off_t offset = 0;
  unsigned long long begin = 0;
};

// offset < 0: the fd's file position (or the end for O_APPEND).
write_probe before_write(int fd, off_t offset, size_t len) {
  write_probe w;
  if (!tracked_fd(fd, w.st) || !S_ISREG(w.st.st_mode)) return w;
  errno_guard keep;
  w.tracked = true;
  if (offset >= 0) {
    w.offset = offset;
  } else {
    const int fl = fcntl(fd, F_GETFL);
    w.offset = (fl >= 0 && (fl & O_APPEND)) ? w.st.st_size : lseek(fd, 0, SEEK_CUR);
  }
  w.begin = next_seq();
  emit("wb %llu %llu %llu %lld %zu\n", w.begin, ull(w.st.st_dev), ull_ino(w.st.st_ino),
       static_cast<long long>(w.offset), len);
  return w;
}

// positional: the write did not move the file position.
void after_write(const write_probe& w, int fd, ssize_t done, bool positional) {
  if (!w.tracked) return;
  errno_guard keep;
  off_t at = w.offset;
  if (done > 0 && !positional) {
    const off_t pos = lseek(fd, 0, SEEK_CUR);
    if (pos >= done) at = pos - done;
  }
  emit("we %llu %llu %llu %lld %zd %llu\n", next_seq(), ull(w.st.st_dev), ull_ino(w.st.st_ino),
       static_cast<long long>(at), done > 0 ? done : 0, w.begin);
}

// A write of `len` bytes at `offset` (< 0: the file position) journaled
// around `call`, which performs it; positional: it leaves the position alone.
template <class Call>
ssize_t traced_write(int fd, off_t offset, size_t len, bool positional, Call&& call) {
  const write_probe w = before_write(fd, offset, len);
  const ssize_t r = call();
  after_write(w, fd, r, positional);
  return r;
}

size_t iov_total(const struct iovec* iov, int n) {
  size_t total = 0;
  for (int i = 0; i < n; ++i) total += iov[i].iov_len;
  return total;
}

// Journals a completed truncation of `st` (the inode as it was before).
int after_truncate(const struct stat& st, off_t len, int rc) {
  if (rc == 0) {
    errno_guard keep;
    emit("trunc %llu %llu %llu %lld %lld\n", next_seq(), ull(st.st_dev), ull_ino(st.st_ino),
         static_cast<long long>(len), static_cast<long long>(st.st_size));
  }
  return rc;
}

// ------------------------------------------------------------------ syncing

bool has_suffix(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool matches(const std::vector<std::string>& suffixes, const std::string& path) {
  for (const auto& suffix : suffixes) {
    if (suffix == "all" || has_suffix(path, suffix)) return true;
  }
  return false;
}

template <class Call>
int do_sync(int fd, Call&& call) {
  struct stat st;
  if (!tracked_fd(fd, st)) return call();
  if (!g_state->skip_sync.empty()) {
    errno_guard keep;
    if (matches(g_state->skip_sync, fd_path(fd))) {
      emit("nosync %llu %llu %llu\n", next_seq(), ull(st.st_dev), ull_ino(st.st_ino));
      return 0;
    }
  }
  unsigned long long point;
  bool slow = false;
  {
    errno_guard keep;
    point = next_seq();  // every event numbered below this is in the page cache
    if (fstat(fd, &st) != 0) return call();
    emit("syncb %llu %llu %llu\n", point, ull(st.st_dev), ull_ino(st.st_ino));
    slow = g_state->slow_sync_us > 0 && S_ISREG(st.st_mode) && matches(g_state->slow_sync, fd_path(fd));
  }
  if (slow) {
    errno_guard keep;
    struct timespec delay {};
    delay.tv_sec = g_state->slow_sync_us / 1000000;
    delay.tv_nsec = (g_state->slow_sync_us % 1000000) * 1000;
    while (nanosleep(&delay, &delay) != 0 && errno == EINTR) {
    }
  }
  const int rc = call();
  if (rc == 0) {
    errno_guard keep;
    emit("sync %llu %llu %llu %lld %s\n", point, ull(st.st_dev), ull_ino(st.st_ino),
         static_cast<long long>(st.st_size), S_ISDIR(st.st_mode) ? "dir" : "file");
  }
  return rc;
}

// ---------------------------------------------------------------- namespace

bool parent_stat(const std::string& abs, struct stat& parent) {
  return stat(parent_of(abs).c_str(), &parent) == 0;
}

// Hard-links a regular file that is about to disappear into the backup dir
// (the link also keeps its inode number from being reused meanwhile).
std::string backup(const std::string& abs) {
  static std::atomic<unsigned long long> counter{0};
  struct stat st;
  if (lstat(abs.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return std::string();
  size_t k = abs.rfind('/');
  std::string to = g_state->backup_dir + "/" + std::to_string(getpid()) + "-" +
                   std::to_string(counter.fetch_add(1)) + "-" +
                   abs.substr(k + 1);
  if (raw_link(abs.c_str(), to.c_str()) != 0) return std::string();
  return to;
}

template <class Call>
int do_unlink(int dirfd, const char* path, bool is_dir_hint, Call&& call) {
  std::string abs;
  if (!tracked_path(dirfd, path, abs)) return call();
  bool is_dir = is_dir_hint;
  std::string saved;
  unsigned long long seq;
  struct stat parent {};
  bool have_parent;
  {
    errno_guard keep;
    struct stat st;
    if (!is_dir && lstat(abs.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) is_dir = true;
    if (!is_dir) saved = backup(abs);
    have_parent = parent_stat(abs, parent);
  }
  const int rc = call();
  errno_guard keep;
  if (rc != 0) {
    if (!saved.empty()) raw_unlink(saved.c_str());
    return rc;
  }
  if (!have_parent) return rc;
  // Numbered after the call: a directory sync that started earlier must not
  // be taken to cover it.
  seq = next_seq();
  if (is_dir) {
    emit("ns %llu rmdir %llu %llu %s\n", seq, ull(parent.st_dev), ull_ino(parent.st_ino),
         escape(abs).c_str());
  } else {
    emit("ns %llu unlink %llu %llu %s %s\n", seq, ull(parent.st_dev), ull_ino(parent.st_ino),
         escape(abs).c_str(), saved.empty() ? "-" : escape(saved).c_str());
  }
  return rc;
}

template <class Call>
int do_mkdir(int dirfd, const char* path, Call&& call) {
  std::string abs;
  if (!tracked_path(dirfd, path, abs)) return call();
  const int rc = call();
  if (rc != 0) return rc;
  errno_guard keep;
  struct stat st, parent;
  if (stat(abs.c_str(), &st) == 0 && parent_stat(abs, parent)) {
    track(st);
    emit("ns %llu mkdir %llu %llu %s %llu %llu\n", next_seq(), ull(parent.st_dev),
         ull_ino(parent.st_ino), escape(abs).c_str(), ull(st.st_dev), ull_ino(st.st_ino));
  }
  return rc;
}

template <class Call>
int do_rename(int olddirfd, const char* oldpath, int newdirfd, const char* newpath, unsigned flags,
              Call&& call) {
  std::string from, to;
  const bool t_from = tracked_path(olddirfd, oldpath, from);
  const bool t_to = tracked_path(newdirfd, newpath, to);
  if (!t_from && !t_to) return call();
  std::string saved;
  unsigned long long seq;
  struct stat p_from {}, p_to {};
  bool ok;
  {
    errno_guard keep;
    if (flags != 0) unsupported("renameat2-flags", to);
    if (!t_from || !t_to) unsupported("rename-across-root", t_to ? to : from);
    struct stat st;
    if (lstat(to.c_str(), &st) == 0) saved = S_ISDIR(st.st_mode) ? std::string("dir") : backup(to);
    ok = parent_stat(from, p_from) && parent_stat(to, p_to);
  }
  const int rc = call();
  errno_guard keep;
  if (rc != 0) {
    if (!saved.empty() && saved != "dir") raw_unlink(saved.c_str());
    return rc;
  }
  seq = next_seq();
  if (ok) {
    emit("ns %llu rename %llu %llu %s %llu %llu %s %s\n", seq, ull(p_from.st_dev),
         ull_ino(p_from.st_ino), escape(from).c_str(), ull(p_to.st_dev), ull_ino(p_to.st_ino),
         escape(to).c_str(), saved.empty() ? "-" : escape(saved).c_str());
  }
  return rc;
}

void check_link_target(int dirfd, const char* path, const char* what) {
  std::string abs;
  if (tracked_path(dirfd, path, abs)) {
    errno_guard keep;
    unsupported(what, abs);
  }
}

void check_fd_unsupported(int fd, const char* what) {
  struct stat st;
  if (tracked_fd(fd, st) && S_ISREG(st.st_mode)) {
    errno_guard keep;
    unsupported(what, fd_path(fd));
  }
}

// Writes through a shared writable mapping bypass the journal: refused
// (SQLite's -shm index excepted, it is rebuilt from the WAL).
void check_mmap_unsupported(int prot, int flags, int fd) {
  if (fd < 0 || !(flags & MAP_SHARED) || !(prot & PROT_WRITE) || g_state == nullptr) return;
  struct stat st;
  if (tracked_fd(fd, st) && S_ISREG(st.st_mode)) {
    errno_guard keep;
    const std::string path = fd_path(fd);
    if (!has_suffix(path, "-shm")) unsupported("mmap-shared-writable", path);
  }
}

}  // namespace

// ===================================================================== API

extern "C" {

// --- open ------------------------------------------------------------------

int open(const char* path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  const mode_t mode = mode_arg(flags, ap);
  va_end(ap);
  REAL(open, open_fn);
  return traced_open(AT_FDCWD, path, flags, [&] { return real_fn(path, flags, mode); });
}

int open64(const char* path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  const mode_t mode = mode_arg(flags, ap);
  va_end(ap);
  REAL(open64, open_fn);
  return traced_open(AT_FDCWD, path, flags, [&] { return real_fn(path, flags, mode); });
}

int openat(int dirfd, const char* path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  const mode_t mode = mode_arg(flags, ap);
  va_end(ap);
  REAL(openat, openat_fn);
  return traced_open(dirfd, path, flags, [&] { return real_fn(dirfd, path, flags, mode); });
}

int openat64(int dirfd, const char* path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  const mode_t mode = mode_arg(flags, ap);
  va_end(ap);
  REAL(openat64, openat_fn);
  return traced_open(dirfd, path, flags, [&] { return real_fn(dirfd, path, flags, mode); });
}

// _FORTIFY_SOURCE entry points (two-argument opens).
int __open_2(const char* path, int flags) {
  REAL(__open_2, open2_fn);
  return traced_open(AT_FDCWD, path, flags, [&] { return real_fn(path, flags); });
}

int __open64_2(const char* path, int flags) {
  REAL(__open64_2, open2_fn);
  return traced_open(AT_FDCWD, path, flags, [&] { return real_fn(path, flags); });
}

int __openat_2(int dirfd, const char* path, int flags) {
  REAL(__openat_2, openat2_fn);
  return traced_open(dirfd, path, flags, [&] { return real_fn(dirfd, path, flags); });
}

int __openat64_2(int dirfd, const char* path, int flags) {
  REAL(__openat64_2, openat2_fn);
  return traced_open(dirfd, path, flags, [&] { return real_fn(dirfd, path, flags); });
}

int creat(const char* path, mode_t mode) {
  REAL(creat, creat_fn);
  const open_probe p = before_open(AT_FDCWD, path, O_CREAT | O_TRUNC);
  const int fd = real_fn(path, mode);
  after_open(p, fd, true);
  return fd;
}

int creat64(const char* path, mode_t mode) {
  REAL(creat64, creat_fn);
  const open_probe p = before_open(AT_FDCWD, path, O_CREAT | O_TRUNC);
  const int fd = real_fn(path, mode);
  after_open(p, fd, true);
  return fd;
}

FILE* fopen(const char* path, const char* mode) {
  REAL(fopen, fopen_fn);
  const open_probe p = before_open(AT_FDCWD, path, 0);
  FILE* f = real_fn(path, mode);
  if (f != nullptr) after_open(p, fileno(f), mode != nullptr && mode[0] == 'w');
  return f;
}

FILE* fopen64(const char* path, const char* mode) {
  REAL(fopen64, fopen_fn);
  const open_probe p = before_open(AT_FDCWD, path, 0);
  FILE* f = real_fn(path, mode);
  if (f != nullptr) after_open(p, fileno(f), mode != nullptr && mode[0] == 'w');
  return f;
}

// --- write -----------------------------------------------------------------

ssize_t write(int fd, const void* buf, size_t n) {
  REAL(write, write_fn);
  return traced_write(fd, -1, n, false, [&] { return real_fn(fd, buf, n); });
}

ssize_t pwrite(int fd, const void* buf, size_t n, off_t offset) {
  REAL(pwrite, pwrite_fn);
  return traced_write(fd, offset, n, true, [&] { return real_fn(fd, buf, n, offset); });
}

ssize_t pwrite64(int fd, const void* buf, size_t n, off_t offset) {
  REAL(pwrite64, pwrite_fn);
  return traced_write(fd, offset, n, true, [&] { return real_fn(fd, buf, n, offset); });
}

ssize_t writev(int fd, const struct iovec* iov, int cnt) {
  REAL(writev, writev_fn);
  return traced_write(fd, -1, iov_total(iov, cnt), false, [&] { return real_fn(fd, iov, cnt); });
}

ssize_t pwritev(int fd, const struct iovec* iov, int cnt, off_t offset) {
  REAL(pwritev, pwritev_fn);
  return traced_write(fd, offset, iov_total(iov, cnt), true, [&] { return real_fn(fd, iov, cnt, offset); });
}

ssize_t pwritev64(int fd, const struct iovec* iov, int cnt, off_t offset) {
  REAL(pwritev64, pwritev_fn);
  return traced_write(fd, offset, iov_total(iov, cnt), true, [&] { return real_fn(fd, iov, cnt, offset); });
}

ssize_t pwritev2(int fd, const struct iovec* iov, int cnt, off_t offset, int flags) {
  REAL(pwritev2, pwritev2_fn);
  return traced_write(fd, offset, iov_total(iov, cnt), offset >= 0, [&] { return real_fn(fd, iov, cnt, offset, flags); });
}

ssize_t pwritev64v2(int fd, const struct iovec* iov, int cnt, off_t offset, int flags) {
  REAL(pwritev64v2, pwritev2_fn);
  return traced_write(fd, offset, iov_total(iov, cnt), offset >= 0, [&] { return real_fn(fd, iov, cnt, offset, flags); });
}

int ftruncate(int fd, off_t len) {
  REAL(ftruncate, ftruncate_fn);
  struct stat st;
  if (!tracked_fd(fd, st) || !S_ISREG(st.st_mode)) return real_fn(fd, len);
  return after_truncate(st, len, real_fn(fd, len));
}

int ftruncate64(int fd, off_t len) {
  REAL(ftruncate64, ftruncate_fn);
  struct stat st;
  if (!tracked_fd(fd, st) || !S_ISREG(st.st_mode)) return real_fn(fd, len);
  return after_truncate(st, len, real_fn(fd, len));
}

int truncate(const char* path, off_t len) {
  REAL(truncate, truncate_fn);
  std::string abs;
  struct stat st;
  if (!tracked_path(AT_FDCWD, path, abs) || stat(abs.c_str(), &st) != 0) return real_fn(path, len);
  track(st);
  return after_truncate(st, len, real_fn(path, len));
}

int truncate64(const char* path, off_t len) {
  REAL(truncate64, truncate_fn);
  std::string abs;
  struct stat st;
  if (!tracked_path(AT_FDCWD, path, abs) || stat(abs.c_str(), &st) != 0) return real_fn(path, len);
  track(st);
  return after_truncate(st, len, real_fn(path, len));
}

// --- sync ------------------------------------------------------------------

int fsync(int fd) {
  REAL(fsync, sync_fn);
  return do_sync(fd, [&] { return real_fn(fd); });
}

int fdatasync(int fd) {
  REAL(fdatasync, sync_fn);
  return do_sync(fd, [&] { return real_fn(fd); });
}

// Calls the model does not represent: journaled so the harness fails loudly
// if the broker (or SQLite) ever starts relying on them.
int sync_file_range(int fd, off_t offset, off_t nbytes, unsigned flags) {
  REAL(sync_file_range, sync_file_range_fn);
  check_fd_unsupported(fd, "sync_file_range");
  return real_fn(fd, offset, nbytes, flags);
}

int syncfs(int fd) {
  REAL(syncfs, sync_fn);
  if (active() != nullptr) {
    errno_guard keep;
    unsupported("syncfs", fd_path(fd));
  }
  return real_fn(fd);
}

void sync() {
  REAL(sync, void_fn);
  if (active() != nullptr) {
    errno_guard keep;
    unsupported("sync", "-");
  }
  real_fn();
}

int msync(void* addr, size_t len, int flags) {
  REAL(msync, msync_fn);
  if (active() != nullptr) {
    errno_guard keep;
    unsupported("msync", "-");
  }
  return real_fn(addr, len, flags);
}

int fallocate(int fd, int mode, off_t offset, off_t len) {
  REAL(fallocate, fallocate_fn);
  check_fd_unsupported(fd, "fallocate");
  return real_fn(fd, mode, offset, len);
}

int fallocate64(int fd, int mode, off_t offset, off_t len) {
  REAL(fallocate64, fallocate_fn);
  check_fd_unsupported(fd, "fallocate");
  return real_fn(fd, mode, offset, len);
}

int posix_fallocate(int fd, off_t offset, off_t len) {
  REAL(posix_fallocate, posix_fallocate_fn);
  check_fd_unsupported(fd, "posix_fallocate");
  return real_fn(fd, offset, len);
}

int posix_fallocate64(int fd, off_t offset, off_t len) {
  REAL(posix_fallocate64, posix_fallocate_fn);
  check_fd_unsupported(fd, "posix_fallocate");
  return real_fn(fd, offset, len);
}

ssize_t copy_file_range(int in, off_t* in_off, int out, off_t* out_off, size_t len, unsigned flags) {
  REAL(copy_file_range, copy_file_range_fn);
  check_fd_unsupported(out, "copy_file_range");
  return real_fn(in, in_off, out, out_off, len, flags);
}

ssize_t sendfile(int out, int in, off_t* offset, size_t count) {
  REAL(sendfile, sendfile_fn);
  check_fd_unsupported(out, "sendfile");
  return real_fn(out, in, offset, count);
}

ssize_t sendfile64(int out, int in, off_t* offset, size_t count) {
  REAL(sendfile64, sendfile_fn);
  check_fd_unsupported(out, "sendfile");
  return real_fn(out, in, offset, count);
}

void* mmap(void* addr, size_t len, int prot, int flags, int fd, off_t offset) {
  REAL(mmap, mmap_fn);
  check_mmap_unsupported(prot, flags, fd);
  return real_fn(addr, len, prot, flags, fd, offset);
}

void* mmap64(void* addr, size_t len, int prot, int flags, int fd, off_t offset) {
  REAL(mmap64, mmap_fn);
  check_mmap_unsupported(prot, flags, fd);
  return real_fn(addr, len, prot, flags, fd, offset);
}

// --- namespace -------------------------------------------------------------

int mkdir(const char* path, mode_t mode) {
  REAL(mkdir, mkdir_fn);
  return do_mkdir(AT_FDCWD, path, [&] { return real_fn(path, mode); });
}

int mkdirat(int dirfd, const char* path, mode_t mode) {
  REAL(mkdirat, mkdirat_fn);
  return do_mkdir(dirfd, path, [&] { return real_fn(dirfd, path, mode); });
}

int unlink(const char* path) {
  REAL(unlink, path_fn);
  return do_unlink(AT_FDCWD, path, false, [&] { return real_fn(path); });
}

int unlinkat(int dirfd, const char* path, int flags) {
  REAL(unlinkat, unlinkat_fn);
  return do_unlink(dirfd, path, (flags & AT_REMOVEDIR) != 0,
                   [&] { return real_fn(dirfd, path, flags); });
}

int rmdir(const char* path) {
  REAL(rmdir, path_fn);
  return do_unlink(AT_FDCWD, path, true, [&] { return real_fn(path); });
}

// glibc's remove() calls its internal unlink/rmdir, which no wrapper sees.
int remove(const char* path) {
  REAL(remove, path_fn);
  return do_unlink(AT_FDCWD, path, false, [&] { return real_fn(path); });
}

int rename(const char* oldpath, const char* newpath) {
  REAL(rename, rename_fn);
  return do_rename(AT_FDCWD, oldpath, AT_FDCWD, newpath, 0,
                   [&] { return real_fn(oldpath, newpath); });
}

int renameat(int olddirfd, const char* oldpath, int newdirfd, const char* newpath) {
  REAL(renameat, renameat_fn);
  return do_rename(olddirfd, oldpath, newdirfd, newpath, 0,
                   [&] { return real_fn(olddirfd, oldpath, newdirfd, newpath); });
}

int renameat2(int olddirfd, const char* oldpath, int newdirfd, const char* newpath, unsigned flags) {
  REAL(renameat2, renameat2_fn);
  return do_rename(olddirfd, oldpath, newdirfd, newpath, flags,
                   [&] { return real_fn(olddirfd, oldpath, newdirfd, newpath, flags); });
}

int link(const char* from, const char* to) {
  REAL(link, link_fn);
  check_link_target(AT_FDCWD, to, "link");
  return real_fn(from, to);
}

int linkat(int fromfd, const char* from, int tofd, const char* to, int flags) {
  REAL(linkat, linkat_fn);
  check_link_target(tofd, to, "link");
  return real_fn(fromfd, from, tofd, to, flags);
}

int symlink(const char* target, const char* path) {
  REAL(symlink, link_fn);
  check_link_target(AT_FDCWD, path, "symlink");
  return real_fn(target, path);
}

int symlinkat(const char* target, int dirfd, const char* path) {
  REAL(symlinkat, symlinkat_fn);
  check_link_target(dirfd, path, "symlink");
  return real_fn(target, dirfd, path);
}

}  // extern "C"

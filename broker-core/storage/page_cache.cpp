#include "broker-core/storage/page_cache.h"

#include <atomic>
#include <cerrno>
#include <vector>

#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace geomirror::storage {
namespace {

// cachestat(2) is newer than Debian 12's headers; its number is 451 on every
// architecture (Linux 6.5).
constexpr long cachestat_syscall = 451;

struct cachestat_range {
  uint64_t off;
  uint64_t len;
};

struct cachestat_result {
  uint64_t nr_cache;
  uint64_t nr_dirty;
  uint64_t nr_writeback;
  uint64_t nr_evicted;
  uint64_t nr_recently_evicted;
};

std::atomic<bool> cachestat_missing{false};

uint64_t page_size() {
  static const uint64_t size = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  return size;
}

bool resident_by_mincore(int fd, uint64_t first, uint64_t end) {
  const size_t len = static_cast<size_t>(end - first);
  void* map = ::mmap(nullptr, len, PROT_READ, MAP_SHARED, fd, static_cast<off_t>(first));
  if (map == MAP_FAILED) return false;
  std::vector<unsigned char> pages(len / page_size());
  const bool ok = ::mincore(map, len, pages.data()) == 0;
  ::munmap(map, len);
  if (!ok) return false;
  for (unsigned char p : pages) {
    if ((p & 1) == 0) return false;
  }
  return true;
}

}  // namespace

bool in_page_cache(int fd, uint64_t offset, uint64_t length) {
  if (length == 0) return true;
  const uint64_t first = offset / page_size() * page_size();
  const uint64_t end = (offset + length + page_size() - 1) / page_size() * page_size();
  if (!cachestat_missing.load(std::memory_order_relaxed)) {
    cachestat_range range{first, end - first};
    cachestat_result stat{};
    if (::syscall(cachestat_syscall, fd, &range, &stat, 0) == 0) {
      return stat.nr_cache >= (end - first) / page_size();
    }
    if (errno != ENOSYS) return false;
    cachestat_missing.store(true, std::memory_order_relaxed);
  }
  return resident_by_mincore(fd, first, end);
}

}  // namespace geomirror::storage

#pragma once
// Whether reading a file range would wait for the disk: the fetch path asks
// before sending record data from a network thread, and hands cold reads to
// the storage I/O threads instead (issue: no cold read on a network thread).
// Uses cachestat(2) (Linux 6.5+), else mincore(2) over a temporary mapping.
// Thread-safe.

#include <cstdint>

namespace geomirror::storage {

// True if every page of [offset, offset + length) of `fd` is in the page
// cache (also true for an empty range). On an error it answers false, so
// the caller takes the path that may block.
bool in_page_cache(int fd, uint64_t offset, uint64_t length);

}  // namespace geomirror::storage

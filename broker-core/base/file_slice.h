#pragma once
// A byte range of an open file that the network layer sends with sendfile(2),
// so record data goes from the page cache to the socket without passing
// through user space. `owner` keeps the file (and its fd) alive until sent.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace geomirror::base {

struct file_slice {
  std::shared_ptr<const void> owner;
  int fd = -1;
  uint64_t offset = 0;
  uint64_t length = 0;

  bool operator==(const file_slice& o) const {
    return fd == o.fd && offset == o.offset && length == o.length;
  }
};

// A slice to send right before byte `at` of an encoded buffer; a buffer's
// splices are in increasing `at` order.
struct file_splice {
  size_t at = 0;
  file_slice slice;
};
using splice_list = std::vector<file_splice>;

}  // namespace geomirror::base

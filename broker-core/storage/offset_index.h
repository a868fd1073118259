#pragma once
// Sparse offset index of one segment: relative offset -> file position of the
// batch starting there. File `<base>.index`, entries appended back to back:
//
//   offset size field
//   0      4    relative offset int32 BE  (batch base offset - segment base)
//   4      4    position int32 BE         (byte offset of that batch in .log)
//
// One entry per index_interval_bytes of log (the first batch of a segment
// needs none: position 0 is the implicit floor). Relative offsets and
// positions strictly increase. The file is only a cache: it is rebuilt from
// the log whenever it is missing or inconsistent, so entries may be written
// lazily in chunks. The whole index lives in memory as a vector.
//
// Not synchronized: the owning segment/partition_log guards it.

#include "broker-core/records/bytes.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace geomirror::storage {

struct offset_index_entry {
  int32_t relative_offset = 0;
  int32_t position = 0;
};

class offset_index {
 public:
  static constexpr size_t entry_size = 8;

  // REQUIRES: both values greater than those of the last entry.
  void append(int32_t relative_offset, int32_t position);
  // The last entry with relative_offset <= `relative_offset`; nullopt if none.
  std::optional<offset_index_entry> floor(int32_t relative_offset) const;
  // The last entry with position <= `position`; nullopt if none.
  std::optional<offset_index_entry> floor_position(uint64_t position) const;
  const std::vector<offset_index_entry>& entries() const { return entries_; }
  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  void clear() { entries_.clear(); }

  // Encodes entries [from, size()) in file format.
  records::bytes encode(size_t from = 0) const;
  // Decodes and checks a whole index file against a log of `log_size` bytes:
  // size a multiple of 8, offsets >= 0 and positions in [0, log_size), both
  // strictly increasing. nullopt when inconsistent.
  static std::optional<offset_index> decode(records::bytes_view file, uint64_t log_size);

 private:
  std::vector<offset_index_entry> entries_;
};

}  // namespace geomirror::storage

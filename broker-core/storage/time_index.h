#pragma once
// Sparse time index of one segment. File `<base>.timeindex`:
//
//   offset size field
//   0      8    timestamp int64 BE        (largest batch maxTimestamp so far)
//   8      4    relative offset int32 BE  (base offset of the batch holding it
//                                          - segment base)
//
// Like Kafka's, an entry records the running maximum: all batches up to and
// including the one at `relative offset` have maxTimestamp <= `timestamp`.
// Entries are added together with offset-index entries (every
// index_interval_bytes) when the running maximum grew, plus one final entry
// when the segment is sealed at a roll, so the last entry of a sealed segment
// is its (max timestamp, batch holding it). Timestamps strictly increase,
// relative offsets do not decrease. Rebuildable from the log; in memory as a
// vector. Not synchronized: the owner guards it.

#include "broker-core/records/bytes.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace geomirror::storage {

struct time_index_entry {
  int64_t timestamp = 0;
  int32_t relative_offset = 0;
};

class time_index {
 public:
  static constexpr size_t entry_size = 12;

  // Appends when `timestamp` exceeds the last entry's (returns false if not).
  bool maybe_append(int64_t timestamp, int32_t relative_offset);
  // The last entry whose timestamp is strictly below `timestamp`: no batch up
  // to its offset can hold a record at or after `timestamp`.
  std::optional<time_index_entry> last_below(int64_t timestamp) const;
  std::optional<time_index_entry> last() const;
  const std::vector<time_index_entry>& entries() const { return entries_; }
  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  void clear() { entries_.clear(); }

  records::bytes encode(size_t from = 0) const;
  // Checks: size a multiple of 12, timestamps strictly increasing, relative
  // offsets in [0, max_relative_offset] and non-decreasing.
  static std::optional<time_index> decode(records::bytes_view file, int64_t max_relative_offset);

 private:
  std::vector<time_index_entry> entries_;
};

}  // namespace geomirror::storage

#pragma once
// The source->target offset map of one (flow, topic, partition), in memory:
// intervals (source_start, target_start, length), each a run of consecutive
// source offsets that landed on consecutive target offsets (DESIGN.md,
// offset translator). It grows with the gaps (source compaction,
// transaction markers, restarts, other writers on the target), not with the
// records. Fed in delivery order; translation is exact.
//
// Not thread-safe: one owner (the flow's partition worker) feeds and reads it.

#include "offset-translator/offsets.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace geomirror::translator {

struct interval {
  source_offset source_start;
  target_offset target_start;
  int64_t length;  // >= 1

  source_offset source_end() const { return source_start + length; }  // one past the last
  target_offset target_end() const { return target_start + length; }
  bool operator==(const interval&) const = default;
};

// What record() did with a replicated record.
enum class record_outcome {
  extended,      // it continued the last interval
  new_interval,  // a gap on either side (or the first record) opened one
  out_of_order,  // at or below what the map already holds: refused, map unchanged
};

// A committed source offset translated to the target.
struct translation {
  target_offset offset;
  // False when the source offset is past what was replicated: `offset` is the
  // target end for now, and records below the source offset may still come.
  bool exact;
};

class partition_map {
 public:
  partition_map() = default;
  // A map restored from stored intervals (sorted, non-overlapping).
  explicit partition_map(std::vector<interval> intervals);

  // Source record `s` was written to the target at `t` (its delivery report).
  record_outcome record(source_offset s, target_offset t);

  // Kafka's committed offset `s` (the next record the group will read) on the
  // target: the target offset of the first replicated record whose source
  // offset is at or after `s`. Nullopt while nothing is replicated.
  std::optional<translation> translate(source_offset s) const;

  // The next source offset to replicate and the target end after the last
  // replicated record; nullopt while empty.
  std::optional<source_offset> source_end() const;
  std::optional<target_offset> target_end() const;

  const std::vector<interval>& intervals() const { return intervals_; }

  // Index of the first interval changed since the last mark_persisted();
  // intervals().size() when nothing changed.
  size_t first_unpersisted() const { return first_unpersisted_; }
  void mark_persisted() { first_unpersisted_ = intervals_.size(); }

 private:
  std::vector<interval> intervals_;
  size_t first_unpersisted_ = 0;
};

}  // namespace geomirror::translator

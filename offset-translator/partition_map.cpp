#include "offset-translator/partition_map.h"

#include <algorithm>
#include <utility>

namespace geomirror::translator {

partition_map::partition_map(std::vector<interval> intervals)
    : intervals_(std::move(intervals)), first_unpersisted_(intervals_.size()) {}

record_outcome partition_map::record(source_offset s, target_offset t) {
  if (!intervals_.empty()) {
    interval& last = intervals_.back();
    if (s < last.source_end() || t < last.target_end()) return record_outcome::out_of_order;
    if (s == last.source_end() && t == last.target_end()) {
      ++last.length;
      first_unpersisted_ = std::min(first_unpersisted_, intervals_.size() - 1);
      return record_outcome::extended;
    }
  }
  intervals_.push_back({s, t, 1});
  first_unpersisted_ = std::min(first_unpersisted_, intervals_.size() - 1);
  return record_outcome::new_interval;
}

std::optional<translation> partition_map::translate(source_offset s) const {
  if (intervals_.empty()) return std::nullopt;
  const interval& last = intervals_.back();
  if (s >= last.source_end()) return translation{last.target_end(), s == last.source_end()};
  // The first interval that ends after s: s is inside it, or in the gap before it.
  auto it = std::upper_bound(intervals_.begin(), intervals_.end(), s,
                             [](source_offset v, const interval& i) { return v < i.source_end(); });
  if (s <= it->source_start) return translation{it->target_start, true};
  return translation{it->target_start + (s - it->source_start), true};
}

std::optional<source_offset> partition_map::source_end() const {
  if (intervals_.empty()) return std::nullopt;
  return intervals_.back().source_end();
}

std::optional<target_offset> partition_map::target_end() const {
  if (intervals_.empty()) return std::nullopt;
  return intervals_.back().target_end();
}

}  // namespace geomirror::translator

#include "broker-core/storage/time_index.h"

#include "broker-core/base/endian.h"

#include <algorithm>

namespace geomirror::storage {

bool time_index::maybe_append(int64_t timestamp, int32_t relative_offset) {
  if (!entries_.empty() && timestamp <= entries_.back().timestamp) return false;
  entries_.push_back({timestamp, relative_offset});
  return true;
}

std::optional<time_index_entry> time_index::last_below(int64_t timestamp) const {
  auto it = std::lower_bound(
      entries_.begin(), entries_.end(), timestamp,
      [](const time_index_entry& e, int64_t v) { return e.timestamp < v; });
  if (it == entries_.begin()) return std::nullopt;
  return *std::prev(it);
}

std::optional<time_index_entry> time_index::last() const {
  if (entries_.empty()) return std::nullopt;
  return entries_.back();
}

records::bytes time_index::encode(size_t from) const {
  records::bytes out((entries_.size() - std::min(from, entries_.size())) * entry_size);
  uint8_t* p = out.data();
  for (size_t i = from; i < entries_.size(); ++i, p += entry_size) {
    base::store_be64(p, static_cast<uint64_t>(entries_[i].timestamp));
    base::store_be32(p + 8, static_cast<uint32_t>(entries_[i].relative_offset));
  }
  return out;
}

std::optional<time_index> time_index::decode(records::bytes_view file,
                                             int64_t max_relative_offset) {
  if (file.size() % entry_size != 0) return std::nullopt;
  time_index idx;
  idx.entries_.reserve(file.size() / entry_size);
  for (size_t at = 0; at < file.size(); at += entry_size) {
    const auto ts = static_cast<int64_t>(base::load_be64(file.data() + at));
    const auto rel = static_cast<int32_t>(base::load_be32(file.data() + at + 8));
    if (rel < 0 || rel > max_relative_offset) return std::nullopt;
    if (!idx.entries_.empty() &&
        (ts <= idx.entries_.back().timestamp || rel < idx.entries_.back().relative_offset)) {
      return std::nullopt;
    }
    idx.entries_.push_back({ts, rel});
  }
  return idx;
}

}  // namespace geomirror::storage

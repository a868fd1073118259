#include "broker-core/storage/offset_index.h"

#include "broker-core/base/endian.h"

#include <algorithm>

namespace geomirror::storage {

void offset_index::append(int32_t relative_offset, int32_t position) {
  entries_.push_back({relative_offset, position});
}

std::optional<offset_index_entry> offset_index::floor(int32_t relative_offset) const {
  auto it = std::upper_bound(
      entries_.begin(), entries_.end(), relative_offset,
      [](int32_t v, const offset_index_entry& e) { return v < e.relative_offset; });
  if (it == entries_.begin()) return std::nullopt;
  return *std::prev(it);
}

std::optional<offset_index_entry> offset_index::floor_position(uint64_t position) const {
  auto it = std::upper_bound(entries_.begin(), entries_.end(), position, [](uint64_t v, const offset_index_entry& e) {
    return v < static_cast<uint64_t>(e.position);
  });
  if (it == entries_.begin()) return std::nullopt;
  return *std::prev(it);
}

records::bytes offset_index::encode(size_t from) const {
  records::bytes out((entries_.size() - std::min(from, entries_.size())) * entry_size);
  uint8_t* p = out.data();
  for (size_t i = from; i < entries_.size(); ++i, p += entry_size) {
    base::store_be32(p, static_cast<uint32_t>(entries_[i].relative_offset));
    base::store_be32(p + 4, static_cast<uint32_t>(entries_[i].position));
  }
  return out;
}

std::optional<offset_index> offset_index::decode(records::bytes_view file, uint64_t log_size) {
  if (file.size() % entry_size != 0) return std::nullopt;
  offset_index idx;
  idx.entries_.reserve(file.size() / entry_size);
  int64_t last_offset = -1;
  int64_t last_position = -1;
  for (size_t at = 0; at < file.size(); at += entry_size) {
    const auto rel = static_cast<int32_t>(base::load_be32(file.data() + at));
    const auto pos = static_cast<int32_t>(base::load_be32(file.data() + at + 4));
    if (rel <= last_offset || pos <= last_position || static_cast<uint64_t>(pos) >= log_size) {
      return std::nullopt;
    }
    last_offset = rel;
    last_position = pos;
    idx.entries_.push_back({rel, pos});
  }
  return idx;
}

}  // namespace geomirror::storage

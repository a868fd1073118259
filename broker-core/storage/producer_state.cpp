#include "broker-core/storage/producer_state.h"

#include "broker-core/base/endian.h"
#include "broker-core/records/crc32c.h"
#include "broker-core/storage/errc.h"

#include <algorithm>

namespace geomirror::storage {
namespace {

constexpr int16_t snapshot_version = 1;
constexpr size_t snapshot_header_bytes = 18;
constexpr size_t producer_header_bytes = 19;
constexpr size_t batch_bytes = 32;
constexpr size_t crc_start = 6;
constexpr int64_t sequence_modulus = int64_t{INT32_MAX} + 1;

}  // namespace

void producer_entry::push(const producer_batch& b) {
  if (count == max_batches) {
    std::move(batches.begin() + 1, batches.end(), batches.begin());
    --count;
  }
  batches[count++] = b;
}

int32_t last_sequence_of(const records::batch_header& h) {
  return static_cast<int32_t>((int64_t{h.base_sequence} + h.last_offset_delta) % sequence_modulus);
}

bool in_sequence(int32_t last, int32_t next) {
  return int64_t{next} == int64_t{last} + 1 || (next == 0 && last == INT32_MAX);
}

result<std::optional<producer_batch>> producer_state_table::check(
    const records::batch_header& h) const {
  auto it = producers_.find(h.producer_id);
  if (it == producers_.end()) return std::optional<producer_batch>{};  // unknown: any sequence
  const producer_entry& e = it->second;
  if (h.producer_epoch == e.epoch) {
    const int32_t last_seq = last_sequence_of(h);
    for (uint8_t i = 0; i < e.count; ++i) {
      const producer_batch& b = e.batches[i];
      if (b.first_sequence == h.base_sequence && b.last_sequence == last_seq) {
        return std::optional<producer_batch>(b);
      }
    }
  }
  if (h.producer_epoch < e.epoch) return errc::invalid_producer_epoch;
  if (h.producer_epoch > e.epoch) {
    // A bumped epoch restarts the sequence (unless no epoch was known).
    if (h.base_sequence != 0 && e.epoch != records::no_producer_epoch) {
      return errc::out_of_order_sequence;
    }
  } else if (e.count > 0 && !in_sequence(e.last().last_sequence, h.base_sequence)) {
    return errc::out_of_order_sequence;
  }
  return std::optional<producer_batch>{};
}

void producer_state_table::on_append(const records::batch_header& h, int64_t now_ms) {
  producer_entry& e = producers_[h.producer_id];
  if (h.producer_epoch != e.epoch) {
    e.epoch = h.producer_epoch;
    e.count = 0;
  }
  e.push({h.base_sequence, last_sequence_of(h), h.base_offset, h.last_offset(), h.max_timestamp});
  e.last_timestamp = std::max(h.max_timestamp, now_ms);
}

void producer_state_table::on_replay(const records::batch_header& h, int64_t min_timestamp) {
  auto [it, inserted] = producers_.try_emplace(h.producer_id);
  producer_entry& e = it->second;
  if (!inserted && h.producer_epoch < e.epoch) return;
  if (inserted || h.producer_epoch > e.epoch) {
    e.epoch = h.producer_epoch;
    e.count = 0;
  }
  e.push({h.base_sequence, last_sequence_of(h), h.base_offset, h.last_offset(), h.max_timestamp});
  e.last_timestamp = std::max(h.max_timestamp, min_timestamp);
}

size_t producer_state_table::remove_expired(int64_t now_ms, int64_t expiration_ms) {
  const int64_t limit = now_ms - expiration_ms;  // written this way it cannot overflow
  return std::erase_if(producers_,
                       [&](const auto& kv) { return kv.second.last_timestamp <= limit; });
}

size_t producer_state_table::truncate_head(int64_t log_start_offset) {
  return std::erase_if(producers_,
                       [&](const auto& kv) { return kv.second.last_offset() < log_start_offset; });
}

const producer_entry* producer_state_table::find(int64_t producer_id) const {
  auto it = producers_.find(producer_id);
  return it == producers_.end() ? nullptr : &it->second;
}

std::unordered_map<int64_t, int64_t> producer_state_table::last_offsets() const {
  std::unordered_map<int64_t, int64_t> out;
  out.reserve(producers_.size());
  for (const auto& [id, e] : producers_) out.emplace(id, e.last_offset());
  return out;
}

records::bytes producer_state_table::encode_snapshot(int64_t offset) const {
  size_t size = snapshot_header_bytes;
  for (const auto& [id, e] : producers_) size += producer_header_bytes + e.count * batch_bytes;
  records::bytes out(size);
  uint8_t* p = out.data();
  base::store_be16(p, static_cast<uint16_t>(snapshot_version));
  base::store_be64(p + 6, static_cast<uint64_t>(offset));
  base::store_be32(p + 14, static_cast<uint32_t>(producers_.size()));
  size_t at = snapshot_header_bytes;
  for (const auto& [id, e] : producers_) {
    base::store_be64(p + at, static_cast<uint64_t>(id));
    base::store_be16(p + at + 8, static_cast<uint16_t>(e.epoch));
    base::store_be64(p + at + 10, static_cast<uint64_t>(e.last_timestamp));
    p[at + 18] = e.count;
    at += producer_header_bytes;
    for (uint8_t i = 0; i < e.count; ++i) {
      const producer_batch& b = e.batches[i];
      base::store_be32(p + at, static_cast<uint32_t>(b.first_sequence));
      base::store_be32(p + at + 4, static_cast<uint32_t>(b.last_sequence));
      base::store_be64(p + at + 8, static_cast<uint64_t>(b.first_offset));
      base::store_be64(p + at + 16, static_cast<uint64_t>(b.last_offset));
      base::store_be64(p + at + 24, static_cast<uint64_t>(b.max_timestamp));
      at += batch_bytes;
    }
  }
  base::store_be32(p + 2, records::crc32c(records::bytes_view(out).subspan(crc_start)));
  return out;
}

result<producer_state_table> producer_state_table::decode_snapshot(records::bytes_view data,
                                                                   int64_t offset) {
  if (data.size() < snapshot_header_bytes) return errc::corrupt;
  const uint8_t* p = data.data();
  if (static_cast<int16_t>(base::load_be16(p)) != snapshot_version) return errc::corrupt;
  if (base::load_be32(p + 2) != records::crc32c(data.subspan(crc_start))) return errc::corrupt;
  if (static_cast<int64_t>(base::load_be64(p + 6)) != offset) return errc::corrupt;
  const auto count = static_cast<int32_t>(base::load_be32(p + 14));
  if (count < 0 || static_cast<size_t>(count) > (data.size() - snapshot_header_bytes) /
                                                    (producer_header_bytes + batch_bytes)) {
    return errc::corrupt;
  }
  producer_state_table table;
  table.producers_.reserve(static_cast<size_t>(count));
  size_t at = snapshot_header_bytes;
  for (int32_t n = 0; n < count; ++n) {
    if (data.size() - at < producer_header_bytes) return errc::corrupt;
    const auto id = static_cast<int64_t>(base::load_be64(p + at));
    producer_entry e;
    e.epoch = static_cast<int16_t>(base::load_be16(p + at + 8));
    e.last_timestamp = static_cast<int64_t>(base::load_be64(p + at + 10));
    const uint8_t batches = p[at + 18];
    at += producer_header_bytes;
    if (id < 0 || batches == 0 || batches > producer_entry::max_batches ||
        data.size() - at < batches * batch_bytes) {
      return errc::corrupt;
    }
    for (uint8_t i = 0; i < batches; ++i) {
      producer_batch b;
      b.first_sequence = static_cast<int32_t>(base::load_be32(p + at));
      b.last_sequence = static_cast<int32_t>(base::load_be32(p + at + 4));
      b.first_offset = static_cast<int64_t>(base::load_be64(p + at + 8));
      b.last_offset = static_cast<int64_t>(base::load_be64(p + at + 16));
      b.max_timestamp = static_cast<int64_t>(base::load_be64(p + at + 24));
      at += batch_bytes;
      if (b.first_sequence < 0 || b.last_sequence < 0 || b.first_offset < 0 ||
          b.last_offset < b.first_offset || b.last_offset >= offset ||
          (e.count > 0 && b.first_offset <= e.last().last_offset)) {
        return errc::corrupt;
      }
      e.push(b);
    }
    if (!table.producers_.emplace(id, e).second) return errc::corrupt;
  }
  if (at != data.size()) return errc::corrupt;
  return table;
}

}  // namespace geomirror::storage

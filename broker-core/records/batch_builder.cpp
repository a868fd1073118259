#include "broker-core/base/endian.h"
#include "broker-core/records/crc32c.h"
#include "broker-core/records/record.h"
#include "broker-core/records/varint.h"

#include <algorithm>

namespace geomirror::records {
namespace {

void put_nullable(bytes& out, std::optional<bytes_view> v) {
  if (!v) {
    put_varint(out, -1);
    return;
  }
  put_varint(out, static_cast<int32_t>(v->size()));
  out.insert(out.end(), v->begin(), v->end());
}

size_t nullable_size(std::optional<bytes_view> v) {
  return v ? varlong_size(static_cast<int64_t>(v->size())) + v->size() : varlong_size(-1);
}

}  // namespace

void encode_record(bytes& out, int8_t attributes, int64_t timestamp_delta, int32_t offset_delta,
                   std::optional<bytes_view> key, std::optional<bytes_view> value,
                   std::span<const record_header_view> headers) {
  // Size the body first so it is written once, straight into `out`.
  size_t body = 1 + varlong_size(timestamp_delta) + varlong_size(offset_delta) +
                nullable_size(key) + nullable_size(value) +
                varlong_size(static_cast<int64_t>(headers.size()));
  for (const auto& h : headers) {
    body += varlong_size(static_cast<int64_t>(h.key.size())) + h.key.size() + nullable_size(h.value);
  }
  put_varint(out, static_cast<int32_t>(body));
  out.push_back(static_cast<uint8_t>(attributes));
  put_varlong(out, timestamp_delta);
  put_varint(out, offset_delta);
  put_nullable(out, key);
  put_nullable(out, value);
  put_varint(out, static_cast<int32_t>(headers.size()));
  for (const auto& h : headers) {
    put_varint(out, static_cast<int32_t>(h.key.size()));
    out.insert(out.end(), h.key.begin(), h.key.end());
    put_nullable(out, h.value);
  }
}

batch_builder& batch_builder::set_base_offset(int64_t offset) {
  base_offset_ = offset;
  return *this;
}

batch_builder& batch_builder::set_partition_leader_epoch(int32_t epoch) {
  partition_leader_epoch_ = epoch;
  return *this;
}

batch_builder& batch_builder::set_producer(int64_t producer_id, int16_t producer_epoch,
                                           int32_t base_sequence) {
  producer_id_ = producer_id;
  producer_epoch_ = producer_epoch;
  base_sequence_ = base_sequence;
  return *this;
}

batch_builder& batch_builder::set_transactional(bool transactional) {
  transactional_ = transactional;
  return *this;
}

batch_builder& batch_builder::set_control(bool control) {
  control_ = control;
  return *this;
}

batch_builder& batch_builder::add(int64_t timestamp, std::optional<bytes_view> key,
                                  std::optional<bytes_view> value,
                                  const std::vector<record_header>& headers) {
  if (count_ == 0) {
    base_timestamp_ = timestamp;
    max_timestamp_ = timestamp;
  }
  max_timestamp_ = std::max(max_timestamp_, timestamp);
  std::vector<record_header_view> views;
  views.reserve(headers.size());
  for (const auto& h : headers) {
    views.push_back({as_bytes_view(h.key),
                     h.value ? std::optional<bytes_view>(*h.value) : std::nullopt});
  }
  encode_record(records_, 0, timestamp - base_timestamp_, static_cast<int32_t>(count_), key, value,
                views);
  ++count_;
  return *this;
}

batch_builder& batch_builder::add(std::optional<std::string_view> key,
                                  std::optional<std::string_view> value, int64_t timestamp,
                                  const std::vector<record_header>& headers) {
  return add(timestamp, key ? std::optional<bytes_view>(as_bytes_view(*key)) : std::nullopt,
             value ? std::optional<bytes_view>(as_bytes_view(*value)) : std::nullopt, headers);
}

bytes batch_builder::build() const {
  namespace L = batch_layout;
  bytes payload = codec_ == compression_codec::none ? bytes{} : compress(codec_, records_);
  const bytes& section = codec_ == compression_codec::none ? records_ : payload;
  bytes out(batch_header_size + section.size());
  uint8_t* p = out.data();
  int16_t attributes = static_cast<int16_t>(codec_);
  if (transactional_) attributes |= batch_attributes::transactional;
  if (control_) attributes |= batch_attributes::control;
  base::store_be64(p + L::base_offset, static_cast<uint64_t>(base_offset_));
  base::store_be32(p + L::length, static_cast<uint32_t>(out.size() - log_overhead));
  base::store_be32(p + L::partition_leader_epoch, static_cast<uint32_t>(partition_leader_epoch_));
  p[L::magic] = static_cast<uint8_t>(current_magic);
  base::store_be16(p + L::attributes, static_cast<uint16_t>(attributes));
  base::store_be32(p + L::last_offset_delta,
             static_cast<uint32_t>(count_ == 0 ? 0 : static_cast<int32_t>(count_) - 1));
  base::store_be64(p + L::base_timestamp, static_cast<uint64_t>(base_timestamp_));
  base::store_be64(p + L::max_timestamp, static_cast<uint64_t>(max_timestamp_));
  base::store_be64(p + L::producer_id, static_cast<uint64_t>(producer_id_));
  base::store_be16(p + L::producer_epoch, static_cast<uint16_t>(producer_epoch_));
  base::store_be32(p + L::base_sequence, static_cast<uint32_t>(base_sequence_));
  base::store_be32(p + L::records_count, static_cast<uint32_t>(count_));
  std::copy(section.begin(), section.end(), out.begin() + L::records);
  base::store_be32(p + L::crc, crc32c(bytes_view(out).subspan(L::attributes)));
  return out;
}

}  // namespace geomirror::records

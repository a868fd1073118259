#pragma once
// Zigzag variable-length integers as used inside RecordBatch v2 records
// (RECORDS.md §2.5): protobuf-style base-128 groups, least significant first,
// after mapping n -> (n << 1) ^ (n >> 63). Every varint in a record, lengths
// included, is zigzag-encoded. Header-only; all functions are pure.

#include "broker-core/records/bytes.h"

#include <cstdint>
#include <optional>

namespace geomirror::records {

inline constexpr size_t max_varint32_bytes = 5;
inline constexpr size_t max_varint64_bytes = 10;

inline uint64_t zigzag_encode(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
inline int64_t zigzag_decode(uint64_t u) {
  return static_cast<int64_t>(u >> 1) ^ -static_cast<int64_t>(u & 1);
}

// Appends the zigzag varint encoding of `v` to `out`.
inline void put_varlong(bytes& out, int64_t v) {
  uint64_t u = zigzag_encode(v);
  while (u >= 0x80) {
    out.push_back(static_cast<uint8_t>(u | 0x80));
    u >>= 7;
  }
  out.push_back(static_cast<uint8_t>(u));
}
inline void put_varint(bytes& out, int32_t v) { put_varlong(out, v); }

// Number of bytes put_varlong(v) writes.
inline size_t varlong_size(int64_t v) {
  uint64_t u = zigzag_encode(v);
  size_t n = 1;
  while (u >= 0x80) {
    u >>= 7;
    ++n;
  }
  return n;
}

// A bounds-checked cursor over a byte span. Every getter returns nullopt
// (and leaves the cursor unusable) when the data is too short or the varint
// is over-long; callers turn that into records::errc::invalid_record.
class byte_cursor {
 public:
  explicit byte_cursor(bytes_view data) : data_(data) {}

  size_t position() const { return pos_; }
  size_t remaining() const { return data_.size() - pos_; }
  bool at_end() const { return pos_ == data_.size(); }

  std::optional<int64_t> varlong() { return varint_impl(max_varint64_bytes); }

  std::optional<int32_t> varint() {
    auto v = varint_impl(max_varint32_bytes);
    if (!v || *v < INT32_MIN || *v > INT32_MAX) return std::nullopt;
    return static_cast<int32_t>(*v);
  }

  std::optional<int8_t> int8() {
    if (remaining() < 1) return std::nullopt;
    return static_cast<int8_t>(data_[pos_++]);
  }

  // `n` raw bytes as a view into the underlying data.
  std::optional<bytes_view> take(size_t n) {
    if (remaining() < n) return std::nullopt;
    bytes_view v = data_.subspan(pos_, n);
    pos_ += n;
    return v;
  }

 private:
  std::optional<int64_t> varint_impl(size_t max_bytes) {
    uint64_t u = 0;
    for (size_t i = 0; i < max_bytes; ++i) {
      if (pos_ >= data_.size()) return std::nullopt;
      const uint8_t b = data_[pos_++];
      u |= static_cast<uint64_t>(b & 0x7f) << (7 * i);
      if ((b & 0x80) == 0) return zigzag_decode(u);
    }
    return std::nullopt;  // too many continuation bytes
  }

  bytes_view data_;
  size_t pos_ = 0;
};

}  // namespace geomirror::records

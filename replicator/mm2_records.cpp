#include "replicator/mm2_records.h"

#include "broker-core/base/endian.h"

#include <limits>
#include <stdexcept>
#include <utility>

namespace geomirror::replicator {
namespace {

constexpr int16_t mm2_record_version = 0;

class struct_writer {
 public:
  struct_writer& int16(int16_t v) {
    base::store_be16(grow(2), static_cast<uint16_t>(v));
    return *this;
  }
  struct_writer& int32(int32_t v) {
    base::store_be32(grow(4), static_cast<uint32_t>(v));
    return *this;
  }
  struct_writer& int64(int64_t v) {
    base::store_be64(grow(8), static_cast<uint64_t>(v));
    return *this;
  }
  struct_writer& string(const std::string& s) {
    // Kafka's STRING refuses more than 32767 bytes; so do we, rather than wrap.
    if (s.size() > static_cast<size_t>(std::numeric_limits<int16_t>::max())) {
      throw std::length_error("MM2 record string of " + std::to_string(s.size()) + " bytes (at most 32767)");
    }
    int16(static_cast<int16_t>(s.size()));
    out_.insert(out_.end(), s.begin(), s.end());
    return *this;
  }
  record_bytes take() { return std::move(out_); }

 private:
  uint8_t* grow(size_t n) {
    out_.resize(out_.size() + n);
    return out_.data() + out_.size() - n;
  }
  record_bytes out_;
};

// Reads fields in order; any shortfall or a negative string length makes
// ok() false and every later read return zero.
class struct_reader {
 public:
  explicit struct_reader(const record_bytes& in) : in_(in) {}
  int16_t int16() { return take(2) ? static_cast<int16_t>(base::load_be16(last())) : 0; }
  int32_t int32() { return take(4) ? static_cast<int32_t>(base::load_be32(last())) : 0; }
  int64_t int64() { return take(8) ? static_cast<int64_t>(base::load_be64(last())) : 0; }
  std::string string() {
    const int16_t n = int16();
    if (n < 0 || !take(static_cast<size_t>(n))) {
      ok_ = false;
      return {};
    }
    return std::string(in_.begin() + static_cast<long>(at_ - static_cast<size_t>(n)),
                       in_.begin() + static_cast<long>(at_));
  }
  bool ok() const { return ok_; }

 private:
  bool take(size_t n) {
    if (!ok_ || in_.size() - at_ < n) {
      ok_ = false;
      return false;
    }
    at_ += n;
    last_ = n;
    return true;
  }
  const uint8_t* last() const { return in_.data() + at_ - last_; }  // the bytes take() just passed
  const record_bytes& in_;
  size_t at_ = 0;
  size_t last_ = 0;
  bool ok_ = true;
};

}  // namespace

record_bytes checkpoint_key(const checkpoint& c) {
  return struct_writer().string(c.group).string(c.topic).int32(c.partition).take();
}

record_bytes checkpoint_value(const checkpoint& c) {
  return struct_writer()
      .int16(mm2_record_version)
      .int64(c.upstream_offset.value())
      .int64(c.downstream_offset.value())
      .string(c.metadata)
      .take();
}

std::optional<checkpoint> decode_checkpoint(const record_bytes& key, const record_bytes& value) {
  struct_reader k(key), v(value);
  checkpoint c;
  c.group = k.string();
  c.topic = k.string();
  c.partition = k.int32();
  if (v.int16() != mm2_record_version) return std::nullopt;
  c.upstream_offset = translator::source_offset(v.int64());
  c.downstream_offset = translator::target_offset(v.int64());
  c.metadata = v.string();
  if (!k.ok() || !v.ok()) return std::nullopt;
  return c;
}

record_bytes heartbeat_key(const heartbeat& h) {
  return struct_writer().string(h.source_cluster_alias).string(h.target_cluster_alias).take();
}

record_bytes heartbeat_value(const heartbeat& h) {
  return struct_writer().int16(mm2_record_version).int64(h.timestamp_ms).take();
}

std::optional<heartbeat> decode_heartbeat(const record_bytes& key, const record_bytes& value) {
  struct_reader k(key), v(value);
  heartbeat h;
  h.source_cluster_alias = k.string();
  h.target_cluster_alias = k.string();
  if (v.int16() != mm2_record_version) return std::nullopt;
  h.timestamp_ms = v.int64();
  if (!k.ok() || !v.ok()) return std::nullopt;
  return h;
}

}  // namespace geomirror::replicator

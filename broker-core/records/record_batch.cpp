#include "broker-core/records/record_batch.h"

#include "broker-core/base/endian.h"
#include "broker-core/base/invariant.h"
#include "broker-core/records/crc32c.h"
#include "broker-core/records/errc.h"
#include "broker-core/records/record.h"

namespace geomirror::records {
namespace {

namespace L = batch_layout;

batch_header read_header(const uint8_t* p) {
  batch_header h;
  h.base_offset = static_cast<int64_t>(base::load_be64(p + L::base_offset));
  h.batch_length = static_cast<int32_t>(base::load_be32(p + L::length));
  h.partition_leader_epoch = static_cast<int32_t>(base::load_be32(p + L::partition_leader_epoch));
  h.magic = static_cast<int8_t>(p[L::magic]);
  h.crc = base::load_be32(p + L::crc);
  h.attributes = static_cast<int16_t>(base::load_be16(p + L::attributes));
  h.last_offset_delta = static_cast<int32_t>(base::load_be32(p + L::last_offset_delta));
  h.base_timestamp = static_cast<int64_t>(base::load_be64(p + L::base_timestamp));
  h.max_timestamp = static_cast<int64_t>(base::load_be64(p + L::max_timestamp));
  h.producer_id = static_cast<int64_t>(base::load_be64(p + L::producer_id));
  h.producer_epoch = static_cast<int16_t>(base::load_be16(p + L::producer_epoch));
  h.base_sequence = static_cast<int32_t>(base::load_be32(p + L::base_sequence));
  h.records_count = static_cast<int32_t>(base::load_be32(p + L::records_count));
  return h;
}

// Smallest possible encoded record: length, attributes, timestampDelta,
// offsetDelta, keyLength, valueLength, headerCount -- one byte each.
constexpr int64_t min_record_bytes = 7;

// Structural checks on the records of a batch whose header is already
// known to be sane.
result<void> check_records(const batch_header& h, bytes_view batch, bool produced,
                           bool check_compressed, size_t max_decompressed) {
  const auto codec = h.compression();
  const bool compressed = *codec != compression_codec::none;
  if (compressed && !check_compressed) return outcome::success();
  int32_t expected_delta = 0;
  const auto visit = [&](const record_view& r) {
    if (produced && r.offset_delta != expected_delta) {
      expected_delta = -1;
      return false;
    }
    ++expected_delta;
    return true;
  };
  auto walked = compressed ? for_each_record(batch, visit, max_decompressed)
                           : for_each_record_in_section(h, batch.subspan(L::records), visit);
  if (!walked) return walked.error();
  if (expected_delta < 0) return errc::invalid_offset_delta;
  return outcome::success();
}

result<batch_header> validate_impl(bytes_view data, bool produced, bool check_compressed,
                                   size_t max_decompressed) {
  if (data.size() < batch_header_size) return errc::batch_too_short;
  auto parsed = parse_batch_header(data);
  if (!parsed) return parsed.error();
  const batch_header& h = parsed.value();
  if (h.size_bytes() != data.size()) {
    return h.size_bytes() > data.size() ? errc::batch_too_short : errc::length_mismatch;
  }
  if (h.crc != compute_batch_crc(data)) return errc::crc_mismatch;
  if ((h.attributes & ~batch_attributes::known_bits) != 0) return errc::invalid_attributes;
  if (!h.compression()) return errc::unsupported_compression;
  if (h.last_offset_delta < 0) return errc::invalid_last_offset_delta;
  if (h.records_count < 0) return errc::invalid_records_count;
  // More records than offsets is impossible (compaction may remove records,
  // never add offsets).
  if (static_cast<int64_t>(h.records_count) > static_cast<int64_t>(h.last_offset_delta) + 1) {
    return errc::invalid_records_count;
  }
  const int64_t section = static_cast<int64_t>(data.size() - batch_header_size);
  if (*h.compression() == compression_codec::none &&
      h.records_count > section / min_record_bytes) {
    return errc::invalid_records_count;
  }
  if (produced) {
    if (h.base_offset != 0) return errc::invalid_base_offset;
    if (h.is_control()) return errc::control_batch_not_allowed;
    if (h.records_count == 0) return errc::invalid_records_count;
    if (static_cast<int64_t>(h.records_count) != static_cast<int64_t>(h.last_offset_delta) + 1) {
      return errc::records_count_mismatch;
    }
  }
  if (auto r = check_records(h, data, produced, check_compressed, max_decompressed); !r) {
    return r.error();
  }
  return h;
}

}  // namespace

result<batch_header> parse_batch_header(bytes_view data) {
  if (data.size() < batch_header_size) return errc::batch_too_short;
  if (static_cast<int8_t>(data[L::magic]) != current_magic) return errc::unsupported_magic;
  batch_header h = read_header(data.data());
  if (h.batch_length < min_batch_length) return errc::invalid_length;
  return h;
}

result<batch_header> validate_batch(bytes_view data) {
  return validate_impl(data, false, false, 0);
}

result<batch_header> validate_produced_batch(bytes_view data, bool check_compressed_records,
                                             size_t max_decompressed) {
  return validate_impl(data, true, check_compressed_records, max_decompressed);
}

uint32_t compute_batch_crc(bytes_view batch) {
  GEOMIRROR_INVARIANT(batch.size() >= batch_header_size, "batch of {} bytes", batch.size());
  return crc32c(batch.subspan(L::attributes));
}

void set_base_offset(std::span<uint8_t> batch, int64_t base_offset) {
  GEOMIRROR_INVARIANT(batch.size() >= batch_header_size, "batch of {} bytes", batch.size());
  base::store_be64(batch.data() + L::base_offset, static_cast<uint64_t>(base_offset));
}

void set_partition_leader_epoch(std::span<uint8_t> batch, int32_t epoch) {
  GEOMIRROR_INVARIANT(batch.size() >= batch_header_size, "batch of {} bytes", batch.size());
  base::store_be32(batch.data() + L::partition_leader_epoch, static_cast<uint32_t>(epoch));
}

void set_log_append_time(std::span<uint8_t> batch, int64_t timestamp_ms) {
  GEOMIRROR_INVARIANT(batch.size() >= batch_header_size, "batch of {} bytes", batch.size());
  const auto attrs = static_cast<uint16_t>(base::load_be16(batch.data() + L::attributes) |
                                           batch_attributes::timestamp_type);
  base::store_be16(batch.data() + L::attributes, attrs);
  base::store_be64(batch.data() + L::max_timestamp, static_cast<uint64_t>(timestamp_ms));
  base::store_be32(batch.data() + L::crc, compute_batch_crc(batch));
}

std::optional<batch_view> batch_iterator::next() {
  if (done_) return std::nullopt;
  const size_t pos = result_.position;
  const size_t left = data_.size() - pos;
  const auto stop = [&](scan_stop why, std::error_code ec = {}) -> std::optional<batch_view> {
    done_ = true;
    result_.reason = why;
    result_.error = ec;
    return std::nullopt;
  };
  if (left == 0) return stop(scan_stop::end);
  if (left < batch_header_size) {
    // A cut-off header is partial unless even its length field is nonsense.
    if (left >= log_overhead &&
        static_cast<int32_t>(base::load_be32(data_.data() + pos + L::length)) < min_batch_length) {
      return stop(scan_stop::invalid, errc::invalid_length);
    }
    return stop(scan_stop::partial);
  }
  auto h = parse_batch_header(data_.subspan(pos));
  if (!h) return stop(scan_stop::invalid, h.error());
  const size_t size = h.value().size_bytes();
  if (size > left) return stop(scan_stop::partial);
  bytes_view batch = data_.subspan(pos, size);
  if (verify_crc_ && compute_batch_crc(batch) != h.value().crc) {
    return stop(scan_stop::invalid, errc::crc_mismatch);
  }
  result_.position = pos + size;
  return batch_view{pos, h.value(), batch};
}

}  // namespace geomirror::records

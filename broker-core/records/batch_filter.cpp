#include "broker-core/records/batch_filter.h"

#include "broker-core/base/endian.h"
#include "broker-core/records/crc32c.h"
#include "broker-core/records/errc.h"

#include <algorithm>
#include <vector>

namespace geomirror::records {
namespace {

namespace L = batch_layout;

// Encodes header `h` (length and CRC computed here) followed by `section`,
// the records as they go on disk (compressed when the codec says so).
bytes build_batch(const batch_header& h, bytes_view section) {
  bytes out(batch_header_size + section.size());
  uint8_t* p = out.data();
  base::store_be64(p + L::base_offset, static_cast<uint64_t>(h.base_offset));
  base::store_be32(p + L::length, static_cast<uint32_t>(out.size() - log_overhead));
  base::store_be32(p + L::partition_leader_epoch, static_cast<uint32_t>(h.partition_leader_epoch));
  p[L::magic] = static_cast<uint8_t>(current_magic);
  base::store_be16(p + L::attributes, static_cast<uint16_t>(h.attributes));
  base::store_be32(p + L::last_offset_delta, static_cast<uint32_t>(h.last_offset_delta));
  base::store_be64(p + L::base_timestamp, static_cast<uint64_t>(h.base_timestamp));
  base::store_be64(p + L::max_timestamp, static_cast<uint64_t>(h.max_timestamp));
  base::store_be64(p + L::producer_id, static_cast<uint64_t>(h.producer_id));
  base::store_be16(p + L::producer_epoch, static_cast<uint16_t>(h.producer_epoch));
  base::store_be32(p + L::base_sequence, static_cast<uint32_t>(h.base_sequence));
  base::store_be32(p + L::records_count, static_cast<uint32_t>(h.records_count));
  std::copy(section.begin(), section.end(), out.begin() + L::records);
  base::store_be32(p + L::crc, crc32c(bytes_view(out).subspan(L::attributes)));
  return out;
}

// Timestamp arithmetic wraps like Java's longs (a hostile batch must not be UB).
int64_t wrapping_add(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
}
int64_t wrapping_sub(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) - static_cast<uint64_t>(b));
}

}  // namespace

result<filtered_batch> filter_batch(bytes_view batch, const record_filter& keep,
                                    int64_t delete_horizon_ms, size_t max_decompressed) {
  auto parsed = parse_batch_header(batch);
  if (!parsed) return parsed.error();
  const batch_header& h = parsed.value();
  if (h.size_bytes() > batch.size()) return errc::batch_too_short;
  if (h.records_count < 0) return errc::invalid_records_count;
  const auto codec = h.compression();
  if (!codec) return errc::unsupported_compression;
  bytes plain;
  bytes_view section = batch.subspan(L::records, h.size_bytes() - batch_header_size);
  if (*codec != compression_codec::none) {
    auto d = decompress(*codec, section, max_decompressed);
    if (!d) return d.error();
    plain = std::move(d.value());
    section = plain;
  }

  // Pass 1: decide. The views stay valid: `section` outlives both walks.
  filtered_batch out;
  std::vector<bool> kept;
  kept.reserve(static_cast<size_t>(h.records_count));
  bool kept_tombstone = false;
  auto decided = for_each_record_in_section(h, section, [&](const record_view& r) {
    const bool k = keep(h, r);
    kept.push_back(k);
    if (k) {
      ++out.records_kept;
      kept_tombstone = kept_tombstone || !r.value;
    } else {
      ++out.records_removed;
    }
    return true;
  });
  if (!decided) return decided.error();
  const bool set_horizon =
      kept_tombstone && !h.has_delete_horizon() && delete_horizon_ms != no_timestamp;
  if (out.records_kept == 0) {  // also a batch that was empty already
    out.what = filtered_batch::outcome::emptied;
    return out;
  }
  if (out.records_removed == 0 && !set_horizon) return out;  // unchanged

  // Pass 2: re-encode the kept records.
  batch_header nh = h;
  if (set_horizon) {
    nh.attributes = static_cast<int16_t>(nh.attributes | batch_attributes::delete_horizon);
    nh.base_timestamp = delete_horizon_ms;
  }
  const bool log_append = h.timestamp_type() == timestamp_type::log_append_time;
  int64_t max_timestamp = INT64_MIN;
  bytes records_out;
  size_t i = 0;
  auto encoded = for_each_record_in_section(h, section, [&](const record_view& r) {
    if (!kept[i++]) return true;
    // The timestamp as stored (for LogAppendTime batches readers ignore it).
    const int64_t stored = wrapping_add(h.base_timestamp, r.timestamp_delta);
    max_timestamp = std::max(max_timestamp, stored);
    encode_record(records_out, r.attributes, wrapping_sub(stored, nh.base_timestamp),
                  r.offset_delta, r.key, r.value, r.headers);
    return true;
  });
  if (!encoded) return encoded.error();
  nh.records_count = out.records_kept;
  nh.max_timestamp = log_append ? h.max_timestamp : max_timestamp;
  if (*codec == compression_codec::none) {
    out.data = build_batch(nh, records_out);
  } else {
    out.data = build_batch(nh, compress(*codec, records_out));
  }
  out.what = filtered_batch::outcome::rewritten;
  return out;
}

bytes make_empty_batch(const batch_header& original) {
  batch_header h = original;
  h.attributes = static_cast<int16_t>(original.attributes & ~batch_attributes::compression_mask &
                                      ~batch_attributes::delete_horizon);
  h.base_timestamp = original.max_timestamp;
  h.records_count = 0;
  return build_batch(h, {});
}

result<bytes> recompress_batch(bytes_view batch, compression_codec codec, size_t max_decompressed) {
  auto parsed = parse_batch_header(batch);
  if (!parsed) return parsed.error();
  batch_header h = parsed.value();
  const auto from = h.compression();
  if (!from) return errc::unsupported_compression;
  const bytes_view section = batch.subspan(L::records, h.size_bytes() - batch_header_size);
  bytes plain;
  if (*from != compression_codec::none) {
    auto d = decompress(*from, section, max_decompressed);
    if (!d) return d.error();
    plain = std::move(d.value());
  }
  const bytes_view records = *from == compression_codec::none ? section : bytes_view(plain);
  h.attributes = static_cast<int16_t>((h.attributes & ~batch_attributes::compression_mask) |
                                      static_cast<int16_t>(codec));
  if (codec == compression_codec::none) return build_batch(h, records);
  return build_batch(h, compress(codec, records));
}

}  // namespace geomirror::records

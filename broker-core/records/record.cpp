#include "broker-core/records/record.h"

#include "broker-core/records/errc.h"
#include "broker-core/records/varint.h"

namespace geomirror::records {
namespace {

// Reads a length-prefixed byte field: -1 = null, otherwise >= 0 bytes.
bool read_nullable(byte_cursor& c, std::optional<bytes_view>& out) {
  auto len = c.varint();
  if (!len || *len < -1) return false;
  if (*len == -1) {
    out.reset();
    return true;
  }
  auto v = c.take(static_cast<size_t>(*len));
  if (!v) return false;
  out = *v;
  return true;
}

}  // namespace

result<void> for_each_record_in_section(const batch_header& h, bytes_view section,
                                        const record_visitor& visit) {
  const bool log_append = h.timestamp_type() == timestamp_type::log_append_time;
  std::vector<record_header_view> headers;
  byte_cursor c(section);
  int64_t prev_delta = -1;
  for (int32_t i = 0; i < h.records_count; ++i) {
    auto length = c.varint();
    if (!length || *length <= 0 || static_cast<size_t>(*length) > c.remaining()) {
      return errc::invalid_record;
    }
    byte_cursor r(*c.take(static_cast<size_t>(*length)));
    record_view v;
    auto attributes = r.int8();
    auto ts_delta = r.varlong();
    auto offset_delta = r.varint();
    if (!attributes || !ts_delta || !offset_delta) return errc::invalid_record;
    if (*offset_delta <= prev_delta || *offset_delta > h.last_offset_delta) {
      return errc::invalid_offset_delta;
    }
    prev_delta = *offset_delta;
    v.attributes = *attributes;
    v.offset_delta = *offset_delta;
    v.timestamp_delta = *ts_delta;
    v.offset = h.base_offset + *offset_delta;
    v.timestamp = log_append ? h.max_timestamp
                             : static_cast<int64_t>(static_cast<uint64_t>(h.base_timestamp) +
                                                    static_cast<uint64_t>(*ts_delta));
    if (!read_nullable(r, v.key) || !read_nullable(r, v.value)) return errc::invalid_record;
    auto header_count = r.varint();
    if (!header_count || *header_count < 0) return errc::invalid_record;
    // Each header takes at least two bytes; reject counts the record cannot hold
    // before reserving memory for them.
    if (static_cast<size_t>(*header_count) > r.remaining() / 2) return errc::invalid_record;
    headers.clear();
    for (int32_t k = 0; k < *header_count; ++k) {
      auto key_len = r.varint();
      if (!key_len || *key_len < 0) return errc::invalid_record;
      auto key = r.take(static_cast<size_t>(*key_len));
      if (!key) return errc::invalid_record;
      record_header_view hv{*key, std::nullopt};
      if (!read_nullable(r, hv.value)) return errc::invalid_record;
      headers.push_back(hv);
    }
    if (!r.at_end()) return errc::invalid_record;
    v.headers = headers;
    if (!visit(v)) return outcome::success();
  }
  if (!c.at_end()) return errc::trailing_bytes;
  return outcome::success();
}

result<void> for_each_record(bytes_view batch, const record_visitor& visit,
                             size_t max_decompressed) {
  auto parsed = parse_batch_header(batch);
  if (!parsed) return parsed.error();
  const batch_header& h = parsed.value();
  if (h.size_bytes() > batch.size()) return errc::batch_too_short;
  if (h.records_count < 0) return errc::invalid_records_count;
  const auto codec = h.compression();
  if (!codec) return errc::unsupported_compression;
  bytes_view section = batch.subspan(batch_layout::records, h.size_bytes() - batch_header_size);
  if (*codec == compression_codec::none) return for_each_record_in_section(h, section, visit);
  auto plain = decompress(*codec, section, max_decompressed);
  if (!plain) return plain.error();
  return for_each_record_in_section(h, plain.value(), visit);
}

result<std::vector<record>> decode_records(bytes_view batch, size_t max_decompressed) {
  std::vector<record> out;
  auto walked = for_each_record(
      batch,
      [&](const record_view& v) {
        record r;
        r.offset = v.offset;
        r.timestamp = v.timestamp;
        if (v.key) r.key.emplace(v.key->begin(), v.key->end());
        if (v.value) r.value.emplace(v.value->begin(), v.value->end());
        r.headers.reserve(v.headers.size());
        for (const auto& hv : v.headers) {
          record_header rh{std::string(as_string_view(hv.key)), std::nullopt};
          if (hv.value) rh.value.emplace(hv.value->begin(), hv.value->end());
          r.headers.push_back(std::move(rh));
        }
        out.push_back(std::move(r));
        return true;
      },
      max_decompressed);
  if (!walked) return walked.error();
  return out;
}

}  // namespace geomirror::records

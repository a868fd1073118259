#include "broker-core/records/legacy_message_set.h"

#include "broker-core/base/endian.h"
#include "broker-core/records/compression.h"
#include "broker-core/records/errc.h"
#include "broker-core/records/record.h"

#include <zlib.h>

#include <optional>
#include <vector>

namespace geomirror::records {
namespace {

constexpr size_t entry_overhead = 12;  // offset + messageSize
constexpr size_t magic_offset = 16;    // of the magic byte, from the entry start

struct legacy_message {
  int8_t magic;
  int8_t attributes;
  int64_t timestamp;
  std::optional<bytes_view> key;
  std::optional<bytes_view> value;
};

// Reads an int32-length-prefixed nullable byte string at `pos` of `body`.
bool read_nullable(bytes_view body, size_t& pos, std::optional<bytes_view>& out) {
  if (pos + 4 > body.size()) return false;
  auto len = static_cast<int32_t>(base::load_be32(body.data() + pos));
  pos += 4;
  if (len < 0) {
    out.reset();
    return len == -1;
  }
  if (static_cast<size_t>(len) > body.size() - pos) return false;
  out = body.subspan(pos, static_cast<size_t>(len));
  pos += static_cast<size_t>(len);
  return true;
}

// Parses one message body (crc..end of the entry).
result<legacy_message> parse_message(bytes_view body) {
  if (body.size() < 4 + 2 + 4 + 4) return errc::invalid_record;
  uint32_t stored_crc = base::load_be32(body.data());
  auto covered = body.subspan(4);
  uint32_t actual = static_cast<uint32_t>(::crc32(0L, covered.data(), static_cast<uInt>(covered.size())));
  if (stored_crc != actual) return errc::crc_mismatch;
  legacy_message m{};
  m.magic = static_cast<int8_t>(body[4]);
  m.attributes = static_cast<int8_t>(body[5]);
  size_t pos = 6;
  if (m.magic == 1) {
    if (body.size() < pos + 8) return errc::invalid_record;
    m.timestamp = static_cast<int64_t>(base::load_be64(body.data() + pos));
    pos += 8;
  } else if (m.magic == 0) {
    m.timestamp = no_timestamp;
  } else {
    return errc::unsupported_magic;
  }
  if (!read_nullable(body, pos, m.key) || !read_nullable(body, pos, m.value) || pos != body.size()) {
    return errc::invalid_record;
  }
  return m;
}

// The codec of the first compressed top-level message, found without
// decompressing: the converted batch keeps the producer's compression, as
// Kafka does for topics with compression.type=producer.
compression_codec source_codec(bytes_view data) {
  size_t pos = 0;
  while (data.size() - pos >= entry_overhead + 6) {
    auto size = static_cast<int32_t>(base::load_be32(data.data() + pos + 8));
    if (size < 6 || static_cast<size_t>(size) > data.size() - pos - entry_overhead) break;
    auto codec = codec_from_attributes(static_cast<int8_t>(data[pos + entry_overhead + 5]));
    if (codec && *codec != compression_codec::none) return *codec;
    pos += entry_overhead + static_cast<size_t>(size);
  }
  return compression_codec::none;
}

struct converter {
  batch_builder& builder;
  size_t max_decompressed;

  // Walks a message set; wrapper messages recurse once into their content.
  result<void> walk(bytes_view data, bool inner) {
    size_t pos = 0;
    while (pos < data.size()) {
      if (data.size() - pos < entry_overhead) return errc::invalid_record;
      auto size = static_cast<int32_t>(base::load_be32(data.data() + pos + 8));
      if (size < 0 || static_cast<size_t>(size) > data.size() - pos - entry_overhead) return errc::invalid_record;
      auto parsed = parse_message(data.subspan(pos + entry_overhead, static_cast<size_t>(size)));
      if (!parsed) return parsed.error();
      const auto& m = parsed.value();
      auto message_codec = codec_from_attributes(m.attributes);
      // zstd (KIP-110) exists only in RecordBatch v2.
      if (!message_codec || *message_codec == compression_codec::zstd) return errc::unsupported_compression;
      if (*message_codec != compression_codec::none) {
        if (inner || !m.value) return errc::invalid_record;  // nested or empty wrapper
        auto content = decompress(*message_codec, *m.value, max_decompressed);
        if (!content) return content.error();
        if (auto r = walk(content.value(), true); !r) return r.error();
      } else {
        builder.add(m.timestamp, m.key, m.value);
      }
      pos += entry_overhead + static_cast<size_t>(size);
    }
    return outcome::success();
  }
};

}  // namespace

bool is_legacy_message_set(bytes_view data) {
  return data.size() > magic_offset && data[magic_offset] < 2;
}

result<bytes> upconvert_message_set(bytes_view data, size_t max_decompressed) {
  batch_builder builder(source_codec(data));
  converter c{builder, max_decompressed};
  if (auto r = c.walk(data, false); !r) return r.error();
  if (builder.record_count() == 0) return errc::invalid_records_count;
  return builder.build();
}

}  // namespace geomirror::records

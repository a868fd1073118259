#pragma once
// Compression codecs of RecordBatch v2 (attributes bits 0-2, RECORDS.md §2.4).
//
// Framing accepted on decompression, matching what real clients write:
//   gzip    a gzip stream (concatenated members accepted), via zlib
//   snappy  either the xerial/snappy-java framed stream used by the Java
//           client (magic 0x82 'SNAPPY' 0x00, int32 version, int32
//           compatible version, then int32-length-prefixed raw snappy blocks)
//           or one plain raw snappy block (librdkafka)
//   lz4     the standard LZ4 frame format (lz4frame.h)
//   zstd    standard zstd frames, content size possibly unknown (streaming)
// compress() writes gzip, xerial-framed snappy (readable by every client),
// an LZ4 frame with independent 64 KiB blocks, and a zstd frame.
//
// Decompression is capped (`max_output`) so that a small hostile batch cannot
// make the broker allocate gigabytes ("decompression bomb"); exceeding the
// cap is errc::decompressed_too_large. Functions are thread-safe (no shared
// state).

#include "broker-core/base/result.h"
#include "broker-core/records/bytes.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace geomirror::records {

enum class compression_codec : int8_t { none = 0, gzip = 1, snappy = 2, lz4 = 3, zstd = 4 };

inline constexpr size_t default_max_decompressed_bytes = size_t{256} << 20;  // 256 MiB

std::string_view to_string(compression_codec codec);

// Maps the 3 codec bits of a batch's attributes to a codec; nullopt for 5..7.
std::optional<compression_codec> codec_from_attributes(int16_t attributes);

// Decompresses `input`. Errors: corrupt_compressed_data,
// truncated_compressed_data, decompressed_too_large, unsupported_compression.
// For codec none the input is copied.
result<bytes> decompress(compression_codec codec, bytes_view input,
                         size_t max_output = default_max_decompressed_bytes);

// Compresses `input` (never fails for valid codecs; codec none copies).
bytes compress(compression_codec codec, bytes_view input);

}  // namespace geomirror::records

#include "broker-core/records/compression.h"

#include "broker-core/base/endian.h"
#include "broker-core/records/errc.h"

#include <lz4frame.h>
#include <snappy.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <array>
#include <climits>
#include <memory>

namespace geomirror::records {
namespace {

// Grows `out` geometrically, never beyond `cap`. Returns false when already
// at the cap (the caller then reports decompressed_too_large).
bool grow(bytes& out, size_t used, size_t cap) {
  if (used >= cap) return false;
  size_t next = std::max<size_t>(out.size() * 2, 64 * 1024);
  next = std::min(next, cap);
  if (next <= used) return false;
  out.resize(next);
  return true;
}

// ---------------------------------------------------------------- gzip
result<bytes> gzip_decompress(bytes_view in, size_t cap) {
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 16) != Z_OK) return errc::corrupt_compressed_data;
  std::unique_ptr<z_stream, decltype(&inflateEnd)> guard(&zs, &inflateEnd);
  bytes out(std::min<size_t>(std::max<size_t>(in.size() * 4, 4096), cap));
  size_t used = 0;
  zs.next_in = const_cast<Bytef*>(in.data());
  size_t in_left = in.size();
  bool ended = false;
  while (true) {
    if (used == out.size() && !grow(out, used, cap)) return errc::decompressed_too_large;
    const auto in_chunk = static_cast<uInt>(std::min<size_t>(in_left, UINT_MAX));
    const auto out_chunk = static_cast<uInt>(std::min<size_t>(out.size() - used, UINT_MAX));
    zs.avail_in = in_chunk;
    zs.next_out = out.data() + used;
    zs.avail_out = out_chunk;
    const int rc = inflate(&zs, Z_NO_FLUSH);
    used += out_chunk - zs.avail_out;
    in_left -= in_chunk - zs.avail_in;
    if (rc == Z_STREAM_END) {
      ended = true;
      if (in_left == 0) break;
      // Another gzip member follows (gzip allows concatenation).
      if (inflateReset(&zs) != Z_OK) return errc::corrupt_compressed_data;
      ended = false;
      continue;
    }
    if (rc == Z_BUF_ERROR) {
      if (in_left == 0) return errc::truncated_compressed_data;
      continue;  // output full; grow on next iteration
    }
    if (rc != Z_OK) return errc::corrupt_compressed_data;
    if (in_left == 0 && zs.avail_out != 0) return errc::truncated_compressed_data;
  }
  if (!ended) return errc::truncated_compressed_data;
  out.resize(used);
  return out;
}

bytes gzip_compress(bytes_view in) {
  z_stream zs{};
  // windowBits 15 + 16 selects gzip framing.
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
      Z_OK) {
    return {};
  }
  bytes out(deflateBound(&zs, in.size()) + 32);
  zs.next_in = const_cast<Bytef*>(in.data());
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = out.data();
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

// ---------------------------------------------------------------- snappy
constexpr std::array<uint8_t, 8> xerial_magic = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};
constexpr size_t xerial_header_size = 16;  // magic + int32 version + int32 compatible
constexpr size_t xerial_block_size = 32 * 1024;

bool is_xerial(bytes_view in) {
  return in.size() >= xerial_header_size &&
         std::equal(xerial_magic.begin(), xerial_magic.end(), in.begin());
}

// Appends the raw snappy block `block` to `out`, respecting the cap.
std::error_code snappy_raw_append(bytes_view block, bytes& out, size_t cap) {
  size_t n = 0;
  const auto* src = reinterpret_cast<const char*>(block.data());
  if (!snappy::GetUncompressedLength(src, block.size(), &n)) return errc::corrupt_compressed_data;
  if (n > cap || out.size() > cap - n) return errc::decompressed_too_large;
  const size_t at = out.size();
  out.resize(at + n);
  if (!snappy::RawUncompress(src, block.size(), reinterpret_cast<char*>(out.data() + at))) {
    return errc::corrupt_compressed_data;
  }
  return {};
}

result<bytes> snappy_decompress(bytes_view in, size_t cap) {
  bytes out;
  if (!is_xerial(in)) {
    if (auto ec = snappy_raw_append(in, out, cap)) return ec;
    return out;
  }
  size_t pos = xerial_header_size;
  while (pos < in.size()) {
    if (in.size() - pos < 4) return errc::truncated_compressed_data;
    const int32_t len = static_cast<int32_t>(base::load_be32(in.data() + pos));
    pos += 4;
    if (len < 0) return errc::corrupt_compressed_data;
    if (static_cast<size_t>(len) > in.size() - pos) return errc::truncated_compressed_data;
    if (auto ec = snappy_raw_append(in.subspan(pos, static_cast<size_t>(len)), out, cap)) {
      return ec;
    }
    pos += static_cast<size_t>(len);
  }
  return out;
}

bytes snappy_compress(bytes_view in) {
  bytes out(xerial_magic.begin(), xerial_magic.end());
  out.resize(xerial_header_size);
  base::store_be32(out.data() + 8, 1);   // version
  base::store_be32(out.data() + 12, 1);  // minimum compatible version
  size_t pos = 0;
  do {
    const size_t n = std::min(xerial_block_size, in.size() - pos);
    const size_t at = out.size();
    out.resize(at + 4 + snappy::MaxCompressedLength(n));
    size_t written = 0;
    snappy::RawCompress(reinterpret_cast<const char*>(in.data() + pos), n,
                        reinterpret_cast<char*>(out.data() + at + 4), &written);
    base::store_be32(out.data() + at, static_cast<uint32_t>(written));
    out.resize(at + 4 + written);
    pos += n;
  } while (pos < in.size());
  return out;
}

// ---------------------------------------------------------------- lz4
result<bytes> lz4_decompress(bytes_view in, size_t cap) {
  LZ4F_dctx* raw = nullptr;
  if (LZ4F_isError(LZ4F_createDecompressionContext(&raw, LZ4F_VERSION))) {
    return errc::corrupt_compressed_data;
  }
  std::unique_ptr<LZ4F_dctx, decltype(&LZ4F_freeDecompressionContext)> ctx(
      raw, &LZ4F_freeDecompressionContext);
  bytes out(std::min<size_t>(std::max<size_t>(in.size() * 4, 4096), cap));
  size_t used = 0;
  size_t pos = 0;
  size_t hint = 1;
  while (pos < in.size()) {
    if (used == out.size() && !grow(out, used, cap)) return errc::decompressed_too_large;
    size_t dst_size = out.size() - used;
    size_t src_size = in.size() - pos;
    hint = LZ4F_decompress(ctx.get(), out.data() + used, &dst_size, in.data() + pos, &src_size,
                           nullptr);
    if (LZ4F_isError(hint)) return errc::corrupt_compressed_data;
    used += dst_size;
    pos += src_size;
    if (src_size == 0 && dst_size == 0 && used < out.size()) {
      return errc::corrupt_compressed_data;  // no progress possible
    }
  }
  // Flush anything LZ4F buffered internally.
  while (hint != 0) {
    if (used == out.size() && !grow(out, used, cap)) return errc::decompressed_too_large;
    size_t dst_size = out.size() - used;
    size_t src_size = 0;
    hint = LZ4F_decompress(ctx.get(), out.data() + used, &dst_size, nullptr, &src_size, nullptr);
    if (LZ4F_isError(hint)) return errc::corrupt_compressed_data;
    used += dst_size;
    if (dst_size == 0 && hint != 0) return errc::truncated_compressed_data;
  }
  out.resize(used);
  return out;
}

bytes lz4_compress(bytes_view in) {
  LZ4F_preferences_t prefs{};
  prefs.frameInfo.blockSizeID = LZ4F_max64KB;
  prefs.frameInfo.blockMode = LZ4F_blockIndependent;
  prefs.frameInfo.contentChecksumFlag = LZ4F_noContentChecksum;
  bytes out(LZ4F_compressFrameBound(in.size(), &prefs));
  const size_t n = LZ4F_compressFrame(out.data(), out.size(), in.data(), in.size(), &prefs);
  if (LZ4F_isError(n)) return {};
  out.resize(n);
  return out;
}

// ---------------------------------------------------------------- zstd
result<bytes> zstd_decompress(bytes_view in, size_t cap) {
  std::unique_ptr<ZSTD_DStream, decltype(&ZSTD_freeDStream)> ds(ZSTD_createDStream(),
                                                                &ZSTD_freeDStream);
  if (!ds || ZSTD_isError(ZSTD_initDStream(ds.get()))) return errc::corrupt_compressed_data;
  bytes out(std::min<size_t>(std::max<size_t>(in.size() * 4, 4096), cap));
  ZSTD_inBuffer ib{in.data(), in.size(), 0};
  size_t used = 0;
  size_t ret = 1;
  while (ib.pos < ib.size || ret != 0) {
    if (used == out.size() && !grow(out, used, cap)) return errc::decompressed_too_large;
    ZSTD_outBuffer ob{out.data() + used, out.size() - used, 0};
    const size_t before_in = ib.pos;
    ret = ZSTD_decompressStream(ds.get(), &ob, &ib);
    if (ZSTD_isError(ret)) return errc::corrupt_compressed_data;
    used += ob.pos;
    if (ret != 0 && ib.pos == ib.size && ob.pos < ob.size) {
      return errc::truncated_compressed_data;  // wants more input than we have
    }
    if (ob.pos == 0 && ib.pos == before_in && ob.size > 0) return errc::corrupt_compressed_data;
  }
  out.resize(used);
  return out;
}

bytes zstd_compress(bytes_view in) {
  bytes out(ZSTD_compressBound(in.size()));
  const size_t n = ZSTD_compress(out.data(), out.size(), in.data(), in.size(), 3);
  if (ZSTD_isError(n)) return {};
  out.resize(n);
  return out;
}

}  // namespace

std::string_view to_string(compression_codec codec) {
  switch (codec) {
    case compression_codec::none:
      return "none";
    case compression_codec::gzip:
      return "gzip";
    case compression_codec::snappy:
      return "snappy";
    case compression_codec::lz4:
      return "lz4";
    case compression_codec::zstd:
      return "zstd";
  }
  return "unknown";
}

std::optional<compression_codec> codec_from_attributes(int16_t attributes) {
  const int v = attributes & 0x7;
  if (v > 4) return std::nullopt;
  return static_cast<compression_codec>(v);
}

result<bytes> decompress(compression_codec codec, bytes_view input, size_t max_output) {
  switch (codec) {
    case compression_codec::none:
      if (input.size() > max_output) return errc::decompressed_too_large;
      return bytes(input.begin(), input.end());
    case compression_codec::gzip:
      return gzip_decompress(input, max_output);
    case compression_codec::snappy:
      return snappy_decompress(input, max_output);
    case compression_codec::lz4:
      return lz4_decompress(input, max_output);
    case compression_codec::zstd:
      return zstd_decompress(input, max_output);
  }
  return errc::unsupported_compression;
}

bytes compress(compression_codec codec, bytes_view input) {
  switch (codec) {
    case compression_codec::none:
      return bytes(input.begin(), input.end());
    case compression_codec::gzip:
      return gzip_compress(input);
    case compression_codec::snappy:
      return snappy_compress(input);
    case compression_codec::lz4:
      return lz4_compress(input);
    case compression_codec::zstd:
      return zstd_compress(input);
  }
  return {};
}

}  // namespace geomirror::records

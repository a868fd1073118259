// Compression codecs: round trips, the two snappy framings, malformed and
// truncated input, and the decompression-bomb cap.

#include "broker-core/records/compression.h"
#include "broker-core/records/errc.h"

#include <gtest/gtest.h>
#include <snappy.h>

#include <random>

namespace geomirror::records {
namespace {

const compression_codec all_codecs[] = {compression_codec::none, compression_codec::gzip,
                                        compression_codec::snappy, compression_codec::lz4,
                                        compression_codec::zstd};
const compression_codec real_codecs[] = {compression_codec::gzip, compression_codec::snappy,
                                         compression_codec::lz4, compression_codec::zstd};

bytes sample(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  bytes b(n);
  // Compressible but not trivial: small alphabet with random runs.
  for (auto& c : b) c = static_cast<uint8_t>('a' + rng() % 6);
  return b;
}

TEST(compression, round_trip_every_codec) {
  for (auto codec : all_codecs) {
    for (size_t n : {size_t{0}, size_t{1}, size_t{100}, size_t{70'000}, size_t{1'000'000}}) {
      bytes in = sample(n, static_cast<unsigned>(n));
      bytes packed = compress(codec, in);
      auto out = decompress(codec, packed);
      ASSERT_TRUE(out) << to_string(codec) << " n=" << n << ": " << out.error().message();
      EXPECT_EQ(out.value(), in) << to_string(codec) << " n=" << n;
      if (codec != compression_codec::none && n >= 70'000) {
        EXPECT_LT(packed.size(), in.size()) << to_string(codec);
      }
    }
  }
}

TEST(compression, snappy_accepts_raw_block_and_xerial_stream) {
  bytes in = sample(100'000, 3);
  std::string raw;
  snappy::Compress(reinterpret_cast<const char*>(in.data()), in.size(), &raw);
  auto out = decompress(compression_codec::snappy, as_bytes_view(raw));
  ASSERT_TRUE(out);
  EXPECT_EQ(out.value(), in);

  bytes framed = compress(compression_codec::snappy, in);
  ASSERT_GE(framed.size(), 16u);
  EXPECT_EQ(framed[0], 0x82);
  EXPECT_EQ(std::string(framed.begin() + 1, framed.begin() + 7), "SNAPPY");
  out = decompress(compression_codec::snappy, framed);
  ASSERT_TRUE(out);
  EXPECT_EQ(out.value(), in);
}

TEST(compression, garbage_input_is_an_error_not_a_crash) {
  std::mt19937 rng(11);
  for (auto codec : real_codecs) {
    for (int i = 0; i < 50; ++i) {
      bytes junk(rng() % 300);
      for (auto& b : junk) b = static_cast<uint8_t>(rng());
      auto out = decompress(codec, junk);
      // Random bytes are almost never a valid stream; what matters is no crash
      // and an error from the records category when rejected.
      if (!out) {
        EXPECT_EQ(out.error().category(), error_category()) << to_string(codec);
      }
    }
    EXPECT_FALSE(decompress(codec, as_bytes_view("definitely not compressed data"))) << to_string(codec);
  }
}

TEST(compression, truncated_streams_are_rejected) {
  bytes in = sample(200'000, 5);
  for (auto codec : real_codecs) {
    bytes packed = compress(codec, in);
    for (size_t cut : {packed.size() / 2, packed.size() - 1}) {
      bytes_view part(packed.data(), cut);
      auto out = decompress(codec, part);
      EXPECT_FALSE(out) << to_string(codec) << " cut at " << cut;
    }
    EXPECT_FALSE(decompress(codec, bytes_view{})) << to_string(codec);
  }
}

TEST(compression, bomb_guard_caps_output) {
  bytes zeros(4 << 20, 0);
  for (auto codec : all_codecs) {
    bytes packed = compress(codec, zeros);
    auto out = decompress(codec, packed, 1 << 20);
    ASSERT_FALSE(out) << to_string(codec);
    EXPECT_EQ(out.error(), make_error_code(errc::decompressed_too_large)) << to_string(codec);
    auto ok = decompress(codec, packed, 4 << 20);
    ASSERT_TRUE(ok) << to_string(codec);
    EXPECT_EQ(ok.value().size(), zeros.size());
  }
}

TEST(compression, codec_from_attributes) {
  EXPECT_EQ(codec_from_attributes(0), compression_codec::none);
  EXPECT_EQ(codec_from_attributes(0x0C), compression_codec::zstd);  // bit 3 ignored
  EXPECT_EQ(codec_from_attributes(5), std::nullopt);
  EXPECT_EQ(codec_from_attributes(7), std::nullopt);
}

}  // namespace
}  // namespace geomirror::records

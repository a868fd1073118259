#include "broker-core/records/legacy_message_set.h"

#include "broker-core/records/compression.h"
#include "broker-core/records/errc.h"
#include "broker-core/records/record.h"
#include "broker-core/records/record_batch.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <optional>
#include <string>

namespace geomirror::records {
namespace {

void put32(bytes& out, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<uint8_t>(v >> s));
}
void put64(bytes& out, uint64_t v) {
  for (int s = 56; s >= 0; s -= 8) out.push_back(static_cast<uint8_t>(v >> s));
}
void put_nullable(bytes& out, const std::optional<bytes>& v) {
  if (!v) {
    put32(out, 0xffffffffu);
    return;
  }
  put32(out, static_cast<uint32_t>(v->size()));
  out.insert(out.end(), v->begin(), v->end());
}

// One MessageSet entry (offset, size, crc, magic, attributes, [timestamp], key, value).
bytes legacy_entry(int64_t offset, int8_t magic, int8_t attributes, int64_t timestamp, std::optional<bytes> key,
                   std::optional<bytes> value) {
  bytes covered;
  covered.push_back(static_cast<uint8_t>(magic));
  covered.push_back(static_cast<uint8_t>(attributes));
  if (magic == 1) put64(covered, static_cast<uint64_t>(timestamp));
  put_nullable(covered, key);
  put_nullable(covered, value);
  bytes out;
  put64(out, static_cast<uint64_t>(offset));
  put32(out, static_cast<uint32_t>(covered.size() + 4));
  put32(out, static_cast<uint32_t>(::crc32(0L, covered.data(), static_cast<uInt>(covered.size()))));
  out.insert(out.end(), covered.begin(), covered.end());
  return out;
}

bytes text(std::string_view s) { return to_bytes(s); }

bytes concat(std::initializer_list<bytes> parts) {
  bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

TEST(LegacyMessageSet, DetectsMagic) {
  EXPECT_TRUE(is_legacy_message_set(legacy_entry(0, 0, 0, -1, std::nullopt, text("v"))));
  EXPECT_TRUE(is_legacy_message_set(legacy_entry(0, 1, 0, 5, std::nullopt, text("v"))));
  EXPECT_FALSE(is_legacy_message_set(batch_builder().add("k", "v", 1).build()));
  EXPECT_FALSE(is_legacy_message_set(bytes(10, 0)));
}

TEST(LegacyMessageSet, Magic1UncompressedKeepsKeysValuesAndTimestamps) {
  auto set = concat({legacy_entry(0, 1, 0, 1000, text("k0"), text("v0")),
                     legacy_entry(1, 1, 0, 1005, std::nullopt, text("v1")),
                     legacy_entry(2, 1, 0, 1003, text("k2"), std::nullopt)});
  auto batch = upconvert_message_set(set);
  ASSERT_TRUE(batch) << batch.error().message();
  ASSERT_TRUE(validate_produced_batch(batch.value()));
  auto header = parse_batch_header(batch.value()).value();
  EXPECT_EQ(header.compression(), compression_codec::none);
  EXPECT_EQ(header.max_timestamp, 1005);
  auto recs = decode_records(batch.value()).value();
  ASSERT_EQ(recs.size(), 3u);
  EXPECT_EQ(recs[0].key, text("k0"));
  EXPECT_EQ(recs[0].value, text("v0"));
  EXPECT_EQ(recs[0].timestamp, 1000);
  EXPECT_EQ(recs[1].key, std::nullopt);
  EXPECT_EQ(recs[1].timestamp, 1005);
  EXPECT_EQ(recs[2].value, std::nullopt);
  EXPECT_EQ(recs[2].offset, 2);
}

TEST(LegacyMessageSet, Magic0HasNoTimestamp) {
  auto batch = upconvert_message_set(legacy_entry(0, 0, 0, 0, text("k"), text("v")));
  ASSERT_TRUE(batch);
  auto recs = decode_records(batch.value()).value();
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].timestamp, no_timestamp);
}

class LegacyCompressed : public ::testing::TestWithParam<compression_codec> {};

TEST_P(LegacyCompressed, WrapperIsDecompressedAndCodecKept) {
  const auto codec = GetParam();
  auto inner = concat({legacy_entry(0, 1, 0, 10, text("a"), text("alpha")),
                       legacy_entry(1, 1, 0, 11, text("b"), text("beta"))});
  auto wrapper = legacy_entry(1, 1, static_cast<int8_t>(codec), 11, std::nullopt, compress(codec, inner));
  auto batch = upconvert_message_set(wrapper);
  ASSERT_TRUE(batch) << batch.error().message();
  EXPECT_EQ(parse_batch_header(batch.value()).value().compression(), codec);
  auto recs = decode_records(batch.value()).value();
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[0].value, text("alpha"));
  EXPECT_EQ(recs[1].key, text("b"));
  EXPECT_EQ(recs[1].timestamp, 11);
}

INSTANTIATE_TEST_SUITE_P(Codecs, LegacyCompressed,
                         ::testing::Values(compression_codec::gzip, compression_codec::snappy, compression_codec::lz4));

TEST(LegacyMessageSet, RejectsDamage) {
  auto good = legacy_entry(0, 1, 0, 1, text("k"), text("value"));
  auto flipped = good;
  flipped.back() ^= 0x40;
  EXPECT_EQ(upconvert_message_set(flipped).error(), errc::crc_mismatch);

  auto truncated = good;
  truncated.resize(truncated.size() - 3);
  EXPECT_EQ(upconvert_message_set(truncated).error(), errc::invalid_record);

  auto zstd = legacy_entry(0, 1, 4, 1, std::nullopt, compress(compression_codec::zstd, good));
  EXPECT_EQ(upconvert_message_set(zstd).error(), errc::unsupported_compression);

  auto nested_inner = legacy_entry(0, 1, 1, 1, std::nullopt, compress(compression_codec::gzip, good));
  auto nested = legacy_entry(0, 1, 1, 1, std::nullopt, compress(compression_codec::gzip, nested_inner));
  EXPECT_EQ(upconvert_message_set(nested).error(), errc::invalid_record);

  auto bad_gzip = legacy_entry(0, 1, 1, 1, std::nullopt, text("not gzip at all"));
  EXPECT_FALSE(upconvert_message_set(bad_gzip));
}

}  // namespace
}  // namespace geomirror::records

// Record decoding of builder output (every codec), null keys/values,
// headers, LogAppendTime, malformed records and the decompression cap.

#include "broker-core/records/errc.h"
#include "broker-core/records/record.h"

#include <gtest/gtest.h>

namespace geomirror::records {
namespace {

TEST(record, decode_builder_output_every_codec) {
  for (auto codec : {compression_codec::none, compression_codec::gzip, compression_codec::snappy,
                     compression_codec::lz4, compression_codec::zstd}) {
    batch_builder b(codec);
    std::vector<record> expected;
    for (int i = 0; i < 20; ++i) {
      record r;
      r.offset = 500 + i;
      r.timestamp = 1'000'000 + ((i * 37) % 11) - 5;  // not monotonic
      if (i % 3 != 0) r.key = to_bytes("key-" + std::to_string(i));
      if (i % 5 != 0) r.value = bytes(static_cast<size_t>(i) * 100, static_cast<uint8_t>(i));
      if (i % 2 == 0) r.headers.push_back({"h", to_bytes("v" + std::to_string(i))});
      if (i % 4 == 0) r.headers.push_back({"null-value", std::nullopt});
      b.add(r.timestamp, r.key ? std::optional<bytes_view>(*r.key) : std::nullopt,
            r.value ? std::optional<bytes_view>(*r.value) : std::nullopt, r.headers);
      expected.push_back(r);
    }
    b.set_base_offset(500);
    bytes batch = b.build();
    auto decoded = decode_records(batch);
    ASSERT_TRUE(decoded) << to_string(codec) << ": " << decoded.error().message();
    EXPECT_EQ(decoded.value(), expected) << to_string(codec);
  }
}

TEST(record, empty_key_is_not_null) {
  bytes batch = batch_builder().add("", std::nullopt, 5).build();
  auto d = decode_records(batch);
  ASSERT_TRUE(d);
  ASSERT_EQ(d.value().size(), 1u);
  ASSERT_TRUE(d.value()[0].key.has_value());
  EXPECT_TRUE(d.value()[0].key->empty());
  EXPECT_FALSE(d.value()[0].value.has_value());
}

TEST(record, visitor_can_stop_early) {
  batch_builder b;
  for (int i = 0; i < 10; ++i) b.add("k", "v", i);
  bytes batch = b.build();
  int seen = 0;
  auto r = for_each_record(batch, [&](const record_view& v) {
    ++seen;
    return v.offset < 3;
  });
  EXPECT_TRUE(r);
  EXPECT_EQ(seen, 4);
}

TEST(record, truncated_batches_rejected) {
  bytes batch = batch_builder(compression_codec::gzip).add("k", "v", 1).add("k2", "v2", 2).build();
  for (size_t cut : {size_t{0}, size_t{30}, size_t{61}, batch.size() - 1}) {
    auto d = decode_records(bytes_view(batch).first(cut));
    EXPECT_FALSE(d) << cut;
  }
}

TEST(record, corrupt_compressed_payload_is_error) {
  bytes batch = batch_builder(compression_codec::zstd).add("k", "v", 1).build();
  for (size_t i = batch_layout::records; i < batch.size(); ++i) batch[i] ^= 0x5a;
  auto d = decode_records(batch);
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().category(), error_category());
}

TEST(record, decompression_cap_applies) {
  batch_builder b(compression_codec::lz4);
  for (int i = 0; i < 64; ++i) b.add(std::nullopt, std::string(64 * 1024, 'x'), i);
  bytes batch = b.build();
  EXPECT_LT(batch.size(), 100'000u);
  auto d = decode_records(batch, 1 << 20);
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error(), make_error_code(errc::decompressed_too_large));
  EXPECT_TRUE(decode_records(batch, 8 << 20));
}

TEST(record, header_count_larger_than_record_rejected) {
  bytes batch = batch_builder().add("k", "v", 1).build();
  // Record: len, attr, tsDelta, offDelta, keyLen(2), 'k', valLen(2), 'v', headerCount.
  const size_t header_count_at = batch_layout::records + 8;
  ASSERT_EQ(batch[header_count_at], 0);
  batch[header_count_at] = 0x7e;  // 63 headers
  auto d = decode_records(batch);
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error(), make_error_code(errc::invalid_record));
}

}  // namespace
}  // namespace geomirror::records

// RecordBatch v2 header: parsing, validation reasons, header rewrites that
// keep the CRC valid, and scanning concatenated batches.

#include "broker-core/base/endian.h"
#include "broker-core/records/errc.h"
#include "broker-core/records/record.h"
#include "broker-core/records/record_batch.h"

#include <gtest/gtest.h>

namespace geomirror::records {
namespace {

namespace L = batch_layout;

bytes hex(std::string_view h) {
  bytes out;
  for (size_t i = 0; i + 1 < h.size(); i += 2) {
    out.push_back(static_cast<uint8_t>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

// Produced by kafka-python 2.0.2's DefaultRecordBatchBuilder: two records,
// (k1, hello, header h1=v1) at 1700000000000 and (null, world) at +5 ms.
const char* const kafka_python_batch =
    "0000000000000000000000510000000002c47f26f70000000000010000018bcfe568000000018bcfe56805ffff"
    "ffffffffffffffffffffffff0000000226000000046b310a68656c6c6f0204683104763116000a02010a776f72"
    "6c6400";

bytes sample_batch(compression_codec codec = compression_codec::none, int n = 3) {
  batch_builder b(codec);
  for (int i = 0; i < n; ++i) {
    b.add("key-" + std::to_string(i), "value-" + std::to_string(i), 1'000 + i);
  }
  return b.build();
}

TEST(record_batch, builder_matches_kafka_python_bytes) {
  const bytes expected = hex(kafka_python_batch);
  batch_builder b;
  b.set_partition_leader_epoch(0);
  b.add("k1", "hello", 1700000000000, {{"h1", to_bytes("v1")}});
  b.add(std::nullopt, "world", 1700000000005);
  EXPECT_EQ(b.build(), expected);
  auto h = validate_produced_batch(expected);
  ASSERT_TRUE(h) << h.error().message();
  EXPECT_EQ(h.value().records_count, 2);
  EXPECT_EQ(h.value().max_timestamp, 1700000000005);
}

TEST(record_batch, parse_header_fields) {
  batch_builder b(compression_codec::zstd);
  b.set_producer(42, 3, 100).set_transactional(true);
  b.add("a", "b", 10).add("c", "d", 30).add("e", "f", 20);
  bytes batch = b.build();
  auto h = parse_batch_header(batch);
  ASSERT_TRUE(h);
  EXPECT_EQ(h.value().base_offset, 0);
  EXPECT_EQ(h.value().size_bytes(), batch.size());
  EXPECT_EQ(h.value().magic, 2);
  EXPECT_EQ(h.value().compression(), compression_codec::zstd);
  EXPECT_EQ(h.value().timestamp_type(), timestamp_type::create_time);
  EXPECT_TRUE(h.value().is_transactional());
  EXPECT_FALSE(h.value().is_control());
  EXPECT_EQ(h.value().last_offset_delta, 2);
  EXPECT_EQ(h.value().last_offset(), 2);
  EXPECT_EQ(h.value().base_timestamp, 10);
  EXPECT_EQ(h.value().max_timestamp, 30);
  EXPECT_EQ(h.value().producer_id, 42);
  EXPECT_EQ(h.value().producer_epoch, 3);
  EXPECT_EQ(h.value().base_sequence, 100);
  EXPECT_EQ(h.value().records_count, 3);
  EXPECT_TRUE(validate_batch(batch));
  EXPECT_TRUE(validate_produced_batch(batch, true));
}

TEST(record_batch, every_codec_validates) {
  for (auto codec : {compression_codec::none, compression_codec::gzip, compression_codec::snappy,
                     compression_codec::lz4, compression_codec::zstd}) {
    bytes batch = sample_batch(codec, 50);
    auto h = validate_produced_batch(batch, true);
    ASSERT_TRUE(h) << to_string(codec) << ": " << h.error().message();
    EXPECT_EQ(h.value().compression(), codec);
  }
}

TEST(record_batch, crc_catches_every_flipped_bit_in_covered_bytes) {
  const bytes good = sample_batch();
  for (size_t byte = L::attributes; byte < good.size(); byte += 3) {
    bytes bad = good;
    bad[byte] ^= 0x10;
    auto r = validate_batch(bad);
    ASSERT_FALSE(r) << "byte " << byte;
    EXPECT_EQ(r.error(), make_error_code(errc::crc_mismatch)) << "byte " << byte;
  }
}

TEST(record_batch, rejection_reasons) {
  const bytes good = sample_batch();
  EXPECT_EQ(validate_batch(bytes_view(good).first(60)).error(), make_error_code(errc::batch_too_short));
  EXPECT_EQ(validate_batch(bytes_view(good).first(good.size() - 1)).error(),
            make_error_code(errc::batch_too_short));
  bytes longer = good;
  longer.push_back(0);
  EXPECT_EQ(validate_batch(longer).error(), make_error_code(errc::length_mismatch));
  bytes magic = good;
  magic[L::magic] = 1;
  EXPECT_EQ(validate_batch(magic).error(), make_error_code(errc::unsupported_magic));
  bytes short_len = good;
  base::store_be32(short_len.data() + L::length, 10);
  EXPECT_EQ(validate_batch(short_len).error(), make_error_code(errc::invalid_length));

  // Fields below are CRC-covered: fix the CRC after editing to reach the check.
  const auto edit = [&](auto fn) {
    bytes b = good;
    fn(b);
    base::store_be32(b.data() + L::crc, compute_batch_crc(b));
    return b;
  };
  EXPECT_EQ(validate_batch(edit([](bytes& b) { base::store_be32(b.data() + L::last_offset_delta, static_cast<uint32_t>(-1)); })).error(),
            make_error_code(errc::invalid_last_offset_delta));
  EXPECT_EQ(validate_batch(edit([](bytes& b) { base::store_be32(b.data() + L::records_count, static_cast<uint32_t>(-5)); })).error(),
            make_error_code(errc::invalid_records_count));
  EXPECT_EQ(validate_batch(edit([](bytes& b) { base::store_be32(b.data() + L::records_count, 1'000'000); })).error(),
            make_error_code(errc::invalid_records_count));
  EXPECT_EQ(validate_batch(edit([](bytes& b) { base::store_be16(b.data() + L::attributes, 5); })).error(),
            make_error_code(errc::unsupported_compression));
  EXPECT_EQ(validate_batch(edit([](bytes& b) { base::store_be16(b.data() + L::attributes, 0x100); })).error(),
            make_error_code(errc::invalid_attributes));
  // Claims 2 records but holds 3: bytes remain after the declared records.
  EXPECT_EQ(validate_batch(edit([](bytes& b) { base::store_be32(b.data() + L::records_count, 2); })).error(),
            make_error_code(errc::trailing_bytes));
  // A record length that runs past the batch.
  EXPECT_EQ(validate_batch(edit([](bytes& b) { b[L::records] = 0x7e; })).error(),
            make_error_code(errc::invalid_record));

  // Producer rules.
  EXPECT_TRUE(validate_batch(edit([](bytes& b) { base::store_be32(b.data() + L::last_offset_delta, 5); })));
  EXPECT_EQ(validate_produced_batch(edit([](bytes& b) { base::store_be32(b.data() + L::last_offset_delta, 5); })).error(),
            make_error_code(errc::records_count_mismatch));
  bytes based = good;
  set_base_offset(based, 7);
  EXPECT_TRUE(validate_batch(based));
  EXPECT_EQ(validate_produced_batch(based).error(), make_error_code(errc::invalid_base_offset));
  bytes control = batch_builder().set_control(true).add("k", "v", 1).build();
  EXPECT_EQ(validate_produced_batch(control).error(), make_error_code(errc::control_batch_not_allowed));
}

TEST(record_batch, out_of_order_offset_deltas_rejected) {
  // Hand-build two records with deltas 1, 0.
  bytes good = sample_batch(compression_codec::none, 2);
  // First record: length varint, attributes, timestampDelta, offsetDelta.
  bytes bad = good;
  const size_t first = L::records;
  ASSERT_EQ(bad[first + 3], 0);  // zigzag(0)
  bad[first + 3] = 2;            // delta 1
  base::store_be32(bad.data() + L::crc, compute_batch_crc(bad));
  auto r = validate_batch(bad);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), make_error_code(errc::invalid_offset_delta));
}

TEST(record_batch, header_rewrites_keep_crc_valid) {
  bytes batch = sample_batch(compression_codec::lz4);
  set_base_offset(batch, 123456789012);
  set_partition_leader_epoch(batch, 0);
  auto h = validate_batch(batch);
  ASSERT_TRUE(h);
  EXPECT_EQ(h.value().base_offset, 123456789012);
  EXPECT_EQ(h.value().partition_leader_epoch, 0);

  set_log_append_time(batch, 1'700'000'000'123);
  h = validate_batch(batch);
  ASSERT_TRUE(h) << h.error().message();
  EXPECT_EQ(h.value().timestamp_type(), timestamp_type::log_append_time);
  EXPECT_EQ(h.value().max_timestamp, 1'700'000'000'123);
  EXPECT_EQ(h.value().compression(), compression_codec::lz4);
  auto recs = decode_records(batch);
  ASSERT_TRUE(recs);
  for (const auto& r : recs.value()) EXPECT_EQ(r.timestamp, 1'700'000'000'123);
  EXPECT_EQ(recs.value().front().offset, 123456789012);
}

TEST(record_batch, iterator_stops_at_partial_batch) {
  bytes a = sample_batch(compression_codec::none, 2);
  bytes b = sample_batch(compression_codec::gzip, 3);
  bytes buf = a;
  buf.insert(buf.end(), b.begin(), b.end());
  const size_t whole = buf.size();
  buf.insert(buf.end(), a.begin(), a.begin() + 40);  // trailing partial

  batch_iterator it(buf, true);
  auto first = it.next();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->position, 0u);
  EXPECT_EQ(first->data.size(), a.size());
  auto second = it.next();
  ASSERT_TRUE(second);
  EXPECT_EQ(second->position, a.size());
  EXPECT_EQ(second->header.records_count, 3);
  EXPECT_FALSE(it.next());
  EXPECT_EQ(it.result().reason, scan_stop::partial);
  EXPECT_EQ(it.result().position, whole);

  // Exact end.
  int count = 0;
  auto r = for_each_batch(bytes_view(buf).first(whole), [&](const batch_view&) { return ++count, true; });
  EXPECT_EQ(count, 2);
  EXPECT_EQ(r.reason, scan_stop::end);
  EXPECT_EQ(r.position, whole);

  // Partial inside the next header, and a visitor that stops.
  r = for_each_batch(bytes_view(buf).first(a.size() + 20), [](const batch_view&) { return true; });
  EXPECT_EQ(r.reason, scan_stop::partial);
  EXPECT_EQ(r.position, a.size());
  r = for_each_batch(buf, [](const batch_view&) { return false; });
  EXPECT_EQ(r.reason, scan_stop::stopped);
  EXPECT_EQ(r.position, a.size());

  // Garbage after the first batch.
  bytes junk = a;
  junk.insert(junk.end(), 70, 0xAB);
  r = for_each_batch(junk, [](const batch_view&) { return true; });
  EXPECT_EQ(r.reason, scan_stop::invalid);
  EXPECT_EQ(r.position, a.size());

  // CRC verification in the iterator.
  bytes corrupt = buf;
  corrupt[a.size() + 70] ^= 1;
  r = for_each_batch(corrupt, [](const batch_view&) { return true; }, true);
  EXPECT_EQ(r.reason, scan_stop::invalid);
  EXPECT_EQ(r.error, make_error_code(errc::crc_mismatch));
  EXPECT_EQ(r.position, a.size());
}

}  // namespace
}  // namespace geomirror::records

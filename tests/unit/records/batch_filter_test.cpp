// filter_batch / make_empty_batch: the batch rewrite of the log cleaner keeps
// offsets, timestamps, producer fields and the codec of what it keeps, sets
// the KIP-534 delete horizon for kept tombstones, and every batch it builds
// passes validate_batch. recompress_batch changes only the codec.

#include "broker-core/records/batch_filter.h"

#include "broker-core/records/record.h"
#include "broker-core/records/record_batch.h"

#include <gtest/gtest.h>

#include <string>
#include <tuple>

namespace geomirror::records {
namespace {

std::string str(const std::optional<bytes>& b) { return b ? std::string(b->begin(), b->end()) : "<null>"; }

// Records k0..k(n-1) with values v0.., every third one a tombstone when asked,
// at base offset 1000, producer 7/3/40, timestamps 5000 + 10 * i.
bytes sample(compression_codec codec, int n, bool tombstones = false) {
  batch_builder b(codec);
  b.set_base_offset(1000).set_partition_leader_epoch(0).set_producer(7, 3, 40);
  for (int i = 0; i < n; ++i) {
    const std::string k = "k" + std::to_string(i);
    const std::string v = "v" + std::to_string(i);
    const bool tomb = tombstones && i % 3 == 0;
    b.add(k, tomb ? std::nullopt : std::optional<std::string_view>(v), 5000 + 10 * i,
          {{"h", to_bytes("x" + std::to_string(i))}});
  }
  return b.build();
}

bool keep_odd(const batch_header&, const record_view& r) { return r.offset_delta % 2 == 1; }

TEST(batch_filter, keeping_everything_leaves_the_batch_unchanged) {
  const bytes batch = sample(compression_codec::none, 5);
  auto f = filter_batch(batch, [](const batch_header&, const record_view&) { return true; },
                        no_timestamp);
  ASSERT_TRUE(f) << f.error().message();
  EXPECT_EQ(f.value().what, filtered_batch::outcome::unchanged);
  EXPECT_EQ(f.value().records_kept, 5);
  EXPECT_EQ(f.value().records_removed, 0);
  EXPECT_TRUE(f.value().data.empty());
}

TEST(batch_filter, removed_records_leave_offset_gaps_and_keep_everything_else) {
  for (auto codec : {compression_codec::none, compression_codec::gzip, compression_codec::snappy,
                     compression_codec::lz4, compression_codec::zstd}) {
    SCOPED_TRACE(std::string(to_string(codec)));
    const bytes batch = sample(codec, 7);
    const batch_header before = parse_batch_header(batch).value();
    auto f = filter_batch(batch, keep_odd, 99'999);
    ASSERT_TRUE(f) << f.error().message();
    ASSERT_EQ(f.value().what, filtered_batch::outcome::rewritten);
    EXPECT_EQ(f.value().records_kept, 3);
    EXPECT_EQ(f.value().records_removed, 4);
    auto h = validate_batch(f.value().data);
    ASSERT_TRUE(h) << h.error().message();
    EXPECT_EQ(h.value().base_offset, 1000);
    EXPECT_EQ(h.value().last_offset_delta, 6);
    EXPECT_EQ(h.value().records_count, 3);
    EXPECT_EQ(h.value().producer_id, 7);
    EXPECT_EQ(h.value().producer_epoch, 3);
    EXPECT_EQ(h.value().base_sequence, 40);
    EXPECT_EQ(h.value().partition_leader_epoch, 0);
    EXPECT_EQ(h.value().compression(), codec);
    EXPECT_FALSE(h.value().has_delete_horizon());  // no tombstone kept
    EXPECT_EQ(h.value().base_timestamp, before.base_timestamp);
    EXPECT_EQ(h.value().max_timestamp, 5050);  // largest kept (offset delta 5)
    auto recs = decode_records(f.value().data).value();
    ASSERT_EQ(recs.size(), 3u);
    for (size_t i = 0; i < recs.size(); ++i) {
      const int d = 2 * static_cast<int>(i) + 1;
      EXPECT_EQ(recs[i].offset, 1000 + d);
      EXPECT_EQ(recs[i].timestamp, 5000 + 10 * d);
      EXPECT_EQ(str(recs[i].key), "k" + std::to_string(d));
      EXPECT_EQ(str(recs[i].value), "v" + std::to_string(d));
      ASSERT_EQ(recs[i].headers.size(), 1u);
      EXPECT_EQ(str(recs[i].headers[0].value), "x" + std::to_string(d));
    }
  }
}

TEST(batch_filter, a_kept_tombstone_sets_the_delete_horizon_once) {
  const bytes batch = sample(compression_codec::lz4, 6, true);  // tombstones at 0 and 3
  auto all = [](const batch_header&, const record_view&) { return true; };
  auto f = filter_batch(batch, all, 77'000);
  ASSERT_TRUE(f) << f.error().message();
  ASSERT_EQ(f.value().what, filtered_batch::outcome::rewritten);
  EXPECT_EQ(f.value().records_removed, 0);
  auto h = validate_batch(f.value().data).value();
  EXPECT_TRUE(h.has_delete_horizon());
  EXPECT_EQ(h.base_timestamp, 77'000);
  EXPECT_EQ(h.max_timestamp, 5050);
  auto recs = decode_records(f.value().data).value();
  ASSERT_EQ(recs.size(), 6u);
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(recs[static_cast<size_t>(i)].timestamp, 5000 + 10 * i);  // absolute times kept
    EXPECT_EQ(recs[static_cast<size_t>(i)].value.has_value(), i % 3 != 0);
  }
  // A batch that already has a horizon keeps it.
  auto again = filter_batch(f.value().data, all, 88'000);
  ASSERT_TRUE(again);
  EXPECT_EQ(again.value().what, filtered_batch::outcome::unchanged);
  // Without a horizon to set, a kept tombstone changes nothing.
  auto none = filter_batch(batch, all, no_timestamp);
  ASSERT_TRUE(none);
  EXPECT_EQ(none.value().what, filtered_batch::outcome::unchanged);
}

TEST(batch_filter, removing_every_record_empties_the_batch) {
  const bytes batch = sample(compression_codec::zstd, 4);
  auto f = filter_batch(batch, [](const batch_header&, const record_view&) { return false; }, 1);
  ASSERT_TRUE(f);
  EXPECT_EQ(f.value().what, filtered_batch::outcome::emptied);
  EXPECT_EQ(f.value().records_removed, 4);
  const batch_header original = parse_batch_header(batch).value();
  const bytes empty = make_empty_batch(original);
  auto h = validate_batch(empty);
  ASSERT_TRUE(h) << h.error().message();
  EXPECT_EQ(h.value().records_count, 0);
  EXPECT_EQ(h.value().base_offset, 1000);
  EXPECT_EQ(h.value().last_offset(), 1003);
  EXPECT_EQ(h.value().producer_id, 7);
  EXPECT_EQ(h.value().producer_epoch, 3);
  EXPECT_EQ(h.value().base_sequence, 40);
  EXPECT_EQ(h.value().compression(), compression_codec::none);
  EXPECT_EQ(h.value().base_timestamp, original.max_timestamp);
  EXPECT_EQ(h.value().max_timestamp, original.max_timestamp);
  EXPECT_TRUE(decode_records(empty).value().empty());
  // An empty batch filtered again is reported as emptied.
  auto again = filter_batch(empty, [](const batch_header&, const record_view&) { return true; }, 1);
  ASSERT_TRUE(again);
  EXPECT_EQ(again.value().what, filtered_batch::outcome::emptied);
}

TEST(batch_filter, log_append_time_batches_keep_their_max_timestamp) {
  bytes batch = sample(compression_codec::none, 4);
  set_log_append_time(batch, 123'456);
  auto f = filter_batch(batch, keep_odd, no_timestamp);
  ASSERT_TRUE(f);
  ASSERT_EQ(f.value().what, filtered_batch::outcome::rewritten);
  auto h = validate_batch(f.value().data).value();
  EXPECT_EQ(h.timestamp_type(), timestamp_type::log_append_time);
  EXPECT_EQ(h.max_timestamp, 123'456);
  const auto recs = decode_records(f.value().data).value();
  ASSERT_EQ(recs.size(), 2u);
  for (const auto& r : recs) EXPECT_EQ(r.timestamp, 123'456);
}

TEST(batch_filter, undecodable_records_are_an_error) {
  bytes batch = sample(compression_codec::gzip, 3);
  batch[batch_layout::records + 12] ^= 0xff;  // inside the gzip stream
  auto f = filter_batch(batch, keep_odd, no_timestamp);
  EXPECT_FALSE(f);
}

const compression_codec all_codecs[] = {compression_codec::none, compression_codec::gzip, compression_codec::snappy,
                                        compression_codec::lz4, compression_codec::zstd};

TEST(batch_filter, recompression_keeps_header_and_records) {
  for (auto from : all_codecs) {
    const bytes original = sample(from, 50, true);
    const auto before = validate_batch(original).value();
    const auto records_before = decode_records(original).value();
    for (auto to : all_codecs) {
      SCOPED_TRACE(std::string(to_string(from)) + " -> " + std::string(to_string(to)));
      auto re = recompress_batch(original, to);
      ASSERT_TRUE(re);
      auto after = validate_batch(re.value());
      ASSERT_TRUE(after) << after.error().message();
      EXPECT_EQ(after.value().compression(), to);
      EXPECT_EQ(decode_records(re.value()).value(), records_before);
      auto same_but_codec = [](batch_header h) {
        h.attributes &= ~batch_attributes::compression_mask;
        h.batch_length = 0;
        h.crc = 0;
        return h;
      };
      const auto a = same_but_codec(after.value());
      const auto b = same_but_codec(before);
      EXPECT_EQ(std::tie(a.base_offset, a.partition_leader_epoch, a.attributes, a.last_offset_delta,
                         a.base_timestamp, a.max_timestamp, a.producer_id, a.producer_epoch, a.base_sequence,
                         a.records_count),
                std::tie(b.base_offset, b.partition_leader_epoch, b.attributes, b.last_offset_delta,
                         b.base_timestamp, b.max_timestamp, b.producer_id, b.producer_epoch, b.base_sequence,
                         b.records_count));
      if (from == to && to == compression_codec::none) {
        EXPECT_EQ(re.value(), original);
      }
    }
  }
}

TEST(batch_filter, recompression_refuses_corrupt_compressed_records) {
  bytes batch = sample(compression_codec::lz4, 20);
  batch[batch_header_size + 10] ^= 0xff;  // inside the LZ4 frame
  EXPECT_FALSE(recompress_batch(batch, compression_codec::gzip));
}

}  // namespace
}  // namespace geomirror::records

// Retention by time and size, log start offset breaches, and the ListOffsets
// lookups (offset_for_timestamp, max_timestamp_record) against a brute-force
// scan, compressed batches included.

#include "broker-core/storage/errc.h"
#include "broker-core/storage/file_names.h"
#include "broker-core/storage/partition_log.h"
#include "tests/unit/storage/storage_test_util.h"

#include <gtest/gtest.h>

#include <random>

namespace geomirror::storage::test {
namespace {

namespace fs = std::filesystem;
using records::compression_codec;

size_t count_logs(const fs::path& dir) {
  size_t n = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    auto p = parse_segment_file_name(e.path().filename().string());
    if (p && p->second == segment_file_kind::log) ++n;
  }
  return n;
}

class retention_test : public ::testing::Test {
 protected:
  fs::path pdir() const { return dir_.path() / "t-0"; }
  temp_dir dir_;
  flusher flusher_{2};
};

TEST_F(retention_test, time_retention_deletes_old_segments_and_moves_log_start) {
  log_config c = small_segments(500);
  c.retention_ms = 1000;
  auto log = partition_log::open(dir_.path(), "t", 0, c, flusher_).value();
  // Old records (timestamps 0..), then recent ones.
  for (int i = 0; i < 10; ++i) append_durable(*log, make_batch(2, i, i * 2, compression_codec::none, 60));
  const size_t old_segments = log->segment_count();
  for (int i = 0; i < 4; ++i) {
    append_durable(*log, make_batch(2, 100'000 + i, 20 + i * 2, compression_codec::none, 60));
  }
  ASSERT_GT(old_segments, 2u);
  const size_t before = log->segment_count();
  const size_t deleted = log->apply_retention(100'500);
  EXPECT_GT(deleted, 0u);
  EXPECT_EQ(log->segment_count(), before - deleted);
  EXPECT_EQ(count_logs(pdir()), log->segment_count());
  EXPECT_GT(log->log_start_offset(), 0);
  EXPECT_LE(log->log_start_offset(), 20);
  EXPECT_EQ(log->read(0, 100, true).error(), make_error_code(errc::offset_out_of_range));
  auto recs = read_all(*log);
  EXPECT_EQ(recs.front().offset, log->log_start_offset());
  EXPECT_EQ(recs.back().offset, 27);
  // Nothing else is old enough.
  EXPECT_EQ(log->apply_retention(100'500), 0u);
}

TEST_F(retention_test, expired_active_segment_is_rolled_then_deleted) {
  log_config c;
  c.retention_ms = 1000;
  auto log = partition_log::open(dir_.path(), "t", 0, c, flusher_).value();
  for (int i = 0; i < 3; ++i) append_durable(*log, make_batch(2, 10 + i, i * 2));
  EXPECT_EQ(log->segment_count(), 1u);
  EXPECT_EQ(log->apply_retention(50'000), 1u);
  EXPECT_EQ(log->segment_count(), 1u);
  EXPECT_EQ(log->log_start_offset(), 6);
  EXPECT_EQ(log->log_end_offset(), 6);
  EXPECT_TRUE(fs::exists(pdir() / "00000000000000000006.log"));
  EXPECT_FALSE(fs::exists(pdir() / "00000000000000000000.log"));
  auto r = log->read(6, 100, true);
  ASSERT_TRUE(r);
  EXPECT_TRUE(data_of(r.value()).empty());
  auto info = append_durable(*log, make_batch(1, 60'000));
  EXPECT_EQ(info.base_offset, 6);
  EXPECT_EQ(info.log_start_offset, 6);
  // Reopen: the empty-then-refilled log keeps its offsets.
  log->close();
  auto again = partition_log::open(dir_.path(), "t", 0, c, flusher_).value();
  EXPECT_EQ(again->log_start_offset(), 6);
  EXPECT_EQ(again->log_end_offset(), 7);
}

TEST_F(retention_test, size_retention_keeps_the_newest_bytes) {
  log_config c = small_segments(1000);
  c.retention_ms = -1;
  c.retention_bytes = 2500;
  auto log = partition_log::open(dir_.path(), "t", 0, c, flusher_).value();
  for (int i = 0; i < 30; ++i) append_durable(*log, make_batch(2, i, i * 2, compression_codec::none, 60));
  const uint64_t before = log->size_bytes();
  ASSERT_GT(before, 2500u);
  EXPECT_GT(log->apply_retention(0), 0u);
  EXPECT_GE(log->size_bytes(), 2500u - 1000u);
  EXPECT_LT(log->size_bytes(), before);
  // One more segment would take it under the limit.
  EXPECT_EQ(log->apply_retention(0), 0u);
  EXPECT_EQ(count_logs(pdir()), log->segment_count());
  EXPECT_EQ(read_all(*log).back().offset, 59);
}

TEST_F(retention_test, segments_below_log_start_are_deleted) {
  log_config c = small_segments(600);
  c.retention_ms = -1;
  auto log = partition_log::open(dir_.path(), "t", 0, c, flusher_).value();
  for (int i = 0; i < 20; ++i) append_durable(*log, make_batch(2, i, i * 2, compression_codec::none, 40));
  const size_t before = log->segment_count();
  ASSERT_TRUE(log->advance_log_start_offset(21));
  EXPECT_GT(log->apply_retention(0), 0u);
  EXPECT_LT(log->segment_count(), before);
  EXPECT_EQ(log->log_start_offset(), 21);
  auto recs = read_all(*log);
  EXPECT_EQ(recs.front().offset, 21);
  EXPECT_EQ(recs.size(), 19u);
}

TEST_F(retention_test, retention_never_deletes_above_the_high_watermark) {
  held_flusher f;
  log_config c = small_segments(600);  // two batches per segment
  c.retention_ms = 0;
  auto log = partition_log::open(dir_.path(), "t", 0, c, f.get()).value();
  for (int i = 0; i < 3; ++i) append_durable(*log, make_batch(1, 1, i, compression_codec::none, 200));
  ASSERT_EQ(log->segment_count(), 2u);
  // Offset 3 goes into the active segment but is not synced: the high
  // watermark stays at 3 while the log ends at 4.
  f.hold();
  ASSERT_TRUE(log->append_and_wait(make_batch(1, 1, 3, compression_codec::none, 200), 1));
  EXPECT_EQ(log->high_watermark(), 3);
  EXPECT_EQ(log->log_end_offset(), 4);
  // Every segment is past retention.ms, but the active one holds data above
  // the high watermark: only the first goes.
  EXPECT_EQ(log->apply_retention(1'000'000), 1u);
  EXPECT_EQ(log->log_start_offset(), 2);
  EXPECT_EQ(log->log_end_offset(), 4);
  f.release();
}

// Brute force over decoded records.
std::optional<timestamp_and_offset> expected_for(const std::vector<records::record>& recs,
                                                 int64_t ts) {
  for (const auto& r : recs) {
    if (r.timestamp >= ts) return timestamp_and_offset{r.timestamp, r.offset};
  }
  return std::nullopt;
}

TEST_F(retention_test, offset_for_timestamp_matches_brute_force) {
  auto log = partition_log::open(dir_.path(), "t", 0, small_segments(1500, 100), flusher_).value();
  std::mt19937 rng(3);
  int value = 0;
  for (int i = 0; i < 80; ++i) {
    records::batch_builder b(static_cast<compression_codec>(i % 5));
    const int n = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < n; ++k) {
      // Mostly increasing, sometimes going back in time.
      const int64_t ts = 1000 + i * 10 + static_cast<int64_t>(rng() % 25) - 5;
      b.add("k", "v" + std::to_string(value++), ts);
    }
    append_durable(*log, b.build());
  }
  const auto all = read_all(*log);
  for (int64_t ts = 900; ts <= 1900; ts += 7) {
    auto got = log->offset_for_timestamp(ts);
    ASSERT_TRUE(got);
    auto want = expected_for(all, ts);
    ASSERT_EQ(got.value().has_value(), want.has_value()) << ts;
    if (want) {
      EXPECT_EQ(got.value()->offset, want->offset) << ts;
      EXPECT_EQ(got.value()->timestamp, want->timestamp) << ts;
    }
  }
  // Log start offset respected.
  ASSERT_TRUE(log->advance_log_start_offset(50));
  auto got = log->offset_for_timestamp(0);
  ASSERT_TRUE(got && got.value());
  EXPECT_EQ(got.value()->offset, 50);
}

TEST_F(retention_test, max_timestamp_record_finds_the_first_maximum) {
  auto log = partition_log::open(dir_.path(), "t", 0, small_segments(400, 64), flusher_).value();
  EXPECT_FALSE(log->max_timestamp_record().value().has_value());
  append_durable(*log, make_batch(3, 100, 0));
  {
    records::batch_builder b(compression_codec::zstd);
    b.add("k", "a", 150).add("k", "b", 9'000).add("k", "c", 200).add("k", "d", 9'000);
    append_durable(*log, b.build());  // offsets 3..6, max at offset 4
  }
  for (int i = 0; i < 10; ++i) append_durable(*log, make_batch(2, 500 + i, 0, compression_codec::none, 60));
  ASSERT_GT(log->segment_count(), 2u);
  auto got = log->max_timestamp_record();
  ASSERT_TRUE(got && got.value());
  EXPECT_EQ(got.value()->timestamp, 9'000);
  EXPECT_EQ(got.value()->offset, 4);
  // Survives a reopen (max from the sealed segments' time indexes).
  log->close();
  auto again = partition_log::open(dir_.path(), "t", 0, small_segments(400, 64), flusher_).value();
  got = again->max_timestamp_record();
  ASSERT_TRUE(got && got.value());
  EXPECT_EQ(got.value()->offset, 4);
}

TEST_F(retention_test, max_timestamp_ignores_unsynced_batches) {
  held_flusher f;
  auto log = partition_log::open(dir_.path(), "t", 0, {}, f.get()).value();
  append_durable(*log, make_batch(2, 100, 0));
  f.hold();
  auto later = make_batch(1, 5'000, 2);
  ASSERT_TRUE(log->append_and_wait(later, 1));
  auto got = log->max_timestamp_record();
  ASSERT_TRUE(got && got.value());
  EXPECT_EQ(got.value()->offset, 1);
  EXPECT_EQ(got.value()->timestamp, 101);
  f.release();
}

}  // namespace
}  // namespace geomirror::storage::test

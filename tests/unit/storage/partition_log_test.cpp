// partition_log append/read: round trips across segment rolls, offset index
// lookups at every offset, Fetch read limits (max_bytes trimming, KIP-74
// first batch, cross-segment reads, empty read at the high watermark, out of
// range), LogAppendTime stamping.

#include "broker-core/records/errc.h"
#include "broker-core/storage/errc.h"
#include "broker-core/storage/file_names.h"
#include "broker-core/storage/partition_log.h"
#include "tests/unit/storage/storage_test_util.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include <fcntl.h>
#include <unistd.h>

namespace geomirror::storage::test {
namespace {

using records::compression_codec;

class partition_log_test : public ::testing::Test {
 protected:
  std::shared_ptr<partition_log> open(const log_config& config = {}) {
    auto log = partition_log::open(dir_.path(), "orders", 0, config, flusher_);
    EXPECT_TRUE(log) << log.error().message();
    return log ? log.value() : nullptr;
  }

  temp_dir dir_;
  flusher flusher_{2};
};

TEST_F(partition_log_test, new_log_is_empty) {
  auto log = open();
  EXPECT_EQ(log->log_start_offset(), 0);
  EXPECT_EQ(log->log_end_offset(), 0);
  EXPECT_EQ(log->high_watermark(), 0);
  EXPECT_TRUE(std::filesystem::exists(dir_.path() / "orders-0" / "00000000000000000000.log"));
  auto r = log->read(0, 1024, true);
  ASSERT_TRUE(r);
  EXPECT_TRUE(data_of(r.value()).empty());
  EXPECT_EQ(log->read(1, 1024, true).error(), make_error_code(errc::offset_out_of_range));
}

TEST_F(partition_log_test, append_assigns_offsets_and_round_trips_across_rolls) {
  auto log = open(small_segments(1000));
  int value = 0;
  int64_t expected_base = 0;
  for (int i = 0; i < 60; ++i) {
    const int n = 1 + i % 4;
    auto codec = static_cast<compression_codec>(i % 5);
    auto info = append_durable(*log, make_batch(n, 10'000 + i, value, codec, 20));
    EXPECT_EQ(info.base_offset, expected_base);
    EXPECT_EQ(info.last_offset, expected_base + n - 1);
    EXPECT_EQ(info.log_append_time_ms, -1);
    expected_base += n;
    value += n;
  }
  EXPECT_EQ(log->log_end_offset(), expected_base);
  EXPECT_EQ(log->high_watermark(), expected_base);
  EXPECT_GT(log->segment_count(), 5u);
  auto recs = read_all(*log);
  ASSERT_EQ(recs.size(), static_cast<size_t>(value));
  for (size_t i = 0; i < recs.size(); ++i) {
    EXPECT_EQ(recs[i].offset, static_cast<int64_t>(i));
    std::string v(recs[i].value->begin(), recs[i].value->end());
    EXPECT_EQ(v.substr(0, v.find('x')), "v" + std::to_string(i));
  }
  // Segment files are named by base offset, zero-padded to 20 digits.
  size_t logs = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir_.path() / "orders-0")) {
    if (auto p = parse_segment_file_name(e.path().filename().string())) {
      if (p->second == segment_file_kind::log) ++logs;
    }
  }
  EXPECT_EQ(logs, log->segment_count());
}

TEST_F(partition_log_test, batch_larger_than_segment_bytes_gets_its_own_segment) {
  auto log = open(small_segments(500));
  append_durable(*log, make_batch(1, 1, 0));
  append_durable(*log, make_batch(3, 1, 1, compression_codec::none, 400));
  append_durable(*log, make_batch(1, 1, 4));
  EXPECT_EQ(log->segment_count(), 3u);
  EXPECT_EQ(read_all(*log).size(), 5u);
}

TEST_F(partition_log_test, index_lookup_finds_the_batch_for_every_offset) {
  auto log = open(small_segments(20'000, 100));
  std::mt19937 rng(1);
  int value = 0;
  for (int i = 0; i < 400; ++i) {
    const int n = 1 + static_cast<int>(rng() % 5);
    auto batch = make_batch(n, i, value, compression_codec::none, rng() % 200);
    auto info = log->append_and_wait(batch, 1);
    ASSERT_TRUE(info);
    value += n;
  }
  ASSERT_TRUE(log->flush());
  ASSERT_EQ(log->high_watermark(), value);
  ASSERT_GT(log->segment_count(), 3u);
  for (int64_t o = 0; o < value; ++o) {
    auto r = log->read(o, 1, true);
    ASSERT_TRUE(r);
    auto spans = batches_in(data_of(r.value()));
    ASSERT_EQ(spans.size(), 1u) << "offset " << o;
    EXPECT_LE(spans[0].base, o);
    EXPECT_GE(spans[0].last, o);
  }
}

TEST_F(partition_log_test, read_limits) {
  auto log = open(small_segments(100'000));
  std::vector<size_t> sizes;
  for (int i = 0; i < 10; ++i) {
    auto batch = make_batch(2, i, i * 2, compression_codec::none, 100);
    sizes.push_back(batch.size());
    append_durable(*log, batch);
  }
  const size_t one = sizes[0];
  // max_bytes trims to whole batches.
  auto r = log->read(0, static_cast<int32_t>(one * 2 + one / 2), true);
  ASSERT_TRUE(r);
  EXPECT_EQ(data_of(r.value()).size(), one * 2);
  EXPECT_EQ(batches_in(data_of(r.value())).size(), 2u);
  EXPECT_EQ(r.value().high_watermark, 20);
  EXPECT_EQ(r.value().log_end_offset, 20);
  EXPECT_EQ(r.value().log_start_offset, 0);
  // Exactly two batches.
  r = log->read(0, static_cast<int32_t>(one * 2), true);
  EXPECT_EQ(data_of(r.value()).size(), one * 2);
  // First batch larger than max_bytes: whole with min_one_batch, else nothing.
  r = log->read(4, 10, true);
  ASSERT_TRUE(r);
  ASSERT_EQ(batches_in(data_of(r.value())).size(), 1u);
  EXPECT_EQ(batches_in(data_of(r.value()))[0].base, 4);
  r = log->read(4, 10, false);
  ASSERT_TRUE(r);
  EXPECT_TRUE(data_of(r.value()).empty());
  r = log->read(4, 0, true);
  EXPECT_EQ(batches_in(data_of(r.value())).size(), 1u);
  // Offset in the middle of a batch returns that whole batch.
  r = log->read(5, 1'000'000, true);
  ASSERT_TRUE(r);
  EXPECT_EQ(batches_in(data_of(r.value())).front().base, 4);
  EXPECT_EQ(batches_in(data_of(r.value())).back().last, 19);
  // At the high watermark: empty, no error. Past the end: out of range.
  r = log->read(20, 1000, true);
  ASSERT_TRUE(r);
  EXPECT_TRUE(data_of(r.value()).empty());
  EXPECT_EQ(log->read(21, 1000, true).error(), make_error_code(errc::offset_out_of_range));
  EXPECT_EQ(log->read(-1, 1000, true).error(), make_error_code(errc::offset_out_of_range));
}

TEST_F(partition_log_test, reads_continue_into_following_segments) {
  auto log = open(small_segments(600));
  for (int i = 0; i < 20; ++i) append_durable(*log, make_batch(3, i, i * 3, compression_codec::none, 30));
  ASSERT_GT(log->segment_count(), 4u);
  auto r = log->read(0, 1 << 20, false);
  ASSERT_TRUE(r);
  auto spans = batches_in(data_of(r.value()));
  ASSERT_EQ(spans.size(), 20u);
  for (size_t i = 0; i < spans.size(); ++i) EXPECT_EQ(spans[i].base, static_cast<int64_t>(i * 3));
  // A budget ending inside the second segment stops at a batch boundary.
  r = log->read(7, 900, false);
  ASSERT_TRUE(r);
  spans = batches_in(data_of(r.value()));
  ASSERT_FALSE(spans.empty());
  EXPECT_EQ(spans.front().base, 6);
  EXPECT_LE(data_of(r.value()).size(), 900u);
  for (size_t i = 1; i < spans.size(); ++i) EXPECT_EQ(spans[i].base, spans[i - 1].last + 1);
}

// The budget trimming must find batch boundaries through the index even when
// a read ends many index entries after its start.
TEST_F(partition_log_test, trims_to_whole_batches_at_any_budget) {
  log_config config = small_segments(1 << 20);
  config.index_interval_bytes = 256;
  auto log = open(config);
  std::vector<uint64_t> ends{0};  // batch end positions
  for (int i = 0; i < 200; ++i) {
    auto batch = make_batch(1 + i % 3, i, i, compression_codec::none, 10 + (i * 37) % 300);
    ends.push_back(ends.back() + batch.size());
    append_durable(*log, batch);
  }
  for (int32_t budget = 1; budget < static_cast<int32_t>(ends.back()); budget += 97) {
    auto r = log->read(0, budget, false);
    ASSERT_TRUE(r);
    const uint64_t size = r.value().size();
    auto expected = *std::prev(std::upper_bound(ends.begin(), ends.end(), static_cast<uint64_t>(budget)));
    EXPECT_EQ(size, expected) << "budget " << budget;
  }
}

// A read told not to wait for the disk refuses data the page cache lost, and
// reads it when allowed to block.
TEST_F(partition_log_test, no_wait_reads_refuse_cold_data) {
  auto log = open(small_segments(64 * 1024));
  for (int i = 0; i < 40; ++i) append_durable(*log, make_batch(10, i, i * 10, compression_codec::none, 200));
  auto hot = log->read(0, 1 << 20, false, false);
  ASSERT_TRUE(hot) << hot.error().message();
  const auto want = data_of(hot.value());
  ASSERT_GT(want.size(), 64u * 1024);
  for (const auto& entry : std::filesystem::directory_iterator(dir_.path() / "orders-0")) {
    if (entry.path().extension() != ".log") continue;
    int fd = ::open(entry.path().c_str(), O_RDONLY);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED), 0);
    ::close(fd);
  }
  auto cold = log->read(0, 1 << 20, false, false);
  ASSERT_FALSE(cold);
  EXPECT_EQ(cold.error(), make_error_code(errc::would_block));
  auto blocking = log->read(0, 1 << 20, false, true);
  ASSERT_TRUE(blocking);
  EXPECT_EQ(data_of(blocking.value()), want);
}

TEST_F(partition_log_test, append_rejects_non_batches_and_rewrites_header_only) {
  auto log = open();
  records::bytes junk(30, 1);
  EXPECT_EQ(log->append_and_wait(junk, 1).error(), make_error_code(errc::invalid_batch));
  auto batch = make_batch(3, 100, 0, compression_codec::gzip);
  auto trailing = batch;
  trailing.push_back(0);
  EXPECT_EQ(log->append_and_wait(trailing, 1).error(), make_error_code(errc::invalid_batch));

  append_durable(*log, make_batch(2, 1, 0));
  auto copy = batch;
  auto info = log->append_and_wait(copy, 1);
  ASSERT_TRUE(info);
  EXPECT_EQ(info.value().base_offset, 2);
  ASSERT_TRUE(log->flush());
  auto r = log->read(2, 1 << 20, true);
  ASSERT_TRUE(r);
  // Identical except base offset (0 -> 2) and leader epoch (-1 -> 0); CRC intact.
  auto stored = data_of(r.value());
  ASSERT_EQ(stored.size(), batch.size());
  EXPECT_TRUE(std::equal(stored.begin() + 16, stored.end(), batch.begin() + 16));
  auto h = records::validate_batch(stored);
  ASSERT_TRUE(h);
  EXPECT_EQ(h.value().base_offset, 2);
  EXPECT_EQ(h.value().partition_leader_epoch, 0);
}

TEST_F(partition_log_test, log_append_time_is_stamped_with_valid_crc) {
  log_config c;
  c.log_append_time = true;
  auto log = open(c);
  auto info = append_durable(*log, make_batch(3, 5, 0, compression_codec::lz4), 1'700'000'000'000);
  EXPECT_EQ(info.log_append_time_ms, 1'700'000'000'000);
  auto recs = read_all(*log);
  ASSERT_EQ(recs.size(), 3u);
  for (const auto& r : recs) EXPECT_EQ(r.timestamp, 1'700'000'000'000);
  auto ts = log->offset_for_timestamp(1'700'000'000'000);
  ASSERT_TRUE(ts);
  ASSERT_TRUE(ts.value());
  EXPECT_EQ(ts.value()->offset, 0);
}

TEST_F(partition_log_test, closed_log_refuses_work_and_wakes_waiters) {
  auto log = open();
  append_durable(*log, make_batch(1, 1));
  bool woke = false;
  log->add_high_watermark_waiter([&] { woke = true; });
  log->close();
  EXPECT_TRUE(woke);
  auto batch = make_batch(1, 1);
  EXPECT_EQ(log->append_and_wait(batch, 1).error(), make_error_code(errc::closed));
  EXPECT_EQ(log->read(0, 100, true).error(), make_error_code(errc::closed));
  std::error_code got;
  log->when_durable(5, [&](std::error_code ec) { got = ec; });
  EXPECT_EQ(got, make_error_code(errc::closed));
  log->close();  // idempotent
}

TEST_F(partition_log_test, remove_deletes_the_directory) {
  auto log = open();
  append_durable(*log, make_batch(1, 1));
  ASSERT_TRUE(log->remove());
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "orders-0"));
}

TEST_F(partition_log_test, invalid_names_rejected) {
  EXPECT_FALSE(partition_log::open(dir_.path(), "bad/name", 0, {}, flusher_));
  EXPECT_FALSE(partition_log::open(dir_.path(), "ok", -1, {}, flusher_));
}

}  // namespace
}  // namespace geomirror::storage::test

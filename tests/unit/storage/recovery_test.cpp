// Recovery: a torn or corrupt tail of the last segment is cut at the last
// whole batch and appends continue from there; index files that are missing
// or garbage are rebuilt; corrupt older segments keep their unreadable bytes
// aside; stray files are cleaned; the log start offset survives a reopen.

#include "broker-core/storage/errc.h"
#include "broker-core/storage/file_io.h"
#include "broker-core/storage/file_names.h"
#include "broker-core/storage/partition_log.h"
#include "tests/unit/storage/storage_test_util.h"

#include <gtest/gtest.h>

#include <fstream>

namespace geomirror::storage::test {
namespace {

namespace fs = std::filesystem;

records::bytes slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return records::bytes(std::istreambuf_iterator<char>(in), {});
}

void spit(const fs::path& p, const records::bytes& b) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

std::vector<fs::path> segment_logs(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    auto p = parse_segment_file_name(e.path().filename().string());
    if (p && p->second == segment_file_kind::log) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

class recovery_test : public ::testing::Test {
 protected:
  fs::path pdir() const { return dir_.path() / "t-0"; }

  std::shared_ptr<partition_log> open(const log_config& c = small_segments(1 << 20, 64)) {
    auto log = partition_log::open(dir_.path(), "t", 0, c, flusher_);
    EXPECT_TRUE(log) << log.error().message();
    return log ? log.value() : nullptr;
  }

  // Writes `n` batches of 2 records; returns the end position of each batch
  // in the (single) segment.
  std::vector<uint64_t> fill(int n, const log_config& c = small_segments(1 << 20, 64)) {
    auto log = open(c);
    std::vector<uint64_t> ends;
    uint64_t pos = 0;
    for (int i = 0; i < n; ++i) {
      auto b = make_batch(2, 100 + i, i * 2, records::compression_codec::none, 40);
      pos += b.size();
      ends.push_back(pos);
      append_durable(*log, b);
    }
    log->close();
    return ends;
  }

  temp_dir dir_;
  flusher flusher_{2};
};

TEST_F(recovery_test, clean_reopen_keeps_everything) {
  fill(10);
  auto log = open();
  EXPECT_EQ(log->log_end_offset(), 20);
  EXPECT_EQ(log->high_watermark(), 20);
  EXPECT_EQ(read_all(*log).size(), 20u);
}

TEST_F(recovery_test, torn_tail_is_truncated_at_the_last_whole_batch) {
  const auto ends = fill(6);
  const fs::path seg = pdir() / "00000000000000000000.log";
  const records::bytes full = slurp(seg);
  ASSERT_EQ(full.size(), ends.back());
  const uint64_t last_start = ends[ends.size() - 2];
  // Cut inside the length field, inside the header, inside the records, and
  // one byte short of the end.
  for (uint64_t cut : {last_start + 5, last_start + 30, last_start + 70, ends.back() - 1}) {
    spit(seg, records::bytes(full.begin(), full.begin() + static_cast<ptrdiff_t>(cut)));
    auto log = open();
    EXPECT_EQ(log->log_end_offset(), 10) << "cut at " << cut;
    EXPECT_EQ(fs::file_size(seg), last_start) << "cut at " << cut;
    EXPECT_EQ(read_all(*log).size(), 10u);
    // New appends continue right after the last whole batch.
    auto info = append_durable(*log, make_batch(2, 500, 10));
    EXPECT_EQ(info.base_offset, 10);
    auto recs = read_all(*log);
    ASSERT_EQ(recs.size(), 12u);
    for (size_t i = 0; i < recs.size(); ++i) EXPECT_EQ(recs[i].offset, static_cast<int64_t>(i));
    log->close();
  }
}

TEST_F(recovery_test, corrupt_byte_in_the_last_batch_truncates_it) {
  const auto ends = fill(5);
  const fs::path seg = pdir() / "00000000000000000000.log";
  records::bytes data = slurp(seg);
  const uint64_t last_start = ends[ends.size() - 2];
  data[last_start + (ends.back() - last_start) / 2] ^= 0x40;
  spit(seg, data);
  auto log = open();
  EXPECT_EQ(log->log_end_offset(), 8);
  EXPECT_EQ(fs::file_size(seg), last_start);
  EXPECT_EQ(read_all(*log).size(), 8u);
}

TEST_F(recovery_test, corruption_mid_segment_drops_everything_after_it) {
  const auto ends = fill(8);
  const fs::path seg = pdir() / "00000000000000000000.log";
  records::bytes data = slurp(seg);
  data[ends[2] + 40] ^= 0x01;  // inside the 4th batch
  spit(seg, data);
  auto log = open();
  EXPECT_EQ(log->log_end_offset(), 6);
  EXPECT_EQ(read_all(*log).size(), 6u);
}

TEST_F(recovery_test, garbage_and_zero_fill_tails) {
  const auto ends = fill(3);
  const fs::path seg = pdir() / "00000000000000000000.log";
  records::bytes data = slurp(seg);
  data.insert(data.end(), 4096, 0);  // preallocated zeros after a crash
  spit(seg, data);
  {
    auto log = open();
    EXPECT_EQ(log->log_end_offset(), 6);
    EXPECT_EQ(fs::file_size(seg), ends.back());
    log->close();
  }
  data.resize(ends.back());
  data.insert(data.end(), 100, 0xAB);
  spit(seg, data);
  auto log = open();
  EXPECT_EQ(log->log_end_offset(), 6);
  EXPECT_EQ(fs::file_size(seg), ends.back());
}

TEST_F(recovery_test, only_the_last_segment_is_truncated) {
  const log_config c = small_segments(400, 64);
  fill(12, c);
  auto logs = segment_logs(pdir());
  ASSERT_GT(logs.size(), 3u);
  int64_t before_end;
  {
    auto log = open(c);
    before_end = log->log_end_offset();
    log->close();
  }
  // Tear the last segment in half.
  const auto last = logs.back();
  fs::resize_file(last, fs::file_size(last) / 2);
  auto log = open(c);
  EXPECT_LT(log->log_end_offset(), before_end);
  auto recs = read_all(*log);
  EXPECT_EQ(static_cast<int64_t>(recs.size()), log->log_end_offset());
  auto info = append_durable(*log, make_batch(1, 1));
  EXPECT_EQ(info.base_offset, static_cast<int64_t>(recs.size()));
}

TEST_F(recovery_test, missing_or_garbage_indexes_are_rebuilt) {
  const log_config c = small_segments(2000, 64);
  fill(40, c);
  auto logs = segment_logs(pdir());
  ASSERT_GT(logs.size(), 3u);
  const fs::path first = logs.front();
  fs::path idx = first, tidx = first;
  idx.replace_extension(".index");
  tidx.replace_extension(".timeindex");
  const records::bytes good_idx = slurp(idx);
  const records::bytes good_tidx = slurp(tidx);
  ASSERT_FALSE(good_idx.empty());
  ASSERT_FALSE(good_tidx.empty());

  fs::remove(idx);
  spit(tidx, records::bytes(7, 0x55));
  fs::path second_idx = logs[1];
  second_idx.replace_extension(".index");
  records::bytes bad = slurp(second_idx);
  ASSERT_GE(bad.size(), 8u);
  std::fill(bad.end() - 4, bad.end(), 0x7f);  // position far beyond the log
  spit(second_idx, bad);

  auto log = open(c);
  EXPECT_EQ(log->log_end_offset(), 80);
  EXPECT_EQ(slurp(idx), good_idx);
  EXPECT_EQ(slurp(tidx), good_tidx);
  for (int64_t o = 0; o < 80; ++o) {
    auto r = log->read(o, 1, true);
    ASSERT_TRUE(r);
    auto spans = batches_in(data_of(r.value()));
    ASSERT_EQ(spans.size(), 1u);
    EXPECT_LE(spans[0].base, o);
    EXPECT_GE(spans[0].last, o);
  }
  // Batch i holds timestamps 100+i and 101+i at offsets 2i and 2i+1.
  auto ts = log->offset_for_timestamp(100 + 20);
  ASSERT_TRUE(ts && ts.value());
  EXPECT_EQ(ts.value()->offset, 39);
  EXPECT_EQ(ts.value()->timestamp, 120);
}

TEST_F(recovery_test, corrupt_older_segment_keeps_bytes_aside) {
  const log_config c = small_segments(1000, 64);
  fill(20, c);
  auto logs = segment_logs(pdir());
  ASSERT_GT(logs.size(), 2u);
  fs::path idx = logs[0];
  idx.replace_extension(".index");
  fs::remove(idx);  // forces a full scan of the first segment
  records::bytes data = slurp(logs[0]);
  const size_t original = data.size();
  data[data.size() - 10] ^= 0xff;
  spit(logs[0], data);
  auto log = open(c);
  EXPECT_LT(fs::file_size(logs[0]), original);
  bool aside = false;
  for (const auto& e : fs::directory_iterator(pdir())) {
    if (e.path().filename().string().find(".cannotrecover") != std::string::npos) aside = true;
  }
  EXPECT_TRUE(aside);
  // Everything else is still served; the lost batch is a gap.
  EXPECT_EQ(log->log_end_offset(), 40);
}

TEST_F(recovery_test, stray_files_are_removed_and_unknown_ones_kept) {
  fill(2);
  spit(pdir() / "00000000000000000777.index", records::bytes(8, 0));
  spit(pdir() / "00000000000000000777.timeindex", records::bytes(12, 0));
  spit(pdir() / "log-start-offset.tmp", records::bytes(3, 0));
  spit(pdir() / "notes.txt", records::bytes(3, 'a'));
  auto log = open();
  EXPECT_FALSE(fs::exists(pdir() / "00000000000000000777.index"));
  EXPECT_FALSE(fs::exists(pdir() / "00000000000000000777.timeindex"));
  EXPECT_FALSE(fs::exists(pdir() / "log-start-offset.tmp"));
  EXPECT_TRUE(fs::exists(pdir() / "notes.txt"));
  EXPECT_EQ(log->log_end_offset(), 4);
}

TEST_F(recovery_test, unreadable_segment_is_renamed_aside) {
  const log_config c = small_segments(500, 64);
  fill(12, c);
  auto logs = segment_logs(pdir());
  ASSERT_GT(logs.size(), 2u);
  // A directory where a segment file should be: cannot be opened as a file.
  const fs::path victim = logs[1];
  fs::remove(victim);
  fs::create_directory(victim);
  auto log = open(c);
  fs::path aside = victim;
  aside += ".cannotrecover";
  EXPECT_TRUE(fs::exists(aside));
  EXPECT_FALSE(fs::exists(victim));
  EXPECT_EQ(log->log_end_offset(), 24);
}

TEST_F(recovery_test, log_start_offset_persists_across_reopen) {
  fill(10);
  {
    auto log = open();
    EXPECT_EQ(log->advance_log_start_offset(25).error(), make_error_code(errc::offset_out_of_range));
    ASSERT_TRUE(log->advance_log_start_offset(7));
    ASSERT_TRUE(log->advance_log_start_offset(3));  // never moves back
    EXPECT_EQ(log->log_start_offset(), 7);
    EXPECT_EQ(log->read(6, 100, true).error(), make_error_code(errc::offset_out_of_range));
    auto r = log->read(7, 1 << 20, true);
    ASSERT_TRUE(r);
    EXPECT_EQ(batches_in(data_of(r.value())).front().base, 6);  // the batch holding 7
    log->close();
  }
  EXPECT_TRUE(fs::exists(pdir() / "log-start-offset"));
  auto log = open();
  EXPECT_EQ(log->log_start_offset(), 7);
  auto recs = read_all(*log);
  ASSERT_EQ(recs.size(), 13u);
  EXPECT_EQ(recs.front().offset, 7);
  // A corrupt file is ignored.
  log->close();
  spit(pdir() / "log-start-offset", records::bytes(14, 0x33));
  EXPECT_EQ(open()->log_start_offset(), 0);
}

}  // namespace
}  // namespace geomirror::storage::test

// Log compaction, one partition_log at a time (clean() driven by hand, time
// through now_ms): at most one record per key left in cleaned segments,
// offsets unchanged, a reader from offset 0 sees every key's latest value;
// tombstones kept for delete_retention_ms after the first pass, then removed;
// compact,delete also applies retention, compact alone does not; compressed
// batches are rewritten with their codec; a producer's last batch stays
// (empty) so idempotence survives; min compaction lag is respected; a capped
// key map spreads the work over several passes.

#include "broker-core/records/record.h"
#include "broker-core/storage/errc.h"
#include "broker-core/storage/file_names.h"
#include "broker-core/storage/partition_log.h"
#include "tests/unit/storage/storage_test_util.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>

namespace geomirror::storage::test {
namespace {

namespace fs = std::filesystem;
using records::compression_codec;

std::string text(const std::optional<records::bytes>& b) {
  return b ? std::string(b->begin(), b->end()) : std::string("<null>");
}

class cleaner_test : public ::testing::Test {
 protected:
  std::shared_ptr<partition_log> open(const log_config& c, const fs::path& data = {}) {
    auto log = partition_log::open(data.empty() ? dir_.path() : data, "t", 0, c, flusher_);
    EXPECT_TRUE(log) << log.error().message();
    return log ? log.value() : nullptr;
  }

  append_info write(partition_log& log, const std::vector<kv>& recs, int64_t ts,
                    compression_codec codec = compression_codec::none, int64_t pid = -1,
                    int32_t seq = -1) {
    auto b = keyed_batch(recs, ts, codec, pid, pid >= 0 ? 0 : -1, seq);
    auto info = log.append_and_wait(b, ts);
    EXPECT_TRUE(info) << info.error().message();
    if (!info) return {};
    for (size_t i = 0; i < recs.size(); ++i) {
      const int64_t offset = info.value().base_offset + static_cast<int64_t>(i);
      written_[offset] = recs[i];
      latest_[recs[i].key] = offset;
    }
    return info.value();
  }

  // Fills whole segments with records of unique keys, so what came before is
  // in closed segments.
  void roll_with_filler(partition_log& log, int64_t ts) {
    const size_t segments = log.segment_count();
    while (log.segment_count() == segments) {
      write(log, {{"filler-" + std::to_string(filler_++), std::string(40, 'f')}}, ts);
    }
  }

  // What a compacted log must look like: offsets increase, each record is
  // the one written at its offset, each key's latest record is there (a
  // tombstone unless `tombstones_gone`), closed segments hold at most one
  // record per key.
  void verify(const partition_log& log, bool tombstones_gone = false) {
    const auto recs = read_all(log);
    const int64_t active = active_segment_base(log.dir());
    std::map<std::string, int> in_closed;
    std::set<int64_t> seen;
    int64_t prev = -1;
    for (const auto& r : recs) {
      EXPECT_GT(r.offset, prev);
      prev = r.offset;
      auto it = written_.find(r.offset);
      ASSERT_NE(it, written_.end()) << "offset " << r.offset;
      EXPECT_EQ(text(r.key), it->second.key) << "offset " << r.offset;
      EXPECT_EQ(text(r.value), it->second.value.value_or("<null>")) << "offset " << r.offset;
      if (r.offset < active) ++in_closed[text(r.key)];
      seen.insert(r.offset);
    }
    for (const auto& [k, n] : in_closed) EXPECT_LE(n, 1) << "key " << k;
    for (const auto& [k, offset] : latest_) {
      if (tombstones_gone && !written_[offset].value) {
        EXPECT_EQ(seen.count(offset), 0u) << "tombstone of " << k << " at " << offset;
      } else {
        EXPECT_EQ(seen.count(offset), 1u) << "latest of " << k << " at " << offset;
      }
    }
  }

  temp_dir dir_;
  flusher flusher_{2};
  std::map<int64_t, kv> written_;
  std::map<std::string, int64_t> latest_;
  int filler_ = 0;
};

TEST_F(cleaner_test, thousand_keys_end_with_one_value_each_and_offsets_unchanged) {
  auto log = open(compacted(16 * 1024));
  std::mt19937 rng(7);
  std::vector<int> keys(1000);
  int64_t ts = 1'000;
  const auto rounds = [&](int from, int to) {
    for (int round = from; round < to; ++round) {
      std::iota(keys.begin(), keys.end(), 0);
      std::shuffle(keys.begin(), keys.end(), rng);
      for (size_t b = 0; b < keys.size(); b += 10) {
        std::vector<kv> recs;
        for (size_t i = b; i < b + 10; ++i) {
          recs.push_back({"key-" + std::to_string(keys[i]), "value-" + std::to_string(round) + "-" +
                                                                std::to_string(keys[i])});
        }
        write(*log, recs, ts++);
      }
    }
  };
  rounds(0, 20);
  const size_t segments_before = log->segment_count();
  const uint64_t bytes_before = log->size_bytes();
  ASSERT_GT(segments_before, 10u);

  auto st = log->clean(ts);
  ASSERT_TRUE(st) << st.error().message();
  EXPECT_TRUE(st.value().cleaned);
  EXPECT_GT(st.value().records_removed, 15'000u);
  EXPECT_LT(st.value().bytes_after, st.value().bytes_before);
  // Groups are formed from the original sizes (as Kafka does): full segments
  // shrink now and merge on the next pass.
  EXPECT_LT(log->size_bytes(), bytes_before / 3);
  EXPECT_EQ(log->cleaner_checkpoint(), active_segment_base(log->dir()));
  EXPECT_EQ(log->log_start_offset(), 0);
  verify(*log);

  // More updates: the next pass maps only the new dirty section.
  rounds(20, 25);
  const int64_t checkpoint = log->cleaner_checkpoint();
  st = log->clean(ts);
  ASSERT_TRUE(st);
  EXPECT_TRUE(st.value().cleaned);
  EXPECT_EQ(st.value().first_dirty_offset, checkpoint);
  EXPECT_LT(log->segment_count(), segments_before / 2);
  verify(*log);

  // Reopened: same records, the checkpoint persisted, nothing dirty.
  log->close();
  log = open(compacted(16 * 1024));
  verify(*log);
  EXPECT_EQ(log->cleaner_checkpoint(), active_segment_base(log->dir()));
  auto est = log->cleanable(ts);
  ASSERT_TRUE(est);
  EXPECT_EQ(est->dirty_bytes, 0u);
  EXPECT_FALSE(est->due);
  EXPECT_TRUE(log->clean(ts).value().cleaned == false);
}

TEST_F(cleaner_test, tombstones_are_kept_for_delete_retention_then_removed) {
  log_config c = compacted(1024);
  c.delete_retention_ms = 1'000;
  auto log = open(c);
  for (int i = 0; i < 20; i += 4) {
    write(*log, {{"k" + std::to_string(i), "a"}, {"k" + std::to_string(i + 1), "a"},
                 {"k" + std::to_string(i + 2), "a"}, {"k" + std::to_string(i + 3), "a"}}, 1'000);
  }
  for (int i = 0; i < 10; i += 5) {
    std::vector<kv> tombs;
    for (int k = i; k < i + 5; ++k) tombs.push_back({"k" + std::to_string(k), std::nullopt});
    write(*log, tombs, 2'000);
  }
  roll_with_filler(*log, 3'000);
  const int64_t now = 10'000;
  ASSERT_TRUE(log->clean(now).value().cleaned);
  verify(*log);  // tombstones still readable
  // Their batches carry the delete horizon now + delete.retention.ms.
  auto data = data_of(log->read(0, 1 << 20, true).value());
  int with_tombstones = 0;
  records::for_each_batch(data, [&](const records::batch_view& b) {
    bool tomb = false;
    auto walked = records::for_each_record(b.data, [&](const records::record_view& r) {
      tomb = tomb || !r.value;
      return true;
    });
    EXPECT_TRUE(walked);
    if (tomb) {
      ++with_tombstones;
      EXPECT_TRUE(b.header.has_delete_horizon());
      EXPECT_EQ(b.header.base_timestamp, now + 1'000);
    }
    return true;
  });
  EXPECT_EQ(with_tombstones, 2);

  // Before the horizon: kept (a later pass needs dirty data to run).
  roll_with_filler(*log, 4'000);
  ASSERT_TRUE(log->clean(now + 999).value().cleaned);
  verify(*log);
  // At the horizon: gone, with every older value of those keys.
  roll_with_filler(*log, 5'000);
  auto st = log->clean(now + 1'000);
  ASSERT_TRUE(st.value().cleaned);
  EXPECT_GE(st.value().records_removed, 10u);
  verify(*log, true);
  for (const auto& r : read_all(*log)) {
    EXPECT_TRUE(r.value.has_value()) << "offset " << r.offset;
    if (text(r.key).rfind('k', 0) == 0) {
      EXPECT_GE(std::stoi(text(r.key).substr(1)), 10);
    }
  }
}

TEST_F(cleaner_test, expired_tombstones_make_a_log_due_without_new_dirty_data) {
  log_config c = compacted(1024);
  c.delete_retention_ms = 1'000;
  c.min_cleanable_dirty_ratio = 0.9;
  auto log = open(c);
  for (int i = 0; i < 40; ++i) write(*log, {{"k" + std::to_string(i % 8), "v" + std::to_string(i)}}, 1'000);
  write(*log, {{"k0", std::nullopt}, {"k1", std::nullopt}}, 2'000);
  roll_with_filler(*log, 3'000);
  const int64_t now = 10'000;
  ASSERT_TRUE(log->clean(now).value().cleaned);
  verify(*log);  // the tombstones are kept with horizon now + 1 s

  // Nothing new was written: before the horizon the log is not due ...
  auto before = log->cleanable(now + 999);
  ASSERT_TRUE(before);
  EXPECT_FALSE(before->due);
  EXPECT_FALSE(log->clean(now + 999).value().cleaned);
  // ... after it, the expired tombstones alone make it due (as Kafka's
  // cleaner manager does for logs whose latest delete horizon has passed).
  auto after = log->cleanable(now + 1'000);
  ASSERT_TRUE(after);
  EXPECT_TRUE(after->due);
  EXPECT_TRUE(after->tombstones_expired);
  auto st = log->clean(now + 1'000);
  ASSERT_TRUE(st.value().cleaned);
  verify(*log, true);
  EXPECT_FALSE(log->cleanable(now + 5'000)->due) << "no tombstones left: nothing more to do";
}

TEST_F(cleaner_test, compact_delete_also_applies_retention_and_compact_alone_does_not) {
  for (bool with_delete : {true, false}) {
    SCOPED_TRACE(with_delete ? "compact,delete" : "compact");
    temp_dir dir;
    log_config c = compacted(1024);
    c.delete_enabled = with_delete;
    c.retention_ms = 5'000;
    auto log = open(c, dir.path());
    written_.clear();
    latest_.clear();
    for (int i = 0; i < 30; ++i) write(*log, {{"old" + std::to_string(i % 5), std::string(50, 'o')}}, 1'000);
    for (int i = 0; i < 30; ++i) write(*log, {{"new" + std::to_string(i % 5), std::string(50, 'n')}}, 100'000);
    ASSERT_TRUE(log->clean(100'500).value().cleaned);
    const size_t deleted = log->apply_retention(100'500);
    if (with_delete) {
      EXPECT_GT(deleted, 0u);
      EXPECT_GT(log->log_start_offset(), 0);
      std::set<std::string> keys;
      for (const auto& r : read_all(*log)) {
        EXPECT_EQ(text(r.key).substr(0, 3), "new");
        EXPECT_EQ(written_[r.offset].key, text(r.key));
        keys.insert(text(r.key));
      }
      EXPECT_EQ(keys.size(), 5u);  // every new key's latest value is still there
    } else {
      EXPECT_EQ(deleted, 0u);
      EXPECT_EQ(log->log_start_offset(), 0);
      verify(*log);
      // DeleteRecords still moves the start and deletes what lies below it.
      const int64_t active = active_segment_base(log->dir());
      ASSERT_TRUE(log->advance_log_start_offset(active));
      EXPECT_GT(log->apply_retention(100'500), 0u);
      EXPECT_EQ(log->segment_count(), 1u);
    }
  }
}

TEST_F(cleaner_test, compressed_batches_are_rewritten_with_their_codec) {
  for (auto codec : {compression_codec::gzip, compression_codec::snappy, compression_codec::lz4,
                     compression_codec::zstd}) {
    SCOPED_TRACE(std::string(records::to_string(codec)));
    temp_dir dir;
    written_.clear();
    latest_.clear();
    auto log = open(compacted(2048), dir.path());
    for (int b = 0; b < 60; ++b) {
      std::vector<kv> recs;
      for (int i = 0; i < 5; ++i) {
        recs.push_back({"key" + std::to_string((b * 5 + i) % 23), "value-" + std::to_string(b * 5 + i) +
                                                                   std::string(30, 'z')});
      }
      write(*log, recs, 1'000 + b, codec);
    }
    auto st = log->clean(10'000);
    ASSERT_TRUE(st) << st.error().message();
    EXPECT_TRUE(st.value().cleaned);
    EXPECT_GT(st.value().records_removed, 0u);
    verify(*log);
    auto data = data_of(log->read(0, 1 << 22, true).value());
    size_t batches = 0;
    records::for_each_batch(data, [&](const records::batch_view& b) {
      ++batches;
      EXPECT_TRUE(records::validate_batch(b.data));
      EXPECT_EQ(b.header.compression(), codec) << "batch at " << b.header.base_offset;
      EXPECT_EQ(b.header.last_offset_delta, 4);  // offsets of a batch never change
      return true;
    });
    EXPECT_GT(batches, 0u);
  }
}

TEST_F(cleaner_test, a_producers_last_batch_stays_as_an_empty_batch) {
  auto log = open(compacted(600));
  write(*log, {{"x", "1"}, {"y", "1"}}, 1'000, compression_codec::lz4, 5, 0);  // 0..1
  write(*log, {{"z", "1"}}, 1'000, compression_codec::none, 6, 0);             // 2
  write(*log, {{"z", "2"}}, 1'000, compression_codec::none, 6, 1);             // 3
  write(*log, {{"x", "2"}, {"y", "2"}, {"z", "3"}}, 1'000);                    // 4..6
  roll_with_filler(*log, 2'000);
  auto st = log->clean(5'000);
  ASSERT_TRUE(st.value().cleaned);
  EXPECT_EQ(st.value().batches_emptied, 2u);
  EXPECT_GE(st.value().batches_removed, 1u);
  verify(*log);

  std::vector<records::batch_header> headers;
  records::for_each_batch(data_of(log->read(0, 1 << 20, true).value()),
                          [&](const records::batch_view& b) {
                            EXPECT_TRUE(records::validate_batch(b.data));
                            headers.push_back(b.header);
                            return true;
                          });
  ASSERT_GE(headers.size(), 3u);
  EXPECT_EQ(headers[0].base_offset, 0);
  EXPECT_EQ(headers[0].last_offset(), 1);
  EXPECT_EQ(headers[0].records_count, 0);
  EXPECT_EQ(headers[0].producer_id, 5);
  EXPECT_EQ(headers[0].base_sequence, 0);
  EXPECT_EQ(headers[1].base_offset, 3);  // producer 6's first batch is gone, its last kept
  EXPECT_EQ(headers[1].records_count, 0);
  EXPECT_EQ(headers[1].producer_id, 6);
  EXPECT_EQ(headers[1].base_sequence, 1);
  EXPECT_EQ(headers[2].base_offset, 4);
  EXPECT_EQ(headers[2].records_count, 3);

  // Rebuilt from the cleaned log alone (no snapshot): retries are still
  // recognized with their original offsets.
  log->close();
  for (const auto& e : fs::directory_iterator(log->dir())) {
    if (parse_producer_snapshot_file_name(e.path().filename().string())) fs::remove(e.path());
  }
  log = open(compacted(600));
  auto retry = keyed_batch({{"x", "1"}, {"y", "1"}}, 1'000, compression_codec::lz4, 5, 0, 0);
  auto dup = log->append_and_wait(retry, 9'000);
  ASSERT_TRUE(dup) << dup.error().message();
  EXPECT_TRUE(dup.value().duplicate);
  EXPECT_EQ(dup.value().base_offset, 0);
  EXPECT_EQ(dup.value().last_offset, 1);
  auto retry6 = keyed_batch({{"z", "2"}}, 1'000, compression_codec::none, 6, 0, 1);
  dup = log->append_and_wait(retry6, 9'000);
  ASSERT_TRUE(dup);
  EXPECT_TRUE(dup.value().duplicate);
  EXPECT_EQ(dup.value().base_offset, 3);
}

TEST_F(cleaner_test, min_compaction_lag_keeps_young_segments_dirty) {
  log_config c = compacted(1024);
  c.min_compaction_lag_ms = 10'000;
  auto log = open(c);
  for (int i = 0; i < 40; ++i) write(*log, {{"a" + std::to_string(i % 4), std::string(40, 'a')}}, 1'000);
  roll_with_filler(*log, 1'000);
  const int64_t young_from = log->log_end_offset();
  for (int i = 0; i < 40; ++i) write(*log, {{"a" + std::to_string(i % 4), std::string(40, 'y')}}, 100'000);
  roll_with_filler(*log, 100'000);

  auto est = log->cleanable(100'500);
  ASSERT_TRUE(est);
  EXPECT_LE(est->first_uncleanable_offset, young_from + 1);
  auto st = log->clean(100'500);
  ASSERT_TRUE(st.value().cleaned);
  const int64_t checkpoint = log->cleaner_checkpoint();
  EXPECT_LE(checkpoint, young_from + 1);
  EXPECT_GT(checkpoint, 0);
  std::map<std::string, int> old_count;
  std::map<std::string, int> young_count;
  for (const auto& r : read_all(*log)) {
    if (text(r.key)[0] != 'a') continue;
    (r.offset < checkpoint ? old_count : young_count)[text(r.key)]++;
  }
  for (const auto& [k, n] : old_count) EXPECT_EQ(n, 1) << k;
  for (const auto& [k, n] : young_count) EXPECT_EQ(n, 10) << k;  // untouched
  // Once old enough, the rest is cleaned too.
  ASSERT_TRUE(log->clean(200'000).value().cleaned);
  verify(*log);
}

TEST_F(cleaner_test, a_capped_key_map_spreads_cleaning_over_passes) {
  auto log = open(compacted(4096));
  for (int i = 0; i < 600; ++i) {
    write(*log, {{"key" + std::to_string(i % 150), "value" + std::to_string(i)}}, 1'000 + i);
  }
  roll_with_filler(*log, 5'000);
  const int64_t active = active_segment_base(log->dir());
  int passes = 0;
  while (log->cleaner_checkpoint() < active && passes < 100) {
    auto st = log->clean(10'000, 4 * 1024);  // room for ~40 keys
    ASSERT_TRUE(st) << st.error().message();
    ASSERT_TRUE(st.value().cleaned);
    EXPECT_GT(st.value().end_offset, st.value().first_dirty_offset);
    ++passes;
  }
  EXPECT_GT(passes, 2);
  EXPECT_EQ(log->cleaner_checkpoint(), active);
  verify(*log);
}

TEST_F(cleaner_test, non_compacted_and_active_only_logs_are_left_alone) {
  log_config c = compacted(1 << 20);
  auto log = open(c);
  for (int i = 0; i < 50; ++i) write(*log, {{"k", std::to_string(i)}}, 1'000);
  auto st = log->clean(5'000);  // everything is in the active segment
  ASSERT_TRUE(st);
  EXPECT_FALSE(st.value().cleaned);
  EXPECT_EQ(read_all(*log).size(), 50u);
  c.compact = false;
  c.delete_enabled = true;
  log->set_config(c);
  EXPECT_FALSE(log->cleanable(5'000));
  EXPECT_FALSE(log->clean(5'000).value().cleaned);
}

}  // namespace
}  // namespace geomirror::storage::test

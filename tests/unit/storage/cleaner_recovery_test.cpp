// Compaction around the edges: a crash at each step of the cleaned-segment
// swap (the on-disk state each step leaves is built from a real cleaned copy)
// neither loses nor duplicates a key's latest value; log_manager's cleaner
// picks logs by dirty ratio and max compaction lag and skips non-compacted
// ones; the cleaner thread compacts while producers append and consumers
// read from offset 0.

#include "broker-core/records/record.h"
#include "broker-core/storage/file_names.h"
#include "broker-core/storage/log_manager.h"
#include "broker-core/storage/partition_log.h"
#include "tests/unit/storage/storage_test_util.h"

#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <thread>

namespace geomirror::storage::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string text(const std::optional<records::bytes>& b) {
  return b ? std::string(b->begin(), b->end()) : std::string("<null>");
}

result<append_info> put(partition_log& log, std::vector<kv> recs, int64_t ts) {
  auto b = keyed_batch(recs, ts);
  return log.append_and_wait(b, ts);
}

void copy_dir(const fs::path& from, const fs::path& to) {
  fs::create_directories(to);
  fs::copy(from, to, fs::copy_options::recursive);
}

records::bytes slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return records::bytes(std::istreambuf_iterator<char>(in), {});
}

void spit(const fs::path& p, records::bytes_view b) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

std::vector<int64_t> log_bases(const fs::path& pdir) {
  std::vector<int64_t> out;
  for (const auto& e : fs::directory_iterator(pdir)) {
    auto p = parse_segment_file_name(e.path().filename().string());
    if (p && p->second == segment_file_kind::log) out.push_back(p->first);
  }
  std::sort(out.begin(), out.end());
  return out;
}

bool has_cleaner_leftovers(const fs::path& pdir) {
  for (const auto& e : fs::directory_iterator(pdir)) {
    const std::string f = e.path().filename().string();
    if (f.ends_with(cleaned_suffix) || f.ends_with(swap_suffix)) return true;
  }
  return false;
}

class cleaner_recovery_test : public ::testing::Test {
 protected:
  std::shared_ptr<partition_log> open(const fs::path& data, const log_config& c) {
    auto log = partition_log::open(data, "t", 0, c, flusher_);
    EXPECT_TRUE(log) << log.error().message();
    return log ? log.value() : nullptr;
  }

  // Every record of a closed copy of `data` (opened on a scratch copy, so the
  // directory itself stays as it is).
  std::vector<records::record> contents(const fs::path& data, const log_config& c) {
    temp_dir scratch;
    copy_dir(data, scratch.path());
    auto log = open(scratch.path(), c);
    auto recs = read_all(*log);
    log->close();
    return recs;
  }

  flusher flusher_{2};
};

TEST_F(cleaner_recovery_test, a_crash_at_any_step_of_the_swap_keeps_each_latest_value_once) {
  const log_config small = compacted(1024);
  temp_dir orig;
  std::map<std::string, int64_t> latest;
  {
    auto log = open(orig.path(), small);
    for (int i = 0; i < 120; ++i) {
      const std::string key = "key" + std::to_string(i % 12);
      auto info = put(*log, {{key, "value" + std::to_string(i) + std::string(20, 'v')}}, 1'000 + i);
      ASSERT_TRUE(info);
      latest[key] = info.value().base_offset;
    }
    log->close();
  }
  const fs::path opdir = orig.path() / "t-0";
  const std::vector<int64_t> bases = log_bases(opdir);
  ASSERT_GE(bases.size(), 5u);
  const int64_t end = bases.back();  // the active segment: not part of the group

  // The cleaned copy: with large segments at cleaning time every closed
  // segment goes into one group [0, end).
  temp_dir cleaned;
  copy_dir(orig.path(), cleaned.path());
  const fs::path cpdir = cleaned.path() / "t-0";
  {
    auto log = open(cleaned.path(), compacted(1 << 20));
    auto st = log->clean(100'000);
    ASSERT_TRUE(st);
    ASSERT_TRUE(st.value().cleaned);
    ASSERT_EQ(st.value().segments_after, 1u);
    log->close();
  }
  ASSERT_EQ(log_bases(cpdir), (std::vector<int64_t>{0, end}));
  const auto expect_orig = contents(orig.path(), small);
  const auto expect_clean = contents(cleaned.path(), small);
  ASSERT_LT(expect_clean.size(), expect_orig.size());

  const records::bytes clean_log = slurp(segment_log_path(cpdir, 0));
  const records::bytes clean_index = slurp(segment_index_path(cpdir, 0));
  const records::bytes clean_tindex = slurp(segment_time_index_path(cpdir, 0));
  const auto write_cleaned_outputs = [&](const fs::path& p) {
    spit(cleaned_path(segment_log_path(p, 0)), clean_log);
    spit(cleaned_path(segment_index_path(p, 0)), clean_index);
    spit(cleaned_path(segment_time_index_path(p, 0)), clean_tindex);
  };
  const auto commit_swap = [&](const fs::path& p) {
    write_cleaned_outputs(p);
    fs::rename(cleaned_path(segment_log_path(p, 0)), segment_swap_path(p, 0, end));
  };
  const auto remove_segment = [](const fs::path& p, int64_t base) {
    fs::remove(segment_log_path(p, base));
    fs::remove(segment_index_path(p, base));
    fs::remove(segment_time_index_path(p, base));
  };

  struct step {
    const char* name;
    std::function<void(const fs::path&)> make;
    bool swapped;
  };
  const std::vector<step> steps = {
      {"writing the cleaned segment",
       [&](const fs::path& p) {
         spit(cleaned_path(segment_log_path(p, 0)),
              records::bytes_view(clean_log).first(clean_log.size() / 2));
         spit(cleaned_path(segment_index_path(p, 0)), records::bytes{1, 2, 3});
       },
       false},
      {"cleaned segment written, not renamed", write_cleaned_outputs, false},
      {"swap committed", commit_swap, true},
      {"swap committed, some replaced segments deleted",
       [&](const fs::path& p) {
         commit_swap(p);
         remove_segment(p, bases[1]);
         fs::remove(segment_log_path(p, bases[2]));
       },
       true},
      {"replaced segments deleted, indexes renamed",
       [&](const fs::path& p) {
         commit_swap(p);
         for (size_t i = 1; i + 1 < bases.size(); ++i) remove_segment(p, bases[i]);
         fs::rename(cleaned_path(segment_index_path(p, 0)), segment_index_path(p, 0));
         fs::rename(cleaned_path(segment_time_index_path(p, 0)), segment_time_index_path(p, 0));
       },
       true},
      {"the old first segment deleted too",
       [&](const fs::path& p) {
         commit_swap(p);
         for (size_t i = 0; i + 1 < bases.size(); ++i) remove_segment(p, bases[i]);
       },
       true},
  };
  for (const auto& s : steps) {
    SCOPED_TRACE(s.name);
    temp_dir d;
    copy_dir(orig.path(), d.path());
    const fs::path pdir = d.path() / "t-0";
    s.make(pdir);
    auto log = open(d.path(), small);
    ASSERT_TRUE(log);
    EXPECT_FALSE(has_cleaner_leftovers(pdir));
    auto recs = read_all(*log);
    EXPECT_EQ(recs, s.swapped ? expect_clean : expect_orig);
    // Each key's latest value exactly once, offsets increasing.
    std::map<int64_t, int> seen;
    int64_t prev = -1;
    for (const auto& r : recs) {
      EXPECT_GT(r.offset, prev);
      prev = r.offset;
      ++seen[r.offset];
    }
    for (const auto& [k, off] : latest) EXPECT_EQ(seen[off], 1) << k;
    if (s.swapped) {
      EXPECT_EQ(log_bases(pdir), (std::vector<int64_t>{0, end}));
    }
    // The log goes on, and a reopen (indexes rebuilt above) reads the same.
    auto info = put(*log, {{"after", "crash"}}, 200'000);
    ASSERT_TRUE(info);
    EXPECT_EQ(info.value().base_offset, expect_orig.back().offset + 1);
    log->close();
    auto again = open(d.path(), small);
    auto recs_again = read_all(*again);
    ASSERT_EQ(recs_again.size(), recs.size() + 1);
    EXPECT_TRUE(std::equal(recs.begin(), recs.end(), recs_again.begin()));
  }
}

class cleaner_manager_test : public ::testing::Test {
 protected:
  log_manager_config manual() const {
    log_manager_config c;
    c.data_dir = dir_.path();
    c.background_thread = false;
    return c;
  }
  temp_dir dir_;
};

TEST_F(cleaner_manager_test, clean_all_picks_logs_by_dirty_ratio_and_max_lag) {
  auto mgr = log_manager::start(manual()).value();
  auto dirty = mgr->create("dirty", 0, compacted(1024)).value();
  auto mostly_clean = mgr->create("mostly-clean", 0, compacted(1024)).value();
  log_config plain_cfg = small_segments(1024);
  auto plain = mgr->create("plain", 0, plain_cfg).value();
  for (int i = 0; i < 200; ++i) {
    const std::string key = "k" + std::to_string(i % 10);
    ASSERT_TRUE(put(*dirty, {{key, std::string(30, 'd')}}, 1'000));
    ASSERT_TRUE(put(*mostly_clean, {{"c" + std::to_string(i), std::string(30, 'c')}}, 1'000));
    ASSERT_TRUE(put(*plain, {{key, std::string(30, 'p')}}, 1'000));
  }
  ASSERT_TRUE(mostly_clean->clean(2'000).value().cleaned);
  const int64_t clean_checkpoint = mostly_clean->cleaner_checkpoint();
  // A little new dirty data: one more closed segment.
  const size_t segments = mostly_clean->segment_count();
  for (int i = 0; mostly_clean->segment_count() == segments; ++i) {
    ASSERT_TRUE(put(*mostly_clean, {{"c" + std::to_string(i), std::string(30, 'n')}}, 1'000));
  }

  const int64_t now = 1'000'000;
  auto est = dirty->cleanable(now);
  ASSERT_TRUE(est);
  EXPECT_TRUE(est->due);
  EXPECT_DOUBLE_EQ(est->dirty_ratio(), 1.0);
  est = mostly_clean->cleanable(now);
  ASSERT_TRUE(est);
  EXPECT_GT(est->dirty_bytes, 0u);
  EXPECT_LT(est->dirty_ratio(), 0.5);
  EXPECT_FALSE(est->due);
  EXPECT_FALSE(plain->cleanable(now));

  EXPECT_EQ(mgr->clean_all(now), 1u);
  EXPECT_GT(dirty->cleaner_checkpoint(), 0);
  EXPECT_EQ(mostly_clean->cleaner_checkpoint(), clean_checkpoint);
  EXPECT_EQ(plain->cleaner_checkpoint(), 0);
  EXPECT_EQ(mgr->clean_all(now), 0u);  // nothing due any more

  // Records older than max.compaction.lag.ms make the log due whatever its ratio.
  log_config lagged = compacted(1024);
  lagged.max_compaction_lag_ms = 60'000;
  mostly_clean->set_config(lagged);
  est = mostly_clean->cleanable(now);
  ASSERT_TRUE(est);
  EXPECT_TRUE(est->max_lag_exceeded);
  EXPECT_TRUE(est->due);
  EXPECT_FALSE(mostly_clean->cleanable(61'000)->max_lag_exceeded);  // not that old yet
  EXPECT_EQ(mgr->clean_all(now), 1u);
  EXPECT_GT(mostly_clean->cleaner_checkpoint(), clean_checkpoint);
  // And a lower ratio threshold would have done it too.
  log_config eager = compacted(1024);
  eager.min_cleanable_dirty_ratio = 0.01;
  dirty->set_config(eager);
  for (int i = 0; i < 40; ++i) ASSERT_TRUE(put(*dirty, {{"k1", std::string(30, 'e')}}, 1'000));
  EXPECT_TRUE(dirty->cleanable(now)->due);
}

TEST_F(cleaner_manager_test, the_cleaner_thread_compacts_while_producers_and_consumers_run) {
  log_manager_config mc = manual();
  mc.background_thread = true;
  mc.cleaner_backoff_ms = 20;
  auto mgr = log_manager::start(mc).value();
  auto log = mgr->create("busy", 0, compacted(4096)).value();

  std::mutex mu;
  std::map<int64_t, kv> written;  // guarded by mu
  std::atomic<bool> producing{true};
  std::atomic<bool> failed{false};
  std::thread producer([&] {
    for (int i = 0; i < 6'000 && !failed; ++i) {
      std::vector<kv> recs{{"key" + std::to_string(i % 50), "v" + std::to_string(i)}};
      auto b = keyed_batch(recs, base::wall_clock_ms());
      auto info = log->append_and_wait(b, base::wall_clock_ms());
      if (!info) {
        failed = true;
        break;
      }
      std::lock_guard lock(mu);
      written[info.value().base_offset] = recs[0];
    }
    producing = false;
  });
  std::atomic<int> reads{0};
  std::thread consumer([&] {
    while (producing && !failed) {
      int64_t next = 0;
      int64_t prev = -1;
      while (true) {
        auto r = log->read(next, 16 * 1024, true);
        if (!r) {
          failed = true;
          return;
        }
        if (data_of(r.value()).empty()) break;
        records::for_each_batch(data_of(r.value()), [&](const records::batch_view& b) {
          auto recs = records::decode_records(b.data);
          if (!recs) {
            failed = true;
            return false;
          }
          for (const auto& rec : recs.value()) {
            if (rec.offset <= prev) failed = true;
            prev = rec.offset;
          }
          next = b.header.next_offset();
          return true;
        });
      }
      ++reads;
    }
  });
  producer.join();
  consumer.join();
  ASSERT_FALSE(failed);
  EXPECT_GT(reads.load(), 0);
  // The thread cleans on its own.
  for (int i = 0; i < 500 && log->cleaner_checkpoint() == 0; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_GT(log->cleaner_checkpoint(), 0);
  mgr->stop();  // also with a pass possibly in progress

  auto mgr2 = log_manager::start(manual()).value();
  auto again = mgr2->open("busy", 0, compacted(4096)).value();
  std::map<std::string, int64_t> latest;
  for (const auto& [offset, r] : written) latest[r.key] = offset;
  std::set<int64_t> seen;
  for (const auto& r : read_all(*again)) {
    ASSERT_TRUE(written.count(r.offset));
    EXPECT_EQ(text(r.key), written[r.offset].key);
    EXPECT_EQ(text(r.value), *written[r.offset].value);
    seen.insert(r.offset);
  }
  for (const auto& [k, off] : latest) EXPECT_TRUE(seen.count(off)) << k;
  EXPECT_LT(seen.size(), written.size());
}

}  // namespace
}  // namespace geomirror::storage::test

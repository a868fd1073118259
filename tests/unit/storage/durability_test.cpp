// Durability state machine: in strict mode the high watermark advances only
// after the flusher's fdatasync and when_durable fires in offset order; group
// commit covers concurrent appends with few syncs and loses nothing; the
// relaxed policy exposes data at once and syncs after flush.messages or
// flush.ms; write failures mark the log failed.

#include "broker-core/storage/errc.h"
#include "broker-core/storage/file_io.h"
#include "broker-core/storage/log_manager.h"
#include "broker-core/storage/partition_log.h"
#include "tests/unit/storage/storage_test_util.h"

#include <gtest/gtest.h>

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <fstream>
#include <future>
#include <mutex>
#include <thread>

namespace geomirror::storage::test {
namespace {

using namespace std::chrono_literals;

template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(1ms);
  }
  return pred();
}

TEST(durability, strict_high_watermark_waits_for_the_flusher) {
  temp_dir dir;
  held_flusher f;
  auto log = partition_log::open(dir.path(), "t", 0, {}, f.get()).value();
  f.hold();
  std::vector<int64_t> fired;
  std::mutex mu;
  int64_t last = -1;
  for (int i = 0; i < 5; ++i) {
    auto batch = make_batch(2, i);
    auto info = log->append_and_wait(batch, 1);
    ASSERT_TRUE(info);
    last = info.value().last_offset;
    log->when_durable(info.value().last_offset, [&, o = info.value().last_offset](std::error_code ec) {
      EXPECT_FALSE(ec);
      std::lock_guard lock(mu);
      fired.push_back(o);
    });
  }
  std::atomic<bool> hw_woke{false};
  log->add_high_watermark_waiter([&] { hw_woke = true; });
  // Written but not synced: invisible to readers, no callbacks.
  EXPECT_EQ(log->log_end_offset(), 10);
  EXPECT_EQ(log->high_watermark(), 0);
  EXPECT_EQ(log->durable_offset(), 0);
  auto r = log->read(0, 1 << 20, true);
  ASSERT_TRUE(r);
  EXPECT_TRUE(data_of(r.value()).empty());
  EXPECT_TRUE(fired.empty());
  EXPECT_FALSE(hw_woke);

  f.release();
  ASSERT_TRUE(eventually([&] { return log->high_watermark() == 10; }));
  ASSERT_TRUE(eventually([&] {
    std::lock_guard lock(mu);
    return fired.size() == 5;
  }));
  EXPECT_TRUE(std::is_sorted(fired.begin(), fired.end()));
  EXPECT_EQ(fired.back(), last);
  EXPECT_TRUE(hw_woke);
  // All five appends arrived before the sync started: one sync covered them.
  EXPECT_EQ(log->sync_count(), 1u);
  EXPECT_EQ(read_all(*log).size(), 10u);
  // Durable already: immediate callback.
  bool now = false;
  log->when_durable(3, [&](std::error_code ec) { now = !ec; });
  EXPECT_TRUE(now);
}

TEST(durability, concurrent_appenders_get_contiguous_offsets_with_group_commit) {
  temp_dir dir;
  flusher f(2);
  log_config c;
  c.segment_bytes = 64 * 1024;  // rolls during the run too
  auto log = partition_log::open(dir.path(), "t", 0, c, f).value();
  constexpr int threads = 8;
  constexpr int per_thread = 300;
  std::mutex mu;
  std::vector<std::pair<int64_t, int64_t>> ranges;
  std::atomic<int> acked{0};
  std::atomic<int> errors{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        auto batch = make_batch(1 + (i % 3), 1000 + i, t * 100000 + i);
        auto info = log->append_and_wait(batch, 1000);
        if (!info) {
          ++errors;
          continue;
        }
        {
          std::lock_guard lock(mu);
          ranges.emplace_back(info.value().base_offset, info.value().last_offset);
        }
        log->when_durable(info.value().last_offset, [&](std::error_code ec) {
          if (ec) ++errors;
          ++acked;
        });
      }
    });
  }
  for (auto& th : pool) th.join();
  ASSERT_TRUE(eventually([&] { return acked.load() == threads * per_thread; }));
  EXPECT_EQ(errors.load(), 0);
  std::sort(ranges.begin(), ranges.end());
  int64_t next = 0;
  for (const auto& [base, last] : ranges) {
    ASSERT_EQ(base, next);
    next = last + 1;
  }
  EXPECT_EQ(log->log_end_offset(), next);
  EXPECT_EQ(log->high_watermark(), next);
  EXPECT_EQ(static_cast<int64_t>(read_all(*log).size()), next);
}

// acks=-1 producers in a closed loop, each waiting for its batch to be
// durable before sending the next: while one sync runs (here the flusher is
// held until every producer has a batch waiting, a slow disk), the others'
// appends queue up, and the next single sync covers all of them.
TEST(durability, group_commit_covers_every_append_waiting_for_a_sync) {
  temp_dir dir;
  held_flusher f;
  auto log = partition_log::open(dir.path(), "t", 0, {}, f.get()).value();
  constexpr int producers = 8;
  constexpr int per_producer = 40;
  std::atomic<int> live{producers};
  std::atomic<int> waiting{0};
  std::atomic<int> errors{0};
  f.hold();
  std::vector<std::thread> pool;
  for (int t = 0; t < producers; ++t) {
    pool.emplace_back([&, t] {
      for (int i = 0; i < per_producer; ++i) {
        auto batch = make_batch(1, 1000 + i, t * 1000 + i);
        auto info = log->append_and_wait(batch, 1000);
        if (!info) {
          ++errors;
          break;
        }
        std::promise<std::error_code> durable;
        ++waiting;
        log->when_durable(info.value().last_offset, [&](std::error_code ec) {
          --waiting;
          durable.set_value(ec);
        });
        if (durable.get_future().get()) ++errors;
      }
      --live;
    });
  }
  int releases = 0;
  while (live.load() > 0) {
    ASSERT_TRUE(eventually([&] { return waiting.load() == live.load(); }))
        << "producers stopped sending: " << waiting.load() << " waiting, " << live.load() << " live";
    f.release();  // the disk finishes: one sync for everything waiting
    ++releases;
    f.hold();
  }
  f.release();
  for (auto& th : pool) th.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(log->high_watermark(), producers * per_producer);
  // One sync per round of the closed loop, not one per append; a producer
  // that was quick to send again after a sync can earn an extra small one.
  const auto appends = static_cast<uint64_t>(producers * per_producer);
  EXPECT_LE(log->sync_count(), appends / 4) << releases << " rounds";
  EXPECT_GE(log->sync_count(), static_cast<uint64_t>(per_producer)) << "each round needs its own sync";
}

TEST(durability, relaxed_policy_exposes_data_at_once_and_syncs_after_n_messages) {
  temp_dir dir;
  held_flusher f;
  log_config c;
  c.flush_messages = 5;
  auto log = partition_log::open(dir.path(), "t", 0, c, f.get()).value();
  f.hold();
  for (int i = 0; i < 4; ++i) {
    auto batch = make_batch(1, i);
    ASSERT_TRUE(log->append_and_wait(batch, 1));
  }
  EXPECT_EQ(log->high_watermark(), 4);
  EXPECT_EQ(read_all(*log).size(), 4u);
  bool immediate = false;
  log->when_durable(3, [&](std::error_code ec) { immediate = !ec; });
  EXPECT_TRUE(immediate);
  EXPECT_EQ(log->durable_offset(), 0);
  f.release();
  f.drain();
  EXPECT_EQ(log->sync_count(), 0u);  // below flush.messages: nothing was scheduled
  auto batch = make_batch(1, 9);
  ASSERT_TRUE(log->append_and_wait(batch, 1));  // 5th message
  ASSERT_TRUE(eventually([&] { return log->durable_offset() == 5; }));
  EXPECT_EQ(log->sync_count(), 1u);
}

TEST(durability, relaxed_flush_ms_is_driven_by_tick) {
  temp_dir dir;
  held_flusher f;
  log_config c;
  c.flush_messages = 1'000'000;
  c.flush_ms = 100;
  auto log = partition_log::open(dir.path(), "t", 0, c, f.get()).value();
  auto batch = make_batch(3, 1);
  ASSERT_TRUE(log->append_and_wait(batch, 10'000));
  EXPECT_EQ(log->high_watermark(), 3);
  log->tick(10'050);
  f.drain();
  EXPECT_EQ(log->durable_offset(), 0);  // 50 ms after the append: not due yet
  EXPECT_EQ(log->sync_count(), 0u);
  log->tick(10'100);
  ASSERT_TRUE(eventually([&] { return log->durable_offset() == 3; }));
}

TEST(durability, log_manager_background_tick_flushes_relaxed_logs) {
  temp_dir dir;
  log_manager_config mc;
  mc.data_dir = dir.path();
  mc.flush_check_interval_ms = 20;
  mc.retention_check_interval_ms = 100;
  auto mgr = log_manager::start(mc).value();
  log_config c;
  c.flush_messages = 1'000'000;
  c.flush_ms = 50;
  auto log = mgr->create("t", 0, c).value();
  auto batch = make_batch(2, 1);
  ASSERT_TRUE(log->append_and_wait(batch, base::wall_clock_ms()));
  ASSERT_TRUE(eventually([&] { return log->durable_offset() == 2; }, 5s));
  mgr->stop();
}

TEST(durability, switching_to_relaxed_releases_waiters) {
  temp_dir dir;
  held_flusher f;
  auto log = partition_log::open(dir.path(), "t", 0, {}, f.get()).value();
  f.hold();
  auto batch = make_batch(2, 1);
  auto info = log->append_and_wait(batch, 1).value();
  bool fired = false;
  log->when_durable(info.last_offset, [&](std::error_code ec) { fired = !ec; });
  EXPECT_EQ(log->high_watermark(), 0);
  log_config relaxed;
  relaxed.flush_messages = 100;
  log->set_config(relaxed);
  EXPECT_TRUE(fired);
  EXPECT_EQ(log->high_watermark(), 2);
  f.release();
}

TEST(durability, close_syncs_and_answers_pending_waiters) {
  temp_dir dir;
  held_flusher f;
  auto log = partition_log::open(dir.path(), "t", 0, {}, f.get()).value();
  f.hold();
  auto batch = make_batch(2, 1);
  auto info = log->append_and_wait(batch, 1).value();
  std::error_code got = make_error_code(errc::io_error);
  log->when_durable(info.last_offset, [&](std::error_code ec) { got = ec; });
  std::error_code beyond;
  log->when_durable(50, [&](std::error_code ec) { beyond = ec; });
  log->close();
  EXPECT_FALSE(got);  // synced by close
  EXPECT_EQ(beyond, make_error_code(errc::closed));
  f.release();
}

// A write failure (here: EFBIG from RLIMIT_FSIZE) marks the log failed.
TEST(durability, write_failure_marks_the_log_failed) {
  temp_dir dir;
  held_flusher f;
  auto log = partition_log::open(dir.path(), "t", 0, {}, f.get()).value();
  f.hold();
  auto small = make_batch(1, 1);
  auto info = log->append_and_wait(small, 1).value();
  std::error_code pending;
  log->when_durable(info.last_offset, [&](std::error_code ec) { pending = ec; });

  auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  rlimit old_limit{};
  ::getrlimit(RLIMIT_FSIZE, &old_limit);
  rlimit tight = old_limit;
  tight.rlim_cur = 4096;
  ::setrlimit(RLIMIT_FSIZE, &tight);
  auto big = make_batch(1, 2, 0, records::compression_codec::none, 10'000);
  auto r = log->append_and_wait(big, 1);
  ::setrlimit(RLIMIT_FSIZE, &old_limit);
  std::signal(SIGXFSZ, old_handler);

  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), make_error_code(errc::io_error));
  EXPECT_TRUE(log->failed());
  EXPECT_EQ(pending, make_error_code(errc::io_error));
  auto later = make_batch(1, 3);
  EXPECT_EQ(log->append_and_wait(later, 1).error(), make_error_code(errc::log_failed));
  std::error_code after;
  log->when_durable(0, [&](std::error_code ec) { after = ec; });
  EXPECT_EQ(after, make_error_code(errc::log_failed));
  f.release();
  log->close();

  // Reopening recovers: the partial write is cut off, the first batch stays.
  flusher f2(1);
  auto reopened = partition_log::open(dir.path(), "t", 0, {}, f2).value();
  EXPECT_EQ(reopened->log_end_offset(), 1);
  EXPECT_EQ(read_all(*reopened).size(), 1u);
}

// (That each created name is fsync'ed into its parent is what
// tests/integration/test_powerloss.py checks, under the power-loss shim.)
TEST(durability, create_directories_durably_makes_missing_parents) {
  temp_dir dir;
  const auto deep = dir.path() / "a" / "b" / "c";
  ASSERT_TRUE(create_directories_durably(deep));
  EXPECT_TRUE(std::filesystem::is_directory(deep));
  EXPECT_TRUE(create_directories_durably(deep)) << "an existing directory is fine";
  std::ofstream(dir.path() / "file") << "x";
  EXPECT_FALSE(create_directories_durably(dir.path() / "file" / "d")) << "a file in the way is an error";
}

}  // namespace
}  // namespace geomirror::storage::test

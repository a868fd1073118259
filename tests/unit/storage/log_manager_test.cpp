// log_manager: create/get/open/remove, topics whose names contain '-',
// remove_unknown for crash leftovers, reopening a data directory, and the
// background retention thread.

#include "broker-core/storage/errc.h"
#include "broker-core/storage/log_manager.h"
#include "tests/unit/storage/storage_test_util.h"

#include <gtest/gtest.h>

#include <fstream>
#include <thread>

namespace geomirror::storage::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

log_manager_config manual(const fs::path& dir) {
  log_manager_config c;
  c.data_dir = dir;
  c.background_thread = false;
  return c;
}

TEST(log_manager, create_get_remove_and_reopen) {
  temp_dir dir;
  {
    auto mgr = log_manager::start(manual(dir.path())).value();
    auto a0 = mgr->create("orders", 0, {}).value();
    auto a1 = mgr->create("orders", 1, {}).value();
    auto b0 = mgr->create("my-topic-with-dashes", 0, {}).value();
    EXPECT_EQ(mgr->create("orders", 0, {}).error(), make_error_code(errc::already_exists));
    EXPECT_EQ(mgr->create("bad name", 0, {}).error(), make_error_code(errc::invalid_argument));
    EXPECT_EQ(mgr->get("orders", 0), a0);
    EXPECT_EQ(mgr->get("orders", 7), nullptr);
    append_durable(*a0, make_batch(3, 1));
    append_durable(*b0, make_batch(2, 1));
    auto on_disk = mgr->list_on_disk();
    ASSERT_EQ(on_disk.size(), 3u);
    EXPECT_EQ(on_disk[0], (log_manager::partition_key{"my-topic-with-dashes", 0}));
    EXPECT_EQ(on_disk[1], (log_manager::partition_key{"orders", 0}));
    mgr->stop();
    EXPECT_TRUE(a0->closed());
  }
  {
    auto mgr = log_manager::start(manual(dir.path())).value();
    auto a0 = mgr->open("orders", 0, {}).value();
    EXPECT_EQ(a0->log_end_offset(), 3);
    EXPECT_EQ(mgr->open("orders", 0, {}).value(), a0);  // already open
    auto b0 = mgr->open("my-topic-with-dashes", 0, {}).value();
    EXPECT_EQ(b0->log_end_offset(), 2);
    auto removed = mgr->remove_topic("orders");
    ASSERT_TRUE(removed);
    EXPECT_EQ(removed.value(), 2u);  // partition 1 was only on disk
    EXPECT_EQ(mgr->get("orders", 0), nullptr);
    EXPECT_TRUE(a0->closed());
    EXPECT_FALSE(fs::exists(dir.path() / "orders-0"));
    EXPECT_FALSE(fs::exists(dir.path() / "orders-1"));
    EXPECT_TRUE(fs::exists(dir.path() / "my-topic-with-dashes-0"));
    EXPECT_EQ(mgr->remove_partition("orders", 0).error(), make_error_code(errc::not_found));
  }
}

TEST(log_manager, remove_unknown_deletes_only_unknown_partition_dirs) {
  temp_dir dir;
  auto mgr = log_manager::start(manual(dir.path())).value();
  mgr->create("keep-me", 0, {}).value();
  mgr->create("gone", 3, {}).value();
  fs::create_directories(dir.path() / "half-created-9");
  fs::create_directories(dir.path() / "not a partition");
  std::ofstream(dir.path() / "stray-file-1") << "x";
  auto n = mgr->remove_unknown({{"keep-me", 0}});
  ASSERT_TRUE(n);
  EXPECT_EQ(n.value(), 2u);
  EXPECT_TRUE(fs::exists(dir.path() / "keep-me-0"));
  EXPECT_FALSE(fs::exists(dir.path() / "gone-3"));
  EXPECT_FALSE(fs::exists(dir.path() / "half-created-9"));
  EXPECT_TRUE(fs::exists(dir.path() / "not a partition"));
  EXPECT_TRUE(fs::exists(dir.path() / "stray-file-1"));
  EXPECT_EQ(mgr->get("gone", 3), nullptr);
}

TEST(log_manager, create_replaces_a_leftover_directory) {
  temp_dir dir;
  {
    auto mgr = log_manager::start(manual(dir.path())).value();
    append_durable(*mgr->create("t", 0, {}).value(), make_batch(5, 1));
  }
  auto mgr = log_manager::start(manual(dir.path())).value();
  auto log = mgr->create("t", 0, {}).value();
  EXPECT_EQ(log->log_end_offset(), 0);
}

TEST(log_manager, background_thread_applies_retention) {
  temp_dir dir;
  log_manager_config c;
  c.data_dir = dir.path();
  c.retention_check_interval_ms = 100;
  c.flush_check_interval_ms = 50;
  auto mgr = log_manager::start(c).value();
  log_config lc = small_segments(400);
  lc.retention_ms = -1;
  auto log = mgr->create("t", 0, lc).value();
  for (int i = 0; i < 10; ++i) append_durable(*log, make_batch(2, 1000 + i, i * 2, records::compression_codec::none, 60));
  append_durable(*log, make_batch(1, base::wall_clock_ms(), 20));
  ASSERT_GT(log->segment_count(), 2u);
  lc.retention_ms = 60'000;  // old records (timestamps ~1000) now expire
  log->set_config(lc);
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (log->log_start_offset() == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_GT(log->log_start_offset(), 0);
  mgr->stop();
  mgr->stop();  // idempotent
}

}  // namespace
}  // namespace geomirror::storage::test

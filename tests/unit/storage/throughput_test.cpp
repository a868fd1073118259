// Manual benchmark (disabled by default; run with
// --gtest_also_run_disabled_tests --gtest_filter='*throughput*'): producers
// that each wait for durability before their next append, like acks=all
// clients with one request in flight. With group commit the total rate
// should be far above the disk's fdatasync rate.

#include "broker-core/storage/partition_log.h"
#include "tests/unit/storage/storage_test_util.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

namespace geomirror::storage::test {
namespace {

void run(int partitions, int producers_per_partition, int appends_each, size_t value_size) {
  temp_dir dir;
  flusher f(2);
  std::vector<std::shared_ptr<partition_log>> logs;
  for (int p = 0; p < partitions; ++p) {
    logs.push_back(partition_log::open(dir.path(), "bench", p, {}, f).value());
  }
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  std::atomic<uint64_t> bytes{0};
  for (int p = 0; p < partitions; ++p) {
    for (int t = 0; t < producers_per_partition; ++t) {
      threads.emplace_back([&, p] {
        for (int i = 0; i < appends_each; ++i) {
          auto batch = make_batch(10, 1000 + i, i, records::compression_codec::none, value_size);
          bytes += batch.size();
          auto info = logs[p]->append_and_wait(batch, 1000).value();
          std::promise<void> done;
          logs[p]->when_durable(info.last_offset, [&](std::error_code) { done.set_value(); });
          done.get_future().wait();
        }
      });
    }
  }
  for (auto& t : threads) t.join();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  uint64_t syncs = 0;
  for (auto& l : logs) syncs += l->sync_count();
  const double appends = static_cast<double>(partitions) * producers_per_partition * appends_each;
  std::printf("%d partition(s) x %d producers: %.0f durable appends/s, %.1f MB/s, %llu syncs (%.1f appends/sync)\n",
              partitions, producers_per_partition, appends / secs, bytes.load() / secs / 1e6,
              static_cast<unsigned long long>(syncs), appends / static_cast<double>(syncs));
}

TEST(DISABLED_throughput, group_commit) {
  run(1, 1, 2000, 100);
  run(1, 16, 1000, 100);
  run(1, 64, 300, 100);
  run(8, 8, 300, 100);
  run(4, 16, 100, 6000);
}

}  // namespace
}  // namespace geomirror::storage::test

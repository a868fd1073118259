// Group commit in the storage layer alone, no network: producers that each
// wait for durability before their next append, like acks=-1 clients with
// one request in flight, on partition logs under a directory of the disk
// being measured. With group commit the durable append rate is far above
// the disk's fdatasync rate: each sync covers every append waiting for it.
// Prints, per shape, durable appends/s, MB/s, syncs and appends per sync.
//
//   group_commit_bench [--dir $GEOMIRROR_BENCH_DIR or /tmp] [--json]

#include "bench/bench_util.h"
#include "broker-core/records/record.h"
#include "broker-core/storage/flusher.h"
#include "broker-core/storage/logger.h"
#include "broker-core/storage/partition_log.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

namespace {

using namespace geomirror;

struct shape {
  int partitions;
  int producers_per_partition;
  int appends_each;
  size_t value_size;
};

struct outcome {
  double appends_per_s;
  double mb_per_s;
  uint64_t syncs;
  double appends_per_sync;
};

// A batch of ten records of `value_size` bytes each.
records::bytes batch_of(int first_value, size_t value_size) {
  records::batch_builder b(records::compression_codec::none);
  for (int i = 0; i < 10; ++i) {
    std::string value = "v" + std::to_string(first_value + i);
    if (value.size() < value_size) value.resize(value_size, 'x');
    b.add("k", value, 1000 + i);
  }
  return b.build();
}

outcome run(const std::filesystem::path& dir, const shape& s) {
  storage::flusher f(2);
  std::vector<std::shared_ptr<storage::partition_log>> logs;
  for (int p = 0; p < s.partitions; ++p) {
    auto log = storage::partition_log::open(dir, "bench", p, {}, f);
    if (!log) throw std::runtime_error("cannot open a partition log in " + dir.string() + ": " + log.error().message());
    logs.push_back(std::move(log).value());
  }
  std::atomic<uint64_t> bytes{0};
  std::atomic<int> failures{0};
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int p = 0; p < s.partitions; ++p) {
    for (int t = 0; t < s.producers_per_partition; ++t) {
      threads.emplace_back([&, p] {
        for (int i = 0; i < s.appends_each; ++i) {
          auto batch = batch_of(i, s.value_size);
          bytes += batch.size();
          auto info = logs[p]->append_and_wait(batch, 1000);
          if (!info) {
            ++failures;
            return;
          }
          std::promise<std::error_code> durable;
          logs[p]->when_durable(info.value().last_offset, [&](std::error_code ec) { durable.set_value(ec); });
          if (durable.get_future().get()) ++failures;
        }
      });
    }
  }
  for (auto& t : threads) t.join();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  uint64_t syncs = 0;
  for (auto& l : logs) {
    syncs += l->sync_count();
    l->close();
  }
  f.stop();
  if (failures) throw std::runtime_error(std::to_string(failures.load()) + " appends failed");
  const double appends = static_cast<double>(s.partitions) * s.producers_per_partition * s.appends_each;
  return {appends / secs, bytes.load() / secs / 1e6, syncs, appends / static_cast<double>(syncs)};
}

}  // namespace

int main(int argc, char** argv) {
  std::filesystem::path parent = std::getenv("GEOMIRROR_BENCH_DIR") ? std::getenv("GEOMIRROR_BENCH_DIR") : "/tmp";
  bool json = false;
  std::string dir_option;
  try {
    geomirror::bench::option_parser("group_commit_bench").text("--dir", dir_option).flag("--json", json).parse(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "group_commit_bench: %s\n", e.what());
    return 2;
  }
  if (!dir_option.empty()) parent = dir_option;
  geomirror::storage::storage_log().set_level(spdlog::level::warn);  // not a line per partition opened
  const std::vector<shape> shapes = {
      {1, 1, 2000, 100}, {1, 16, 1000, 100}, {1, 64, 300, 100}, {8, 8, 300, 100}, {4, 16, 100, 6000}};
  const auto dir = parent / ("group-commit-bench-" + std::to_string(::getpid()));
  int status = 0;
  if (json) std::printf("[");
  try {
    for (size_t i = 0; i < shapes.size(); ++i) {
      const auto& s = shapes[i];
      std::filesystem::remove_all(dir);
      std::filesystem::create_directories(dir);
      const auto r = run(dir, s);
      if (json) {
        std::printf("%s{\"partitions\":%d,\"producers_per_partition\":%d,\"value_bytes\":%zu,"
                    "\"appends_per_s\":%.0f,\"mb_per_s\":%.2f,\"syncs\":%llu,\"appends_per_sync\":%.2f}",
                    i ? "," : "", s.partitions, s.producers_per_partition, s.value_size, r.appends_per_s,
                    r.mb_per_s, static_cast<unsigned long long>(r.syncs), r.appends_per_sync);
      } else {
        std::printf("%d partition(s) x %2d producers, %4zu-byte values: %7.0f durable appends/s, %6.1f MB/s, "
                    "%llu syncs (%.1f appends/sync)\n",
                    s.partitions, s.producers_per_partition, s.value_size, r.appends_per_s, r.mb_per_s,
                    static_cast<unsigned long long>(r.syncs), r.appends_per_sync);
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "group_commit_bench: %s\n", e.what());
    status = 1;
  }
  if (json) std::printf("]\n");
  std::filesystem::remove_all(dir);
  return status;
}

#pragma once
// Private helpers shared by the partition_log_*.cpp files. Not part of the
// storage API.

#include "broker-core/storage/partition_log.h"

#include <chrono>
#include <functional>
#include <system_error>
#include <utility>
#include <vector>

namespace geomirror::storage {

// Callbacks collected under the partition locks and run after releasing them.
struct partition_log::pending_callbacks {
  std::vector<std::pair<durable_callback, std::error_code>> durable;
  std::vector<std::function<void()>> hw;

  pending_callbacks() = default;
  pending_callbacks(const pending_callbacks&) = delete;
  pending_callbacks& operator=(const pending_callbacks&) = delete;
  ~pending_callbacks() { fire(); }

  void fire() {
    auto d = std::move(durable);
    auto h = std::move(hw);
    durable.clear();
    hw.clear();
    for (auto& [cb, ec] : d) cb(ec);
    for (auto& cb : h) cb();
  }
};

inline int64_t wall_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace geomirror::storage

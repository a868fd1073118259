#pragma once
// Private helpers shared by the partition_log_*.cpp files. Not part of the
// storage API.

#include "broker-core/base/clock.h"
#include "broker-core/storage/partition_log.h"

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

}  // namespace geomirror::storage

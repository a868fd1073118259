#pragma once
// The wall clock as Kafka carries it: milliseconds since the Unix epoch
// (record timestamps, commit times, retention). Durations use steady_clock.

#include <chrono>
#include <cstdint>

namespace geomirror::base {

inline int64_t wall_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace geomirror::base

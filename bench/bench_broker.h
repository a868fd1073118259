#pragma once
// What the benchmarks share: the broker they measure when no --bootstrap is
// given (a fresh geomirror-broker, $GEOMIRROR_BROKER, with its data dir under
// $GEOMIRROR_BENCH_DIR or /tmp, so the disk measured is the one chosen) and
// the produce phase.

#include "tests/support/broker_process.h"

#include <librdkafka/rdkafkacpp.h>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

namespace geomirror::bench {

// Starts `broker` with `config` unless `bootstrap` is already set; sets
// `bootstrap` to the broker's address. Throws std::runtime_error on failure.
void start_own_broker(std::optional<testing::broker_process>& broker, const std::map<std::string, std::string>& config,
                      const std::string& dir_prefix, std::string& bootstrap);

// Produces `records` records of `record_size` bytes round-robin over
// `partitions`, each carrying its index in its first 8 bytes, waiting when
// librdkafka's queue is full; `before_send(i)` runs just before record i is
// handed over. Returns the seconds until the final flush completed; throws
// std::runtime_error on a produce error other than a full queue.
double produce_indexed(RdKafka::Producer& producer, const std::string& topic, int partitions, int64_t records,
                       size_t record_size, const std::function<void(int64_t)>& before_send = {});

}  // namespace geomirror::bench

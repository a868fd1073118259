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
#include <memory>
#include <optional>
#include <string>

namespace geomirror::bench {

// Starts `broker` with `config` unless `bootstrap` is already set; sets
// `bootstrap` to the broker's address. Throws std::runtime_error on failure.
void start_own_broker(std::optional<testing::broker_process>& broker, const std::map<std::string, std::string>& config,
                      const std::string& dir_prefix, std::string& bootstrap);

// A producer tuned for throughput (linger 5 ms, 1 MB batches, deep queue)
// with `delivery_reports` as its dr_cb, after a metadata request for `topic`
// that creates it (the bench broker auto-creates topics) and warms up the
// connection. Throws std::runtime_error when librdkafka refuses.
std::unique_ptr<RdKafka::Producer> make_producer(const std::string& bootstrap, const std::string& acks,
                                                 RdKafka::DeliveryReportCb& delivery_reports, const std::string& topic);

// Produces `records` records of `record_size` bytes round-robin over
// `partitions`, each carrying its index in its first 8 bytes, waiting when
// librdkafka's queue is full; `before_send(i)` runs just before record i is
// handed over. Returns the seconds until the final flush completed; throws
// std::runtime_error on a produce error other than a full queue.
double produce_indexed(RdKafka::Producer& producer, const std::string& topic, int partitions, int64_t records,
                       size_t record_size, const std::function<void(int64_t)>& before_send = {});

}  // namespace geomirror::bench

#pragma once
// Producing and consuming with rdkafka++ in tests: write values to one
// partition and wait for every delivery, or consume what an assigned
// consumer delivers for a while. Failures throw std::runtime_error with
// librdkafka's reason.

#include <librdkafka/rdkafkacpp.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace geomirror::testing {

// Produces `values` (keyed "k<i>" when `keyed`) to `topic` partition 0 and
// flushes; `conf` adds producer settings (compression.type, acks ...).
void produce_values(const std::string& bootstrap, const std::string& topic, const std::vector<std::string>& values,
                    const std::map<std::string, std::string>& conf = {});

struct consumed {
  std::vector<std::pair<int64_t, std::string>> records;  // (offset, value)
  std::vector<RdKafka::ErrorCode> errors;                 // error events, in order
};

// A KafkaConsumer (group `group`, no auto commit, `conf` added) assigned to
// partition 0 of `topic` at `offset`.
std::unique_ptr<RdKafka::KafkaConsumer> assigned_consumer(const std::string& bootstrap, const std::string& topic,
                                                          int64_t offset, const std::string& group,
                                                          const std::map<std::string, std::string>& conf = {});

// Consumes for `timeout` or until `done` holds; partition EOF events are
// not errors.
consumed consume_for(RdKafka::KafkaConsumer& c, std::chrono::milliseconds timeout,
                     const std::function<bool(const consumed&)>& done = [](const consumed&) { return false; });

}  // namespace geomirror::testing

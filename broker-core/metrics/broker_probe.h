#pragma once
// Prometheus metrics of one broker core. broker_probe counts requests per
// API (total, errors closing the connection, latency, bytes in and out);
// partition_collector reads every partition's offsets and size when
// Prometheus scrapes, so the request path pays nothing for them.
// Thread-safe: record_request may be called from any thread.

#include "broker-core/metadata/topic_registry.h"

#include <prometheus/collectable.h>
#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string_view>
#include <utility>
#include <vector>

namespace geomirror::metrics {

class broker_probe {
 public:
  // `apis`: (api key, name) of every served API; a series is made for each.
  broker_probe(prometheus::Registry& registry, const std::vector<std::pair<int16_t, std::string_view>>& apis);

  // A request that was answered (response_bytes = 0 when no response is sent).
  void record_request(int16_t api_key, std::chrono::steady_clock::duration latency, size_t request_bytes,
                      size_t response_bytes);
  // A request after which the connection was closed (malformed, unsupported).
  void record_rejected(int16_t api_key);
  // Record data a Fetch answered with: sent from the page cache (sendfile),
  // or read from disk on a storage thread and copied.
  void record_fetched(uint64_t zero_copy_bytes, uint64_t copied_bytes);

 private:
  struct api_series {
    prometheus::Counter* requests = nullptr;
    prometheus::Counter* rejected = nullptr;
    prometheus::Histogram* latency = nullptr;
    prometheus::Counter* bytes_in = nullptr;
    prometheus::Counter* bytes_out = nullptr;
  };
  static constexpr size_t max_api_key = 128;
  std::array<api_series, max_api_key> series_{};
  prometheus::Counter* unknown_api_rejected_ = nullptr;
  prometheus::Counter* fetched_zero_copy_ = nullptr;
  prometheus::Counter* fetched_copied_ = nullptr;
};

// Per-partition gauges (log start, high watermark, log end offset, bytes,
// segments) and the fdatasync counter, read from the topic registry at scrape.
class partition_collector : public prometheus::Collectable {
 public:
  explicit partition_collector(const metadata::topic_registry& topics) : topics_(topics) {}
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  const metadata::topic_registry& topics_;
};

}  // namespace geomirror::metrics

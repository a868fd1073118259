#include "broker-core/metrics/broker_probe.h"

#include <prometheus/client_metric.h>
#include <prometheus/metric_family.h>

#include <string>

namespace geomirror::metrics {
namespace {

// Request latency buckets, in seconds: 100 us .. 30 s (acks=-1 produce waits
// for fdatasync; fetch long polls wait up to max_wait_ms).
const prometheus::Histogram::BucketBoundaries latency_buckets = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};

}  // namespace

broker_probe::broker_probe(prometheus::Registry& registry,
                           const std::vector<std::pair<int16_t, std::string_view>>& apis) {
  auto& requests = prometheus::BuildCounter()
                       .Name("geomirror_broker_requests_total")
                       .Help("Requests answered, by API")
                       .Register(registry);
  auto& rejected = prometheus::BuildCounter()
                       .Name("geomirror_broker_requests_rejected_total")
                       .Help("Requests after which the connection was closed (malformed, unknown API or version)")
                       .Register(registry);
  auto& latency = prometheus::BuildHistogram()
                      .Name("geomirror_broker_request_duration_seconds")
                      .Help("Time from reading a request to handing over its response, by API")
                      .Register(registry);
  auto& bytes_in = prometheus::BuildCounter()
                       .Name("geomirror_broker_request_bytes_total")
                       .Help("Bytes of request frames, by API")
                       .Register(registry);
  auto& bytes_out = prometheus::BuildCounter()
                        .Name("geomirror_broker_response_bytes_total")
                        .Help("Bytes of response frames, by API")
                        .Register(registry);
  for (const auto& [key, name] : apis) {
    if (key < 0 || static_cast<size_t>(key) >= max_api_key) continue;
    prometheus::Labels labels{{"api", std::string(name)}};
    auto& s = series_[static_cast<size_t>(key)];
    s.requests = &requests.Add(labels);
    s.rejected = &rejected.Add(labels);
    s.latency = &latency.Add(labels, latency_buckets);
    s.bytes_in = &bytes_in.Add(labels);
    s.bytes_out = &bytes_out.Add(labels);
  }
  unknown_api_rejected_ = &rejected.Add({{"api", "unknown"}});
  auto& fetched = prometheus::BuildCounter()
                      .Name("geomirror_broker_fetch_bytes_total")
                      .Help("Record bytes answered to Fetch: path=sendfile went from the page cache to the socket, "
                            "path=copied was read from disk on a storage thread")
                      .Register(registry);
  fetched_zero_copy_ = &fetched.Add({{"path", "sendfile"}});
  fetched_copied_ = &fetched.Add({{"path", "copied"}});
}

void broker_probe::record_fetched(uint64_t zero_copy_bytes, uint64_t copied_bytes) {
  fetched_zero_copy_->Increment(static_cast<double>(zero_copy_bytes));
  fetched_copied_->Increment(static_cast<double>(copied_bytes));
}

void broker_probe::record_request(int16_t api_key, std::chrono::steady_clock::duration latency, size_t request_bytes,
                                  size_t response_bytes) {
  if (api_key < 0 || static_cast<size_t>(api_key) >= max_api_key) return;
  auto& s = series_[static_cast<size_t>(api_key)];
  if (s.requests == nullptr) return;
  s.requests->Increment();
  s.latency->Observe(std::chrono::duration<double>(latency).count());
  s.bytes_in->Increment(static_cast<double>(request_bytes));
  s.bytes_out->Increment(static_cast<double>(response_bytes));
}

void broker_probe::record_rejected(int16_t api_key) {
  if (api_key >= 0 && static_cast<size_t>(api_key) < max_api_key && series_[static_cast<size_t>(api_key)].rejected) {
    series_[static_cast<size_t>(api_key)].rejected->Increment();
  } else {
    unknown_api_rejected_->Increment();
  }
}

std::vector<prometheus::MetricFamily> partition_collector::Collect() const {
  auto family = [](std::string name, std::string help, prometheus::MetricType type) {
    prometheus::MetricFamily f;
    f.name = std::move(name);
    f.help = std::move(help);
    f.type = type;
    return f;
  };
  auto start = family("geomirror_partition_log_start_offset", "First offset still in the log", prometheus::MetricType::Gauge);
  auto hw = family("geomirror_partition_high_watermark", "Offset up to which records are readable (durable by default)",
                   prometheus::MetricType::Gauge);
  auto end = family("geomirror_partition_log_end_offset", "Offset the next appended record gets", prometheus::MetricType::Gauge);
  auto size = family("geomirror_partition_size_bytes", "Bytes of all segments", prometheus::MetricType::Gauge);
  auto segments = family("geomirror_partition_segments", "Segment files", prometheus::MetricType::Gauge);
  auto syncs = family("geomirror_partition_fdatasyncs_total", "fdatasync calls on segment data (group commit)",
                      prometheus::MetricType::Counter);
  auto add = [](prometheus::MetricFamily& f, const prometheus::Labels& labels, double value) {
    prometheus::ClientMetric m;
    for (const auto& [k, v] : labels) m.label.push_back({k, v});
    if (f.type == prometheus::MetricType::Counter) {
      m.counter.value = value;
    } else {
      m.gauge.value = value;
    }
    f.metric.push_back(std::move(m));
  };
  for (const auto& topic : topics_.all()) {
    for (int32_t p = 0; p < topic->partition_count(); ++p) {
      auto log = topic->partition(p);
      prometheus::Labels labels{{"topic", topic->name}, {"partition", std::to_string(p)}};
      add(start, labels, static_cast<double>(log->log_start_offset()));
      add(hw, labels, static_cast<double>(log->high_watermark()));
      add(end, labels, static_cast<double>(log->log_end_offset()));
      add(size, labels, static_cast<double>(log->size_bytes()));
      add(segments, labels, static_cast<double>(log->segment_count()));
      add(syncs, labels, static_cast<double>(log->sync_count()));
    }
  }
  return {std::move(start), std::move(hw), std::move(end), std::move(size), std::move(segments), std::move(syncs)};
}

}  // namespace geomirror::metrics

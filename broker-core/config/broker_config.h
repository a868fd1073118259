#pragma once
// Broker settings read from the --config file (Kafka-style `key=value`
// lines, `#` comments). The file may also set broker-wide topic defaults
// under Kafka's broker names (log.retention.hours, log.segment.bytes, ...).
// Unknown keys and bad values are refused with the file, line and reason.

#include "broker-core/config/config_definition.h"
#include "broker-core/config/topic_config.h"

#include <cstdint>
#include <filesystem>
#include <map>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace geomirror::config {

// A configuration the broker cannot start with; the message says what and where.
class config_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct broker_config {
  int32_t node_id = 0;
  bool auto_create_topics = false;
  int32_t num_partitions = 1;
  int32_t max_request_bytes = 100 * 1024 * 1024;
  int64_t queued_max_request_bytes = int64_t{512} << 20;
  int64_t queued_max_request_wait_ms = 30'000;
  int64_t connections_max_idle_ms = 600'000;  // -1: never
  int64_t retention_check_interval_ms = 300'000;
  int64_t flush_scheduler_interval_ms = 100;
  int32_t network_threads = 0;      // 0: one per CPU core
  int32_t flush_threads = 4;
  int32_t io_threads = 4;
  bool delete_topic_enable = true;
  int32_t cleaner_threads = 1;
  int64_t cleaner_backoff_ms = 15'000;
  int64_t cleaner_dedupe_buffer_bytes = int64_t{128} << 20;
  int64_t producer_id_expiration_ms = 86'400'000;
  int64_t producer_id_expiration_check_interval_ms = 600'000;
  // Group coordinator (Kafka's group.* and offsets.* keys).
  int32_t group_initial_rebalance_delay_ms = 3000;
  int32_t group_min_session_timeout_ms = 6000;
  int32_t group_max_session_timeout_ms = 1'800'000;
  int32_t group_max_size = INT32_MAX;
  int32_t offsets_retention_minutes = 10080;  // 7 days
  int64_t offsets_retention_check_interval_ms = 600'000;
  int32_t offset_metadata_max_bytes = 4096;

  // Broker-level value of every topic config (file synonym or built-in default).
  topic_defaults topic_defaults_ = builtin_topic_defaults();
  // The keys the file set, with their values as written (for DescribeConfigs).
  std::map<std::string, std::string, std::less<>> file_values;

  // Parses `key=value` text; `origin` names the source in error messages.
  static broker_config parse(std::string_view text, std::string_view origin);
  // Reads and parses a file; throws config_error when unreadable or invalid.
  static broker_config load(const std::filesystem::path& file);
};

// The broker keys (not topic synonyms) with types, defaults and documentation.
std::span<const config_definition> broker_config_table();

// One broker config as DescribeConfigs(BROKER) reports it.
struct described_broker_config {
  std::string name;
  std::string value;
  config_source source;
  config_type type;
  std::string_view documentation;
};
std::vector<described_broker_config> describe_broker_config(const broker_config& config);

}  // namespace geomirror::config

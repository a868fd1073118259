#include "broker-core/config/broker_config.h"

#include <fmt/format.h>

#include <array>
#include <cctype>
#include <fstream>
#include <sstream>

namespace geomirror::config {
namespace {

const std::array<config_definition, 26> broker_table = {{
    {"node.id", config_type::int32, "0", "This broker's id in Metadata responses.", 0, INT32_MAX},
    {"auto.create.topics.enable", config_type::boolean, "false",
     "Create a topic with num.partitions partitions when a client asks Metadata for a topic that does not exist."},
    {"num.partitions", config_type::int32, "1", "Partitions of auto-created topics and of CreateTopics with -1.", 1,
     INT32_MAX},
    {"default.replication.factor", config_type::int32, "1",
     "Replication factor of new topics; a region runs one broker, so only 1 is possible.", 1, 1},
    {"socket.request.max.bytes", config_type::int32, "104857600",
     "Largest request frame accepted; a larger frame closes the connection.", 8, INT32_MAX},
    {"queued.max.request.bytes", config_type::int64, "536870912",
     "Bound on the bytes of requests being read or waiting for their answer, over all connections; a connection "
     "reads on only as that memory is released. At least socket.request.max.bytes.",
     8, INT64_MAX},
    {"queued.max.request.wait.ms", config_type::int64, "30000",
     "How long a connection with a request half read may wait for queued.max.request.bytes memory before it is "
     "closed (geomirror only: half-read requests must not hold the memory forever).",
     1, INT64_MAX},
    {"connections.max.idle.ms", config_type::int64, "600000",
     "Close a connection with no request in flight that sent or received nothing for this long (-1: never).", -1,
     INT64_MAX},
    {"log.retention.check.interval.ms", config_type::int64, "300000",
     "How often retention.ms and retention.bytes are applied.", 1, INT64_MAX},
    {"log.flush.scheduler.interval.ms", config_type::int64, "100",
     "How often topics with a finite flush.ms are checked for a due fdatasync.", 1, INT64_MAX},
    {"num.network.threads", config_type::int32, "0",
     "Threads serving connections and requests; 0 means one per CPU core.", 0, 256},
    {"log.flush.threads", config_type::int32, "4", "Threads issuing fdatasync for group commit.", 1, 64},
    {"num.io.threads", config_type::int32, "4",
     "Storage threads for file work kept off the network threads: reads of data not in the page cache, segment "
     "rolls, file deletion.",
     1, 256},
    {"delete.topic.enable", config_type::boolean, "true", "Whether DeleteTopics may delete topics."},
    {"log.cleaner.threads", config_type::int32, "1", "Threads compacting topics with cleanup.policy=compact.", 1, 64},
    {"log.cleaner.backoff.ms", config_type::int64, "15000",
     "Pause between compaction passes when no compacted partition needs cleaning.", 1, INT64_MAX},
    {"log.cleaner.dedupe.buffer.size", config_type::int64, "134217728",
     "Memory for the key -> latest offset map of one cleaning pass; larger dirty sections take several passes.",
     1 << 20, INT64_MAX},
    {"producer.id.expiration.ms", config_type::int32, "86400000",
     "An idempotent producer's sequence state is forgotten after this long without an append.", 1, INT32_MAX},
    {"producer.id.expiration.check.interval.ms", config_type::int32, "600000",
     "How often expired idempotent producer state is removed.", 1, INT32_MAX},
    {"group.initial.rebalance.delay.ms", config_type::int32, "3000",
     "How long the first rebalance of an empty group waits for more members to join (extended while they keep "
     "arriving, up to the rebalance timeout).",
     0, INT32_MAX},
    {"group.min.session.timeout.ms", config_type::int32, "6000",
     "Smallest session timeout a member may ask for (else INVALID_SESSION_TIMEOUT).", 0, INT32_MAX},
    {"group.max.session.timeout.ms", config_type::int32, "1800000",
     "Largest session timeout a member may ask for (else INVALID_SESSION_TIMEOUT).", 0, INT32_MAX},
    {"group.max.size", config_type::int32, "2147483647",
     "Most members a consumer group may have (further joins get GROUP_MAX_SIZE_REACHED).", 1, INT32_MAX},
    {"offsets.retention.minutes", config_type::int32, "10080",
     "Committed offsets are deleted this long after their group became empty (or, for topics a stable group no "
     "longer subscribes to and for groups without group management, after their commit).",
     1, INT32_MAX},
    {"offsets.retention.check.interval.ms", config_type::int64, "600000",
     "How often expired committed offsets are looked for.", 1, INT64_MAX},
    {"offset.metadata.max.bytes", config_type::int32, "4096",
     "Largest metadata string of a committed offset (else OFFSET_METADATA_TOO_LARGE).", 0, INT32_MAX},
}};

// Broker keys that give a topic default in another unit (Kafka precedence:
// the .ms key wins over .minutes, which wins over .hours).
struct unit_synonym {
  std::string_view key;
  std::string_view topic_key;
  int64_t factor;
  int rank;  // higher wins
};
const std::array<unit_synonym, 6> unit_synonyms = {{
    {"log.retention.ms", "retention.ms", 1, 3},
    {"log.retention.minutes", "retention.ms", 60'000, 2},
    {"log.retention.hours", "retention.ms", 3'600'000, 1},
    {"log.roll.ms", "segment.ms", 1, 3},
    {"log.roll.hours", "segment.ms", 3'600'000, 1},
    {"broker.id", "", 1, 0},  // alias of node.id, handled below
}};

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

int32_t parse_int32(std::string_view value) { return static_cast<int32_t>(parse_int64(value)); }

void apply_broker_key(broker_config& c, std::string_view key, std::string_view value) {
  if (key == "node.id") c.node_id = static_cast<int32_t>(parse_int64(value));
  else if (key == "auto.create.topics.enable") c.auto_create_topics = parse_bool(value);
  else if (key == "num.partitions") c.num_partitions = static_cast<int32_t>(parse_int64(value));
  else if (key == "socket.request.max.bytes") c.max_request_bytes = static_cast<int32_t>(parse_int64(value));
  else if (key == "queued.max.request.bytes") c.queued_max_request_bytes = parse_int64(value);
  else if (key == "connections.max.idle.ms") c.connections_max_idle_ms = parse_int64(value);
  else if (key == "queued.max.request.wait.ms") c.queued_max_request_wait_ms = parse_int64(value);
  else if (key == "log.retention.check.interval.ms") c.retention_check_interval_ms = parse_int64(value);
  else if (key == "log.flush.scheduler.interval.ms") c.flush_scheduler_interval_ms = parse_int64(value);
  else if (key == "num.network.threads") c.network_threads = static_cast<int32_t>(parse_int64(value));
  else if (key == "log.flush.threads") c.flush_threads = static_cast<int32_t>(parse_int64(value));
  else if (key == "num.io.threads") c.io_threads = parse_int32(value);
  else if (key == "delete.topic.enable") c.delete_topic_enable = parse_bool(value);
  else if (key == "log.cleaner.threads") c.cleaner_threads = parse_int32(value);
  else if (key == "log.cleaner.backoff.ms") c.cleaner_backoff_ms = parse_int64(value);
  else if (key == "log.cleaner.dedupe.buffer.size") c.cleaner_dedupe_buffer_bytes = parse_int64(value);
  else if (key == "producer.id.expiration.ms") c.producer_id_expiration_ms = parse_int64(value);
  else if (key == "producer.id.expiration.check.interval.ms") c.producer_id_expiration_check_interval_ms = parse_int64(value);
  else if (key == "group.initial.rebalance.delay.ms") c.group_initial_rebalance_delay_ms = parse_int32(value);
  else if (key == "group.min.session.timeout.ms") c.group_min_session_timeout_ms = parse_int32(value);
  else if (key == "group.max.session.timeout.ms") c.group_max_session_timeout_ms = parse_int32(value);
  else if (key == "group.max.size") c.group_max_size = parse_int32(value);
  else if (key == "offsets.retention.minutes") c.offsets_retention_minutes = parse_int32(value);
  else if (key == "offsets.retention.check.interval.ms") c.offsets_retention_check_interval_ms = parse_int64(value);
  else if (key == "offset.metadata.max.bytes") c.offset_metadata_max_bytes = parse_int32(value);
  // default.replication.factor: validated to be 1, nothing to store.
}

}  // namespace

std::span<const config_definition> broker_config_table() { return broker_table; }

broker_config broker_config::parse(std::string_view text, std::string_view origin) {
  broker_config c;
  std::map<std::string, int, std::less<>> unit_rank;  // topic key -> rank of the unit synonym applied
  int line_no = 0;
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    ++line_no;
    line = trim(line);
    if (line.empty() || line.front() == '#' || line.front() == '!') continue;
    auto eq = line.find('=');
    if (eq == std::string_view::npos) {
      throw config_error(fmt::format("{}:{}: expected key=value, got '{}'", origin, line_no, line));
    }
    std::string_view key = trim(line.substr(0, eq));
    std::string_view value = trim(line.substr(eq + 1));
    auto fail = [&](const std::string& why) { throw config_error(fmt::format("{}:{}: {}", origin, line_no, why)); };

    if (key == "broker.id") key = "node.id";
    if (const auto* def = find_definition(broker_table, key)) {
      if (auto err = validate(*def, value)) fail(*err);
      apply_broker_key(c, key, value);
      c.file_values[std::string(key)] = std::string(value);
      continue;
    }
    bool handled = false;
    for (const auto& u : unit_synonyms) {
      if (u.key != key || u.topic_key.empty()) continue;
      config_definition as_long{u.key, config_type::int64, "", "", -1, INT64_MAX};
      if (auto err = validate(as_long, value)) fail(*err);
      int64_t v = parse_int64(value);
      int64_t ms = v < 0 ? v : v * u.factor;
      const auto* topic_def = find_definition(topic_config_table(), u.topic_key);
      if (auto err = validate(*topic_def, std::to_string(ms))) fail(*err);
      if (unit_rank[std::string(u.topic_key)] <= u.rank) {
        unit_rank[std::string(u.topic_key)] = u.rank;
        c.topic_defaults_[std::string(u.topic_key)] =
            config_value{std::to_string(ms), config_source::static_broker, std::string(u.key)};
      }
      c.file_values[std::string(key)] = std::string(value);
      handled = true;
    }
    if (handled) continue;
    for (const auto& def : topic_config_table()) {
      if (def.synonym != key) continue;
      if (auto err = validate(def, value)) fail(*err);
      c.topic_defaults_[std::string(def.name)] =
          config_value{std::string(trim(value)), config_source::static_broker, std::string(key)};
      c.file_values[std::string(key)] = std::string(value);
      handled = true;
    }
    if (handled) continue;
    if (key == "listeners" || key == "advertised.listeners" || key == "log.dirs" || key == "log.dir") {
      fail(fmt::format("'{}' is set on the command line (--listen, --advertised-listener, --data-dir)", key));
    }
    fail(fmt::format("unknown broker config '{}' (see docs/configuration.md for the supported keys)", key));
  }
  if (c.queued_max_request_bytes < c.max_request_bytes) {
    throw config_error(fmt::format("{}: queued.max.request.bytes ({}) is below socket.request.max.bytes ({}); a "
                                   "request of the largest accepted size could never be read",
                                   origin, c.queued_max_request_bytes, c.max_request_bytes));
  }
  if (c.group_min_session_timeout_ms > c.group_max_session_timeout_ms) {
    throw config_error(fmt::format("{}: group.min.session.timeout.ms ({}) is above group.max.session.timeout.ms ({}); "
                                   "every JoinGroup would fail with INVALID_SESSION_TIMEOUT",
                                   origin, c.group_min_session_timeout_ms, c.group_max_session_timeout_ms));
  }
  return c;
}

broker_config broker_config::load(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) throw config_error(fmt::format("cannot read config file {}", file.string()));
  std::stringstream ss;
  ss << in.rdbuf();
  return parse(ss.str(), file.string());
}

std::vector<described_broker_config> describe_broker_config(const broker_config& config) {
  std::vector<described_broker_config> out;
  for (const auto& def : broker_table) {
    auto it = config.file_values.find(def.name);
    std::string value = std::string(def.default_value);
    if (def.name == "node.id") value = std::to_string(config.node_id);
    if (it != config.file_values.end()) value = it->second;
    out.push_back({std::string(def.name), value,
                   it != config.file_values.end() ? config_source::static_broker : config_source::default_value,
                   def.type, def.documentation});
  }
  for (const auto& def : topic_config_table()) {
    const auto& v = config.topic_defaults_.at(std::string(def.name));
    out.push_back({std::string(def.synonym), v.value, v.source, def.type, def.documentation});
  }
  return out;
}

}  // namespace geomirror::config

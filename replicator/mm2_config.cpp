#include "replicator/mm2_config.h"

#include "replicator/properties.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <set>

namespace geomirror::replicator {
namespace {

// MM2's defaults (DefaultTopicFilter, DefaultGroupFilter).
constexpr std::string_view default_topics_exclude = ".*[\\-\\.]internal, .*\\.replica, __.*";
constexpr std::string_view default_groups_exclude = "console-consumer-.*, connect-.*, __.*";

// MM2 keys for Kafka Connect's workers and for features done differently
// here: accepted, with one warning each.
const std::set<std::string, std::less<>> ignored_mm2_keys = {
    "tasks.max", "key.converter", "value.converter", "header.converter",
    "offset.storage.replication.factor", "status.storage.replication.factor", "config.storage.replication.factor",
    "offset-syncs.topic.replication.factor", "offset-syncs.topic.location", "emit.offset-syncs.enabled",
    "offset.lag.max", "dedicated.mode.enable.internal.rest", "sync.topic.acls.enabled",
    "sync.topic.acls.interval.seconds", "config.properties.exclude", "topic.filter.class", "group.filter.class",
    "config.property.filter.class", "admin.timeout.ms", "consumer.poll.timeout.ms", "replication.policy.internal.topic.separator.enabled",
};

std::string trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

std::vector<std::string> split_list(std::string_view s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t comma = s.find(',', start);
    if (comma == std::string_view::npos) comma = s.size();
    if (auto item = trim(s.substr(start, comma - start)); !item.empty()) out.push_back(std::move(item));
    start = comma + 1;
  }
  return out;
}

class parser {
 public:
  parser(const std::string& file) : file_(file) {}

  [[noreturn]] void fail(int line, const std::string& what) const {
    throw config_error(line, line > 0 ? file_ + ":" + std::to_string(line) + ": " + what : file_ + ": " + what);
  }

  bool parse_bool(const property& p) const {
    std::string v = p.value;
    std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::tolower(c); });
    if (v == "true") return true;
    if (v == "false") return false;
    fail(p.line, p.key + " = '" + p.value + "' is not a boolean; write true or false");
  }

  int parse_int(const property& p, int min) const {
    size_t used = 0;
    int v = 0;
    try {
      v = std::stoi(p.value, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != p.value.size() || v < min) {
      fail(p.line, p.key + " = '" + p.value + "' is not a whole number of at least " + std::to_string(min));
    }
    return v;
  }

  name_filter parse_filter(const property& p) const { return compile(p.value, p.line, p.key); }

  name_filter compile(std::string_view list, int line, const std::string& key) const {
    name_filter f;
    for (auto& pattern : split_list(list)) {
      try {
        f.compiled.emplace_back(pattern, std::regex::ECMAScript);
      } catch (const std::regex_error& e) {
        fail(line, "bad regular expression '" + pattern + "' in " + key + ": " + e.what());
      }
      f.patterns.push_back(std::move(pattern));
    }
    return f;
  }

  // Applies a flow setting (global or flow-level) to `flow`; false when `key`
  // is not one.
  bool apply(flow_config& flow, const std::string& key, const property& p) const {
    if (key == "topics") flow.topics = parse_filter(p);
    else if (key == "topics.exclude" || key == "topics.blacklist") flow.topics_exclude = parse_filter(p);
    else if (key == "groups") flow.groups = parse_filter(p);
    else if (key == "groups.exclude" || key == "groups.blacklist") flow.groups_exclude = parse_filter(p);
    else if (key == "replication.policy.class") flow.policy = parse_policy(p);
    else if (key == "replication.policy.separator") {
      if (p.value.empty()) fail(p.line, "replication.policy.separator is empty; MM2's default is '.'");
      flow.separator = p.value;
    } else if (key == "sync.topic.configs.enabled") flow.sync_topic_configs = parse_bool(p);
    else if (key == "sync.group.offsets.enabled") flow.sync_group_offsets = parse_bool(p);
    else if (key == "emit.checkpoints.enabled") flow.emit_checkpoints = parse_bool(p);
    else if (key == "emit.heartbeats.enabled") flow.emit_heartbeats = parse_bool(p);
    else if (key == "provenance.headers") flow.provenance_headers = parse_bool(p);
    else if (key == "emit.checkpoints.interval.seconds") flow.emit_checkpoints_interval_s = parse_int(p, 1);
    else if (key == "emit.heartbeats.interval.seconds") flow.emit_heartbeats_interval_s = parse_int(p, 1);
    else if (key == "sync.group.offsets.interval.seconds") flow.sync_group_offsets_interval_s = parse_int(p, 1);
    else if (key == "refresh.topics.interval.seconds") flow.refresh_topics_interval_s = parse_int(p, 1);
    else if (key == "refresh.groups.interval.seconds") flow.refresh_groups_interval_s = parse_int(p, 1);
    else if (key == "replication.factor") flow.replication_factor = parse_replication_factor(p);
    else if (key == "checkpoints.topic.replication.factor") flow.checkpoints_replication_factor = parse_replication_factor(p);
    else if (key == "heartbeats.topic.replication.factor") flow.heartbeats_replication_factor = parse_replication_factor(p);
    else return false;
    return true;
  }

 private:
  naming parse_policy(const property& p) const {
    const std::string v = trim(p.value);
    if (v == "org.apache.kafka.connect.mirror.DefaultReplicationPolicy" || v == "DefaultReplicationPolicy" ||
        v == "default") {
      return naming::prefixed;
    }
    if (v == "org.apache.kafka.connect.mirror.IdentityReplicationPolicy" || v == "IdentityReplicationPolicy" ||
        v == "identity") {
      return naming::identity;
    }
    fail(p.line, "replication.policy.class '" + v +
                     "' is not supported; use DefaultReplicationPolicy (<source>.<topic>) or IdentityReplicationPolicy");
  }

  int parse_replication_factor(const property& p) const {
    if (trim(p.value) == "-1") return -1;
    return parse_int(p, 1);
  }

  std::string file_;
};

}  // namespace

bool name_filter::matches(const std::string& name) const {
  return std::any_of(compiled.begin(), compiled.end(), [&](const std::regex& r) { return std::regex_match(name, r); });
}

std::string flow_config::remote_topic(const std::string& topic) const {
  return policy == naming::identity ? topic : source + separator + topic;
}

const cluster_config& replicator_config::cluster(const std::string& alias) const {
  for (const auto& c : clusters) {
    if (c.alias == alias) return c;
  }
  throw std::out_of_range("no cluster '" + alias + "'");
}

replicator_config parse_mm2_config(std::string_view text, const std::string& file) {
  const parser ps(file);
  const auto props = parse_properties(text);
  replicator_config config;

  const property* clusters_prop = nullptr;
  for (const auto& p : props) {
    if (p.key == "clusters") clusters_prop = &p;
  }
  if (clusters_prop == nullptr) ps.fail(0, "no 'clusters' key; list the cluster aliases, e.g. clusters = east, west");
  for (const auto& alias : split_list(clusters_prop->value)) {
    if (alias.find_first_of(". \t") != std::string::npos || alias.find("->") != std::string::npos) {
      ps.fail(clusters_prop->line, "cluster alias '" + alias + "' may not contain '.', '->' or spaces");
    }
    if (std::any_of(config.clusters.begin(), config.clusters.end(), [&](const auto& c) { return c.alias == alias; })) {
      ps.fail(clusters_prop->line, "cluster alias '" + alias + "' is listed twice");
    }
    config.clusters.push_back({alias, "", {}, {}, {}, {}});
  }
  if (config.clusters.size() < 2) ps.fail(clusters_prop->line, "'clusters' must name at least two clusters");
  auto find_cluster = [&](const std::string& alias) -> cluster_config* {
    for (auto& c : config.clusters) {
      if (c.alias == alias) return &c;
    }
    return nullptr;
  };

  struct flow_key {
    std::string source, target, key;
    const property* p;
  };
  std::vector<const property*> globals;
  std::vector<flow_key> flow_keys;
  std::set<std::string> warned;
  for (const auto& p : props) {
    if (p.key == "clusters") continue;
    if (auto arrow = p.key.find("->"); arrow != std::string::npos) {
      const auto dot = p.key.find('.', arrow + 2);
      if (dot == std::string::npos) ps.fail(p.line, "'" + p.key + "' names no setting; write <source>-><target>.<key>");
      flow_key fk{p.key.substr(0, arrow), p.key.substr(arrow + 2, dot - arrow - 2), p.key.substr(dot + 1), &p};
      for (const auto* alias : {&fk.source, &fk.target}) {
        if (find_cluster(*alias) == nullptr) {
          ps.fail(p.line, "flow " + fk.source + "->" + fk.target + " names cluster '" + *alias +
                              "', which 'clusters' does not list");
        }
      }
      if (fk.source == fk.target) ps.fail(p.line, "flow " + fk.source + "->" + fk.target + " goes from a cluster to itself");
      flow_config scratch;
      if (fk.key != "enabled" && !ps.apply(scratch, fk.key, p)) {
        ps.fail(p.line, "unknown flow setting '" + fk.key + "' in '" + p.key + "' (see docs/replicator-configuration.md)");
      }
      if (fk.key == "enabled") ps.parse_bool(p);
      flow_keys.push_back(std::move(fk));
      continue;
    }
    const auto dot = p.key.find('.');
    if (cluster_config* c = dot == std::string::npos ? nullptr : find_cluster(p.key.substr(0, dot))) {
      const std::string rest = p.key.substr(dot + 1);
      auto under = [&](std::string_view prefix) { return rest.rfind(prefix, 0) == 0 && rest.size() > prefix.size(); };
      if (rest == "bootstrap.servers") c->bootstrap_servers = trim(p.value);
      else if (under("producer.")) c->producer[rest.substr(9)] = p.value;
      else if (under("consumer.")) c->consumer[rest.substr(9)] = p.value;
      else if (under("admin.")) c->admin[rest.substr(6)] = p.value;
      else c->client[rest] = p.value;
      continue;
    }
    flow_config scratch;
    if (ps.apply(scratch, p.key, p)) {
      globals.push_back(&p);
    } else if (ignored_mm2_keys.count(p.key) != 0) {
      if (warned.insert(p.key).second) {
        config.warnings.push_back(file + ":" + std::to_string(p.line) + ": MM2 key '" + p.key +
                                  "' has no meaning for geomirror-replicator and is ignored");
      }
    } else {
      ps.fail(p.line, "unknown key '" + p.key + "': neither MirrorMaker 2's nor geomirror's, nor '" +
                          "<cluster>.' of a listed cluster (see docs/replicator-configuration.md)");
    }
  }
  for (const auto& c : config.clusters) {
    if (c.bootstrap_servers.empty()) {
      ps.fail(clusters_prop->line, "cluster '" + c.alias + "' has no bootstrap servers; add " + c.alias +
                                       ".bootstrap.servers = host:port[,host:port...]");
    }
  }

  for (const auto& source : config.clusters) {
    for (const auto& target : config.clusters) {
      if (source.alias == target.alias) continue;
      bool enabled = false;
      for (const auto& fk : flow_keys) {
        if (fk.source == source.alias && fk.target == target.alias && fk.key == "enabled") enabled = ps.parse_bool(*fk.p);
      }
      if (!enabled) continue;
      flow_config flow;
      flow.source = source.alias;
      flow.target = target.alias;
      flow.topics = ps.compile(".*", 0, "topics");
      flow.topics_exclude = ps.compile(default_topics_exclude, 0, "topics.exclude");
      flow.groups = ps.compile(".*", 0, "groups");
      flow.groups_exclude = ps.compile(default_groups_exclude, 0, "groups.exclude");
      for (const auto* p : globals) ps.apply(flow, p->key, *p);
      for (const auto& fk : flow_keys) {
        if (fk.source == source.alias && fk.target == target.alias && fk.key != "enabled") ps.apply(flow, fk.key, *fk.p);
      }
      config.flows.push_back(std::move(flow));
    }
  }
  if (config.flows.empty()) {
    ps.fail(0, "no flow is enabled; add one, e.g. " + config.clusters[0].alias + "->" + config.clusters[1].alias +
                   ".enabled = true");
  }
  return config;
}

}  // namespace geomirror::replicator

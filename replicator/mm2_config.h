#pragma once
// The replicator's configuration, in MirrorMaker 2's properties format so an
// MM2 user brings their file unchanged (docs/replicator-configuration.md
// lists every key):
//   clusters = east, west
//   east.bootstrap.servers = ...       (and east.<librdkafka property>,
//                                        east.producer.<p>, .consumer.<p>, .admin.<p>)
//   east->west.enabled = true
//   east->west.topics = orders.*       (a flow-level key overrides the global one)
// MM2's Connect worker keys that mean nothing here are accepted with one
// warning each; any other unknown key, a bad value, a bad regex, a flow
// naming an unknown cluster or going from a cluster to itself, or a cluster
// without bootstrap servers is a config_error naming the line.

#include <map>
#include <regex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace geomirror::replicator {

// A bad configuration: what and where (line 0: the file as a whole).
class config_error : public std::runtime_error {
 public:
  config_error(int line, const std::string& message) : std::runtime_error(message), line_(line) {}
  int line() const { return line_; }

 private:
  int line_;
};

struct cluster_config {
  std::string alias;
  std::string bootstrap_servers;
  // librdkafka properties, passed as is: for every client of the cluster,
  // then for producers, consumers and admin clients only.
  std::map<std::string, std::string> client, producer, consumer, admin;
};

// A comma-separated list of regular expressions, each matching whole names.
struct name_filter {
  std::vector<std::string> patterns;
  std::vector<std::regex> compiled;
  bool matches(const std::string& name) const;
};

enum class naming {
  prefixed,  // MM2's DefaultReplicationPolicy: <source>.<topic>
  identity,  // MM2's IdentityReplicationPolicy: the source's name
};

struct flow_config {
  std::string source;
  std::string target;
  name_filter topics, topics_exclude, groups, groups_exclude;
  naming policy = naming::prefixed;
  std::string separator = ".";
  bool sync_topic_configs = true;
  bool sync_group_offsets = false;
  bool emit_checkpoints = true;
  bool emit_heartbeats = true;
  bool provenance_headers = true;  // false: at-least-once
  int emit_checkpoints_interval_s = 1;
  int emit_heartbeats_interval_s = 1;
  int sync_group_offsets_interval_s = 1;
  int refresh_topics_interval_s = 5;
  int refresh_groups_interval_s = 5;
  int replication_factor = -1;  // -1: the target cluster's default
  int checkpoints_replication_factor = -1;
  int heartbeats_replication_factor = -1;

  std::string name() const { return source + "->" + target; }
  // The topic's name on the target.
  std::string remote_topic(const std::string& topic) const;
};

struct replicator_config {
  std::vector<cluster_config> clusters;
  std::vector<flow_config> flows;  // the enabled ones, in the order of `clusters`
  std::vector<std::string> warnings;  // one per accepted-but-ignored MM2 key

  const cluster_config& cluster(const std::string& alias) const;
};

// Parses a whole file's text; `file` names it in messages. Throws config_error.
replicator_config parse_mm2_config(std::string_view text, const std::string& file);

}  // namespace geomirror::replicator

#pragma once
// The broker's topics: names, ids, partition logs and effective configs.
// Reads (find by name or id) are lock-free snapshots for the request path;
// admin changes (create, delete, add partitions) are serialized, written to
// the metadata store and the partition logs in a crash-safe order:
// create makes the partition dirs before committing the topic, delete
// removes the topic from the store before deleting its dirs, and start-up
// removes dirs the store does not know.

#include "broker-core/config/broker_config.h"
#include "broker-core/metadata/errc.h"
#include "broker-core/metadata/metadata_store.h"
#include "broker-core/protocol/wire.h"
#include "broker-core/storage/log_manager.h"
#include "broker-core/storage/partition_log.h"

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

namespace geomirror::metadata {

// One topic as the request path sees it. Immutable: a change publishes a new
// snapshot that shares the partition logs.
struct topic_snapshot {
  std::string name;
  protocol::uuid id;
  config::topic_overrides overrides;
  storage::log_config log;
  int32_t min_insync_replicas = 1;
  std::vector<std::shared_ptr<storage::partition_log>> partitions;

  int32_t partition_count() const { return static_cast<int32_t>(partitions.size()); }
  // Null when the partition does not exist.
  std::shared_ptr<storage::partition_log> partition(int32_t index) const;
};

// Kafka's topic name rules: 1..249 characters of [a-zA-Z0-9._-], not "." or "..".
admin_result validate_topic_name(std::string_view name);

class topic_registry {
 public:
  topic_registry(metadata_store& store, storage::log_manager& logs, const config::broker_config& broker);

  // Opens every stored topic's partition logs (running recovery) and removes
  // partition dirs no stored topic owns. Throws std::runtime_error on failure.
  void load();

  std::shared_ptr<const topic_snapshot> find(std::string_view name) const;
  std::shared_ptr<const topic_snapshot> find(const protocol::uuid& id) const;
  std::vector<std::shared_ptr<const topic_snapshot>> all() const;

  // Effective config of a topic for DescribeConfigs.
  std::map<std::string, config::config_value, std::less<>> describe(const topic_snapshot& topic) const;

  // Admin operations. With validate_only nothing changes.
  admin_result create_topic(const std::string& name, int32_t partitions, const config::topic_overrides& overrides,
                            bool validate_only);
  admin_result delete_topic(const std::string& name);
  admin_result create_partitions(const std::string& name, int32_t new_total, bool validate_only);
  // Replaces every override of the topic with `overrides` and applies the
  // result to its partition logs at once.
  admin_result alter_configs(const std::string& name, const config::topic_overrides& overrides, bool validate_only);

  // Called with the topic's name once a deletion is committed (the group
  // coordinator drops the topic's committed offsets), on the deleting thread
  // while admin operations are serialized: a listener must not call the
  // registry's admin operations. Lookups (find) are fine.
  using topic_deleted_listener = std::function<void(const std::string& topic)>;
  void add_topic_deleted_listener(topic_deleted_listener listener);

 private:
  std::shared_ptr<topic_snapshot> make_snapshot(const stored_topic& stored) const;
  // Derives the storage settings and min.insync.replicas from the overrides.
  void apply_overrides(topic_snapshot& topic) const;
  void publish(std::shared_ptr<const topic_snapshot> topic);
  void unpublish(const std::string& name);

  metadata_store& store_;
  storage::log_manager& logs_;
  const config::broker_config& broker_;

  std::mutex admin_mu_;  // serializes admin operations
  std::vector<topic_deleted_listener> deleted_listeners_;  // guarded by admin_mu_
  mutable std::shared_mutex mu_;
  std::map<std::string, std::shared_ptr<const topic_snapshot>, std::less<>> by_name_;
  std::map<protocol::uuid, std::shared_ptr<const topic_snapshot>> by_id_;
};

// Converts a topic's effective configuration into the storage settings.
storage::log_config to_log_config(const std::map<std::string, config::config_value, std::less<>>& effective);

}  // namespace geomirror::metadata

#include "broker-core/base/clock.h"
#include "broker-core/metadata/topic_registry.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>
#include <stdexcept>

namespace geomirror::metadata {
namespace {

// Kafka refuses topics whose names differ only by '.' versus '_' because
// metric names would collide.
std::string collision_key(std::string_view name) {
  std::string key(name);
  for (auto& c : key) {
    if (c == '.') c = '_';
  }
  return key;
}

constexpr int32_t max_partitions = 100'000;

}  // namespace

std::shared_ptr<storage::partition_log> topic_snapshot::partition(int32_t index) const {
  if (index < 0 || index >= partition_count()) return nullptr;
  return partitions[static_cast<size_t>(index)];
}

admin_result validate_topic_name(std::string_view name) {
  auto illegal = [](std::string message) { return admin_error{errc::invalid_topic_name, std::move(message)}; };
  if (name.empty()) return illegal("Topic name is illegal, it can't be empty");
  if (name == "." || name == "..") return illegal("Topic name cannot be \".\" or \"..\"");
  if (name.size() > 249) {
    return illegal(fmt::format("Topic name is illegal, it can't be longer than 249 characters, topic name: {}", name));
  }
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-';
    if (!ok) {
      return illegal(fmt::format(
          "Topic name \"{}\" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'",
          name));
    }
  }
  return outcome::success();
}

namespace {
// compression.type (validated by the config table): nullopt for 'producer'.
std::optional<records::compression_codec> target_compression(std::string_view value) {
  using records::compression_codec;
  if (value == "uncompressed") return compression_codec::none;
  if (value == "gzip") return compression_codec::gzip;
  if (value == "snappy") return compression_codec::snappy;
  if (value == "lz4") return compression_codec::lz4;
  if (value == "zstd") return compression_codec::zstd;
  return std::nullopt;
}
}  // namespace

storage::log_config to_log_config(const std::map<std::string, config::config_value, std::less<>>& effective) {
  auto get = [&](std::string_view key) -> const std::string& { return effective.find(key)->second.value; };
  storage::log_config c;
  c.segment_bytes = config::parse_int64(get("segment.bytes"));
  c.segment_ms = config::parse_int64(get("segment.ms"));
  c.retention_ms = config::parse_int64(get("retention.ms"));
  c.retention_bytes = config::parse_int64(get("retention.bytes"));
  c.index_interval_bytes = static_cast<int32_t>(config::parse_int64(get("index.interval.bytes")));
  c.flush_messages = config::parse_int64(get("flush.messages"));
  c.flush_ms = config::parse_int64(get("flush.ms"));
  c.max_message_bytes = static_cast<int32_t>(config::parse_int64(get("max.message.bytes")));
  c.log_append_time = get("message.timestamp.type") == "LogAppendTime";
  c.compression = target_compression(get("compression.type"));
  auto policy = config::parse_list(get("cleanup.policy"));
  auto has = [&](std::string_view p) { return std::find(policy.begin(), policy.end(), p) != policy.end(); };
  c.compact = has("compact");
  c.delete_enabled = has("delete");
  c.delete_retention_ms = config::parse_int64(get("delete.retention.ms"));
  c.min_cleanable_dirty_ratio = config::parse_double(get("min.cleanable.dirty.ratio"));
  c.min_compaction_lag_ms = config::parse_int64(get("min.compaction.lag.ms"));
  c.max_compaction_lag_ms = config::parse_int64(get("max.compaction.lag.ms"));
  return c;
}

topic_registry::topic_registry(metadata_store& store, storage::log_manager& logs, const config::broker_config& broker)
    : store_(store), logs_(logs), broker_(broker) {}

void topic_registry::apply_overrides(topic_snapshot& topic) const {
  auto effective = config::effective_topic_config(broker_.topic_defaults_, topic.overrides);
  topic.log = to_log_config(effective);
  topic.min_insync_replicas = static_cast<int32_t>(config::parse_int64(effective.at("min.insync.replicas").value));
}

std::shared_ptr<topic_snapshot> topic_registry::make_snapshot(const stored_topic& stored) const {
  auto t = std::make_shared<topic_snapshot>();
  t->name = stored.name;
  t->id.value = stored.id;
  t->overrides = stored.configs;
  apply_overrides(*t);
  return t;
}

void topic_registry::load() {
  auto stored = store_.load_topics();
  if (!stored) throw std::runtime_error("cannot read topics from the metadata database");
  std::set<std::pair<std::string, int32_t>> known;
  for (const auto& s : stored.value()) {
    auto t = make_snapshot(s);
    for (int32_t p = 0; p < s.partitions; ++p) {
      auto log = logs_.open(s.name, p, t->log);
      if (!log) {
        throw std::runtime_error(
            fmt::format("cannot open partition {}-{}: {}", s.name, p, log.error().message()));
      }
      t->partitions.push_back(std::move(log).value());
      known.emplace(s.name, p);
    }
    publish(std::move(t));
  }
  if (auto removed = logs_.remove_unknown(known); removed && removed.value() > 0) {
    spdlog::warn("removed {} partition dirs that no topic owns (left by an interrupted create or delete)", removed.value());
  }
  spdlog::info("loaded {} topics with {} partitions", stored.value().size(), known.size());
}

std::shared_ptr<const topic_snapshot> topic_registry::find(std::string_view name) const {
  std::shared_lock lock(mu_);
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : it->second;
}

std::shared_ptr<const topic_snapshot> topic_registry::find(const protocol::uuid& id) const {
  std::shared_lock lock(mu_);
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<const topic_snapshot>> topic_registry::all() const {
  std::shared_lock lock(mu_);
  std::vector<std::shared_ptr<const topic_snapshot>> out;
  out.reserve(by_name_.size());
  for (const auto& [_, t] : by_name_) out.push_back(t);
  return out;
}

std::map<std::string, config::config_value, std::less<>> topic_registry::describe(const topic_snapshot& topic) const {
  return config::effective_topic_config(broker_.topic_defaults_, topic.overrides);
}

void topic_registry::publish(std::shared_ptr<const topic_snapshot> topic) {
  std::unique_lock lock(mu_);
  by_id_[topic->id] = topic;
  by_name_[topic->name] = std::move(topic);
}

void topic_registry::unpublish(const std::string& name) {
  std::unique_lock lock(mu_);
  auto it = by_name_.find(name);
  if (it == by_name_.end()) return;
  by_id_.erase(it->second->id);
  by_name_.erase(it);
}

admin_result topic_registry::create_topic(const std::string& name, int32_t partitions,
                                                        const config::topic_overrides& overrides, bool validate_only) {
  if (auto valid = validate_topic_name(name); !valid) return valid;
  if (partitions <= 0 || partitions > max_partitions) {
    return admin_error{errc::invalid_partitions,
                       fmt::format("Number of partitions must be between 1 and {}, got {}", max_partitions, partitions)};
  }
  for (const auto& [key, value] : overrides) {
    if (auto err = config::validate_topic_config(key, value)) return admin_error{errc::invalid_config, *err};
  }
  std::lock_guard admin(admin_mu_);
  if (find(name)) return admin_error{errc::topic_exists, fmt::format("Topic '{}' already exists.", name)};
  for (const auto& t : all()) {
    if (collision_key(t->name) == collision_key(name)) {
      return admin_error{errc::invalid_topic_name,
                         fmt::format("Topic '{}' collides with existing topic: {}", name, t->name)};
    }
  }
  if (validate_only) return outcome::success();

  stored_topic stored;
  stored.name = name;
  do {
    stored.id = protocol::uuid::random().value;
  } while (find(protocol::uuid{stored.id}));
  stored.partitions = partitions;
  stored.configs = overrides;
  stored.created_ms = base::wall_clock_ms();
  auto t = make_snapshot(stored);
  for (int32_t p = 0; p < partitions; ++p) {
    auto log = logs_.create(name, p, t->log);
    if (!log) {
      (void)logs_.remove_topic(name);
      return admin_error{errc::storage, fmt::format("Cannot create partition {}-{}: {}", name, p, log.error().message())};
    }
    t->partitions.push_back(std::move(log).value());
  }
  if (!store_.insert_topic(stored)) {
    (void)logs_.remove_topic(name);
    return admin_error{errc::database, "Cannot record the topic in the metadata database"};
  }
  publish(t);
  spdlog::info("created topic {} (id {}) with {} partitions", name, t->id.to_string(), partitions);
  return outcome::success();
}

admin_result topic_registry::delete_topic(const std::string& name) {
  if (!broker_.delete_topic_enable) {
    return admin_error{errc::topic_deletion_disabled, "Topic deletion is disabled (delete.topic.enable=false)"};
  }
  std::lock_guard admin(admin_mu_);
  auto t = find(name);
  if (!t) return admin_error{errc::unknown_topic, "This server does not host this topic."};
  if (!store_.delete_topic(name)) return admin_error{errc::database, "Cannot delete the topic from the metadata database"};
  unpublish(name);
  if (auto removed = logs_.remove_topic(name); !removed) {
    spdlog::error("topic {} deleted, but removing its partition dirs failed: {}", name, removed.error().message());
  }
  spdlog::info("deleted topic {} (id {})", name, t->id.to_string());
  for (const auto& listener : deleted_listeners_) listener(name);
  return outcome::success();
}

void topic_registry::add_topic_deleted_listener(topic_deleted_listener listener) {
  std::lock_guard admin(admin_mu_);
  deleted_listeners_.push_back(std::move(listener));
}

admin_result topic_registry::create_partitions(const std::string& name, int32_t new_total,
                                                             bool validate_only) {
  std::lock_guard admin(admin_mu_);
  auto current = find(name);
  if (!current) return admin_error{errc::unknown_topic, "This server does not host this topic."};
  if (new_total <= current->partition_count()) {
    return admin_error{errc::invalid_partitions,
                       fmt::format("Topic currently has {} partitions, which is higher than the requested {}.",
                                   current->partition_count(), new_total)};
  }
  if (new_total > max_partitions) {
    return admin_error{errc::invalid_partitions,
                       fmt::format("Number of partitions must be at most {}, got {}", max_partitions, new_total)};
  }
  if (validate_only) return outcome::success();
  auto next = std::make_shared<topic_snapshot>(*current);
  for (int32_t p = current->partition_count(); p < new_total; ++p) {
    auto log = logs_.create(name, p, next->log);
    if (!log) {
      return admin_error{errc::storage, fmt::format("Cannot create partition {}-{}: {}", name, p, log.error().message())};
    }
    next->partitions.push_back(std::move(log).value());
  }
  if (!store_.set_partition_count(name, new_total)) {
    return admin_error{errc::database, "Cannot record the partition count in the metadata database"};
  }
  publish(next);
  spdlog::info("topic {} now has {} partitions (was {})", name, new_total, current->partition_count());
  return outcome::success();
}

admin_result topic_registry::alter_configs(const std::string& name,
                                                         const config::topic_overrides& overrides, bool validate_only) {
  for (const auto& [key, value] : overrides) {
    if (auto err = config::validate_topic_config(key, value)) return admin_error{errc::invalid_config, *err};
  }
  std::lock_guard admin(admin_mu_);
  auto current = find(name);
  if (!current) return admin_error{errc::unknown_topic, "This server does not host this topic."};
  if (validate_only) return outcome::success();
  if (!store_.set_topic_configs(name, overrides)) {
    return admin_error{errc::database, "Cannot record the topic configs in the metadata database"};
  }
  auto next = std::make_shared<topic_snapshot>(*current);
  next->overrides = overrides;
  apply_overrides(*next);
  for (const auto& log : next->partitions) log->set_config(next->log);
  publish(next);
  spdlog::info("topic {} configs changed: {} override(s)", name, overrides.size());
  return outcome::success();
}

}  // namespace geomirror::metadata

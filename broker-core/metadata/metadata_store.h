#pragma once
// The durable catalogue of a broker's data dir: cluster identity, topics
// (name, id, partition count) and topic config overrides, in SQLite (WAL,
// synchronous=FULL: a committed change survives power loss).
// Thread-safe: one connection behind a mutex; calls are short.

#include "broker-core/base/result.h"

#include <array>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

struct sqlite3;

namespace geomirror::metadata {

struct stored_topic {
  std::string name;
  std::array<uint8_t, 16> id{};
  int32_t partitions = 0;
  std::map<std::string, std::string, std::less<>> configs;
  int64_t created_ms = 0;
};

class metadata_store {
 public:
  // Opens or creates `<file>`; throws std::runtime_error if it cannot.
  explicit metadata_store(const std::filesystem::path& file);
  ~metadata_store();
  metadata_store(const metadata_store&) = delete;
  metadata_store& operator=(const metadata_store&) = delete;

  result<std::optional<std::string>> get_setting(const std::string& key);
  result<void> put_setting(const std::string& key, const std::string& value);

  result<std::vector<stored_topic>> load_topics();
  result<void> insert_topic(const stored_topic& topic);
  result<void> delete_topic(const std::string& name);
  result<void> set_partition_count(const std::string& name, int32_t partitions);
  // Replaces every override of the topic.
  result<void> set_topic_configs(const std::string& name, const std::map<std::string, std::string, std::less<>>& configs);

 private:
  result<void> exec(const char* sql);
  std::error_code fail(const char* what);

  std::mutex mu_;
  sqlite3* db_ = nullptr;
};

}  // namespace geomirror::metadata

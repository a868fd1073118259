#pragma once
// The offset maps of every (flow, topic, partition), kept in one SQLite file
// under the replicator's state dir. Layout, one row per interval:
//
//   CREATE TABLE offset_intervals (flow TEXT, topic TEXT, partition INTEGER,
//     source_start INTEGER, target_start INTEGER, length INTEGER,
//     PRIMARY KEY (flow, topic, partition, source_start))
//
// The maps live in memory (partition_map); flush() writes every interval
// changed since the last flush in one transaction, so the file after a crash
// holds the maps as of the last completed flush. What came after is rebuilt
// from the target's provenance headers (DESIGN.md: resume after a crash).
//
// Not thread-safe: one owner.

#include "offset-translator/partition_map.h"

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <tuple>

struct sqlite3;

namespace geomirror::translator {

struct partition_key {
  std::string flow;  // "<source alias>-><target alias>"
  std::string topic;
  int32_t partition;
  auto operator<=>(const partition_key&) const = default;
};

class offset_map_store {
 public:
  // Opens (creating if need be) the file and loads every stored map. Throws
  // std::runtime_error naming the file and SQLite's message when it cannot.
  explicit offset_map_store(const std::filesystem::path& file);
  ~offset_map_store();
  offset_map_store(const offset_map_store&) = delete;
  offset_map_store& operator=(const offset_map_store&) = delete;

  // The map of `key`, empty when nothing was stored for it.
  partition_map& map(const partition_key& key) { return maps_[key]; }
  const std::map<partition_key, partition_map>& maps() const { return maps_; }

  // Writes what changed since the last flush, durably. Throws
  // std::runtime_error on failure (the maps stay marked unwritten).
  void flush();
  // Drops the map of `key` from memory and the file (a re-created topic).
  void erase(const partition_key& key);

 private:
  void exec(const char* sql);

  std::filesystem::path file_;
  sqlite3* db_ = nullptr;
  std::map<partition_key, partition_map> maps_;
};

}  // namespace geomirror::translator

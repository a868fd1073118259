#pragma once
// Durable group state: committed offsets and group metadata (the role of
// Kafka's __consumer_offsets topic), in SQLite tables of the broker's
// metadata database (<data-dir>/metadata.db, WAL, synchronous=FULL), through
// a connection of its own. Table layout: docs/formats/group-tables.md.
//
// Writes are queued and applied by one writer thread with group commit:
// everything queued while the previous transaction ran goes into the next
// one, each operation inside its own savepoint so one failing does not undo
// the others. An operation's callback runs on the writer thread once the
// transaction is durable (or failed), outside the store's lock. Operations
// complete in the order they were queued.
//
// Thread-safe. load() is meant for start-up; stop() writes what is queued,
// then ends the writer (the destructor calls it).

#include "broker-core/base/result.h"
#include "broker-core/group/types.h"

#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <variant>
#include <vector>

struct sqlite3;

namespace geomirror::group {

struct stored_member {
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::string client_id;
  std::string client_host;
  int32_t session_timeout_ms = 0;
  int32_t rebalance_timeout_ms = 0;
  std::vector<protocol_metadata> protocols;
  protocol::bytes assignment;

  bool operator==(const stored_member&) const = default;
};

// A group's membership as of one moment (Kafka's GroupMetadataValue).
struct stored_group {
  std::string group_id;
  std::optional<std::string> protocol_type;
  int32_t generation = 0;
  std::optional<std::string> protocol_name;
  std::optional<std::string> leader;
  group_state state = group_state::empty;
  int64_t state_timestamp_ms = 0;
  std::vector<stored_member> members;

  bool operator==(const stored_group&) const = default;
};

struct stored_offsets {
  std::string group_id;
  std::map<topic_partition, committed_offset> offsets;
};

// Everything load() finds: groups with metadata, and committed offsets per
// group (a group may have offsets without metadata: simple consumers).
struct loaded_groups {
  std::vector<stored_group> groups;
  std::vector<stored_offsets> offsets;
};

class group_store {
 public:
  using write_callback = std::function<void(std::error_code)>;

  // Opens (creating the tables if needed) `db_file`; throws
  // std::runtime_error if it cannot.
  explicit group_store(const std::filesystem::path& db_file);
  ~group_store();
  group_store(const group_store&) = delete;
  group_store& operator=(const group_store&) = delete;

  [[nodiscard]] result<loaded_groups> load();

  // Queued writes; `done` (may be empty) gets the outcome.
  void store_group(stored_group group, write_callback done);
  void store_offsets(std::string group_id, std::vector<std::pair<topic_partition, committed_offset>> offsets,
                     write_callback done);
  void delete_offsets(std::string group_id, std::vector<topic_partition> partitions, write_callback done);
  // The group's metadata and all its offsets.
  void delete_group(std::string group_id, write_callback done);
  // Every group's offsets of a topic.
  void delete_topic_offsets(std::string topic, write_callback done);

  // Applies what is queued, then stops the writer; later writes fail with
  // errc::storage. Idempotent.
  void stop();

  // Transactions committed so far (tests and logs).
  uint64_t transactions() const;

 private:
  struct store_group_op {
    stored_group group;
  };
  struct store_offsets_op {
    std::string group_id;
    std::vector<std::pair<topic_partition, committed_offset>> offsets;
  };
  struct delete_offsets_op {
    std::string group_id;
    std::vector<topic_partition> partitions;
  };
  struct delete_group_op {
    std::string group_id;
  };
  struct delete_topic_op {
    std::string topic;
  };
  using operation = std::variant<store_group_op, store_offsets_op, delete_offsets_op, delete_group_op, delete_topic_op>;
  struct queued {
    operation op;
    write_callback done;
  };

  class statements;

  result<loaded_groups> load_locked();
  void enqueue(operation op, write_callback done);
  void run_writer();
  void write_batch(std::vector<queued>& batch);
  bool apply(const operation& op);
  bool apply(const store_group_op& op);
  bool apply(const store_offsets_op& op);
  bool apply(const delete_offsets_op& op);
  bool apply(const delete_group_op& op);
  bool apply(const delete_topic_op& op);
  bool exec(const char* sql);

  std::mutex db_mu_;  // the connection: the writer thread and load()
  sqlite3* db_ = nullptr;
  std::unique_ptr<statements> statements_;

  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::vector<queued> queue_;
  bool stopping_ = false;
  uint64_t transactions_ = 0;
  std::thread writer_;
};

}  // namespace geomirror::group

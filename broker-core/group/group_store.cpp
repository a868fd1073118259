#include "broker-core/group/group_store.h"

#include "broker-core/group/errc.h"
#include "broker-core/group/logger.h"

#include <fmt/format.h>
#include <sqlite3.h>

#include <stdexcept>

namespace geomirror::group {
namespace {

// Layout documented in docs/formats/group-tables.md; keep both in step.
constexpr const char* schema_sql =
    "CREATE TABLE IF NOT EXISTS group_metadata ("
    " group_id TEXT PRIMARY KEY, protocol_type TEXT, generation INTEGER NOT NULL, protocol_name TEXT,"
    " leader TEXT, state TEXT NOT NULL, state_timestamp_ms INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS group_members ("
    " group_id TEXT NOT NULL, member_id TEXT NOT NULL, position INTEGER NOT NULL, group_instance_id TEXT,"
    " client_id TEXT NOT NULL, client_host TEXT NOT NULL, session_timeout_ms INTEGER NOT NULL,"
    " rebalance_timeout_ms INTEGER NOT NULL, assignment BLOB NOT NULL, PRIMARY KEY (group_id, member_id));"
    "CREATE TABLE IF NOT EXISTS group_member_protocols ("
    " group_id TEXT NOT NULL, member_id TEXT NOT NULL, position INTEGER NOT NULL, name TEXT NOT NULL,"
    " metadata BLOB NOT NULL, PRIMARY KEY (group_id, member_id, position));"
    "CREATE TABLE IF NOT EXISTS group_offsets ("
    " group_id TEXT NOT NULL, topic TEXT NOT NULL, partition INTEGER NOT NULL, committed_offset INTEGER NOT NULL,"
    " leader_epoch INTEGER NOT NULL, metadata TEXT NOT NULL, commit_timestamp_ms INTEGER NOT NULL,"
    " expire_timestamp_ms INTEGER, PRIMARY KEY (group_id, topic, partition));"
    "CREATE INDEX IF NOT EXISTS group_offsets_by_topic ON group_offsets (topic);";

// A prepared statement, reset for reuse after every step sequence.
class statement {
 public:
  statement(sqlite3* db, const char* sql) {
    if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK) {
      std::string why = sqlite3_errmsg(db);
      sqlite3_finalize(stmt_);
      throw std::runtime_error(fmt::format("cannot prepare '{}': {}", sql, why));
    }
  }
  ~statement() { sqlite3_finalize(stmt_); }
  statement(const statement&) = delete;
  statement& operator=(const statement&) = delete;

  // Resets and clears bindings; returns *this for binding.
  statement& fresh() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    return *this;
  }
  statement& bind(int i, std::string_view s) {
    sqlite3_bind_text(stmt_, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
    return *this;
  }
  statement& bind(int i, const std::string& s) { return bind(i, std::string_view(s)); }
  statement& bind(int i, const std::optional<std::string>& s) {
    if (s) return bind(i, std::string_view(*s));
    sqlite3_bind_null(stmt_, i);
    return *this;
  }
  statement& bind(int i, int64_t v) {
    sqlite3_bind_int64(stmt_, i, v);
    return *this;
  }
  statement& bind(int i, const std::optional<int64_t>& v) {
    if (v) return bind(i, *v);
    sqlite3_bind_null(stmt_, i);
    return *this;
  }
  statement& bind_blob(int i, const protocol::bytes& b) {
    // A NULL pointer would bind SQL NULL; empty blobs are zero-length blobs.
    if (b.empty()) sqlite3_bind_zeroblob(stmt_, i, 0);
    else sqlite3_bind_blob(stmt_, i, b.data(), static_cast<int>(b.size()), SQLITE_TRANSIENT);
    return *this;
  }
  int step() { return sqlite3_step(stmt_); }
  bool run() { return step() == SQLITE_DONE; }

  std::string text(int col) {
    auto p = sqlite3_column_text(stmt_, col);
    return p ? std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(sqlite3_column_bytes(stmt_, col)))
             : std::string();
  }
  std::optional<std::string> nullable_text(int col) {
    if (sqlite3_column_type(stmt_, col) == SQLITE_NULL) return std::nullopt;
    return text(col);
  }
  int64_t int64(int col) { return sqlite3_column_int64(stmt_, col); }
  std::optional<int64_t> nullable_int64(int col) {
    if (sqlite3_column_type(stmt_, col) == SQLITE_NULL) return std::nullopt;
    return int64(col);
  }
  protocol::bytes blob(int col) {
    auto p = static_cast<const uint8_t*>(sqlite3_column_blob(stmt_, col));
    auto n = static_cast<size_t>(sqlite3_column_bytes(stmt_, col));
    return p ? protocol::bytes(p, p + n) : protocol::bytes();
  }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

}  // namespace

// The statements the writer reuses for every transaction.
class group_store::statements {
 public:
  explicit statements(sqlite3* db)
      : upsert_group(db,
                     "INSERT INTO group_metadata (group_id, protocol_type, generation, protocol_name, leader, state,"
                     " state_timestamp_ms) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(group_id) DO UPDATE SET"
                     " protocol_type = excluded.protocol_type, generation = excluded.generation,"
                     " protocol_name = excluded.protocol_name, leader = excluded.leader, state = excluded.state,"
                     " state_timestamp_ms = excluded.state_timestamp_ms"),
        delete_group(db, "DELETE FROM group_metadata WHERE group_id = ?"),
        delete_members(db, "DELETE FROM group_members WHERE group_id = ?"),
        delete_protocols(db, "DELETE FROM group_member_protocols WHERE group_id = ?"),
        insert_member(db,
                      "INSERT INTO group_members (group_id, member_id, position, group_instance_id, client_id,"
                      " client_host, session_timeout_ms, rebalance_timeout_ms, assignment)"
                      " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"),
        insert_protocol(db,
                        "INSERT INTO group_member_protocols (group_id, member_id, position, name, metadata)"
                        " VALUES (?, ?, ?, ?, ?)"),
        upsert_offset(db,
                      "INSERT INTO group_offsets (group_id, topic, partition, committed_offset, leader_epoch, metadata,"
                      " commit_timestamp_ms, expire_timestamp_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                      " ON CONFLICT(group_id, topic, partition) DO UPDATE SET"
                      " committed_offset = excluded.committed_offset, leader_epoch = excluded.leader_epoch,"
                      " metadata = excluded.metadata, commit_timestamp_ms = excluded.commit_timestamp_ms,"
                      " expire_timestamp_ms = excluded.expire_timestamp_ms"),
        delete_offset(db, "DELETE FROM group_offsets WHERE group_id = ? AND topic = ? AND partition = ?"),
        delete_group_offsets(db, "DELETE FROM group_offsets WHERE group_id = ?"),
        delete_topic_offsets(db, "DELETE FROM group_offsets WHERE topic = ?") {}

  statement upsert_group;
  statement delete_group;
  statement delete_members;
  statement delete_protocols;
  statement insert_member;
  statement insert_protocol;
  statement upsert_offset;
  statement delete_offset;
  statement delete_group_offsets;
  statement delete_topic_offsets;
};

group_store::group_store(const std::filesystem::path& db_file) {
  if (sqlite3_open_v2(db_file.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK) {
    std::string why = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    throw std::runtime_error(fmt::format("cannot open group database {}: {}", db_file.string(), why));
  }
  // Another connection (the topic catalogue) shares the file: wait for it
  // rather than fail when it holds the write lock.
  sqlite3_busy_timeout(db_, 5000);
  // synchronous is per connection: FULL makes every commit durable.
  if (!exec("PRAGMA journal_mode=WAL;") || !exec("PRAGMA synchronous=FULL;") || !exec(schema_sql)) {
    std::string why = sqlite3_errmsg(db_);
    sqlite3_close(db_);
    throw std::runtime_error(fmt::format("cannot initialise group tables in {}: {}", db_file.string(), why));
  }
  try {
    statements_ = std::make_unique<statements>(db_);
  } catch (...) {
    sqlite3_close(db_);
    throw;
  }
  writer_ = std::thread([this] { run_writer(); });
}

group_store::~group_store() {
  stop();
  statements_.reset();
  sqlite3_close(db_);
}

bool group_store::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    group_log().error("group database: '{}' failed: {}", sql, err ? err : sqlite3_errmsg(db_));
    sqlite3_free(err);
    return false;
  }
  return true;
}

result<loaded_groups> group_store::load() {
  std::lock_guard lock(db_mu_);
  try {
    return load_locked();
  } catch (const std::runtime_error& e) {  // a statement that cannot be prepared
    group_log().error("group database: {}", e.what());
    return errc::storage;
  }
}

result<loaded_groups> group_store::load_locked() {
  loaded_groups out;
  std::map<std::string, size_t, std::less<>> group_index;
  statement groups(db_,
                   "SELECT group_id, protocol_type, generation, protocol_name, leader, state, state_timestamp_ms"
                   " FROM group_metadata ORDER BY group_id");
  int rc;
  while ((rc = groups.step()) == SQLITE_ROW) {
    stored_group g;
    g.group_id = groups.text(0);
    g.protocol_type = groups.nullable_text(1);
    g.generation = static_cast<int32_t>(groups.int64(2));
    g.protocol_name = groups.nullable_text(3);
    g.leader = groups.nullable_text(4);
    auto state = parse_state_name(groups.text(5));
    if (!state) {
      group_log().error("group database: group {} has unknown state '{}'", g.group_id, groups.text(5));
      return errc::storage;
    }
    g.state = *state;
    g.state_timestamp_ms = groups.int64(6);
    group_index[g.group_id] = out.groups.size();
    out.groups.push_back(std::move(g));
  }
  if (rc != SQLITE_DONE) return errc::storage;

  statement members(db_,
                    "SELECT group_id, member_id, group_instance_id, client_id, client_host, session_timeout_ms,"
                    " rebalance_timeout_ms, assignment FROM group_members ORDER BY group_id, position");
  while ((rc = members.step()) == SQLITE_ROW) {
    auto it = group_index.find(members.text(0));
    if (it == group_index.end()) continue;  // orphan rows cannot exist: written in one transaction
    stored_member m;
    m.member_id = members.text(1);
    m.group_instance_id = members.nullable_text(2);
    m.client_id = members.text(3);
    m.client_host = members.text(4);
    m.session_timeout_ms = static_cast<int32_t>(members.int64(5));
    m.rebalance_timeout_ms = static_cast<int32_t>(members.int64(6));
    m.assignment = members.blob(7);
    out.groups[it->second].members.push_back(std::move(m));
  }
  if (rc != SQLITE_DONE) return errc::storage;

  statement protocols(db_,
                      "SELECT group_id, member_id, name, metadata FROM group_member_protocols"
                      " ORDER BY group_id, member_id, position");
  while ((rc = protocols.step()) == SQLITE_ROW) {
    auto it = group_index.find(protocols.text(0));
    if (it == group_index.end()) continue;
    auto member_id = protocols.text(1);
    for (auto& m : out.groups[it->second].members) {
      if (m.member_id == member_id) m.protocols.push_back({protocols.text(2), protocols.blob(3)});
    }
  }
  if (rc != SQLITE_DONE) return errc::storage;

  statement offsets(db_,
                    "SELECT group_id, topic, partition, committed_offset, leader_epoch, metadata, commit_timestamp_ms,"
                    " expire_timestamp_ms FROM group_offsets ORDER BY group_id");
  while ((rc = offsets.step()) == SQLITE_ROW) {
    auto group_id = offsets.text(0);
    if (out.offsets.empty() || out.offsets.back().group_id != group_id) out.offsets.push_back({group_id, {}});
    committed_offset c;
    c.offset = offsets.int64(3);
    c.leader_epoch = static_cast<int32_t>(offsets.int64(4));
    c.metadata = offsets.text(5);
    c.commit_timestamp_ms = offsets.int64(6);
    c.expire_timestamp_ms = offsets.nullable_int64(7);
    out.offsets.back().offsets[{offsets.text(1), static_cast<int32_t>(offsets.int64(2))}] = std::move(c);
  }
  if (rc != SQLITE_DONE) return errc::storage;
  return out;
}

void group_store::store_group(stored_group group, write_callback done) {
  enqueue(store_group_op{std::move(group)}, std::move(done));
}

void group_store::store_offsets(std::string group_id, std::vector<std::pair<topic_partition, committed_offset>> offsets,
                                write_callback done) {
  enqueue(store_offsets_op{std::move(group_id), std::move(offsets)}, std::move(done));
}

void group_store::delete_offsets(std::string group_id, std::vector<topic_partition> partitions, write_callback done) {
  enqueue(delete_offsets_op{std::move(group_id), std::move(partitions)}, std::move(done));
}

void group_store::delete_group(std::string group_id, write_callback done) {
  enqueue(delete_group_op{std::move(group_id)}, std::move(done));
}

void group_store::delete_topic_offsets(std::string topic, write_callback done) {
  enqueue(delete_topic_op{std::move(topic)}, std::move(done));
}

void group_store::enqueue(operation op, write_callback done) {
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      queue_.push_back({std::move(op), std::move(done)});
      wake_.notify_one();
      return;
    }
  }
  group_log().error("group database: write refused, the store is stopped");
  if (done) done(errc::storage);
}

void group_store::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    wake_.notify_one();
  }
  if (writer_.joinable()) writer_.join();
}

uint64_t group_store::transactions() const {
  std::lock_guard lock(mu_);
  return transactions_;
}

void group_store::run_writer() {
  for (;;) {
    std::vector<queued> batch;
    {
      std::unique_lock lock(mu_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything is written
      batch.swap(queue_);
    }
    write_batch(batch);
  }
}

void group_store::write_batch(std::vector<queued>& batch) {
  std::vector<bool> ok(batch.size(), false);
  bool committed = false;
  {
    std::lock_guard lock(db_mu_);
    if (exec("BEGIN IMMEDIATE")) {
      for (size_t i = 0; i < batch.size(); ++i) {
        // A savepoint per operation: a failing one is undone alone.
        if (!exec("SAVEPOINT op")) break;
        ok[i] = apply(batch[i].op);
        if (!ok[i]) {
          group_log().error("group database: write failed: {}", sqlite3_errmsg(db_));
          (void)exec("ROLLBACK TO op");
        }
        (void)exec("RELEASE op");
      }
      committed = exec("COMMIT");
      if (!committed) (void)exec("ROLLBACK");
    }
  }
  {
    std::lock_guard lock(mu_);
    if (committed) ++transactions_;
  }
  for (size_t i = 0; i < batch.size(); ++i) {
    std::error_code ec = committed && ok[i] ? std::error_code() : make_error_code(errc::storage);
    auto done = std::move(batch[i].done);
    batch[i].done = nullptr;
    if (done) done(ec);
  }
}

bool group_store::apply(const operation& op) {
  return std::visit([this](const auto& o) { return apply(o); }, op);
}

bool group_store::apply(const store_group_op& op) {
  const auto& g = op.group;
  auto& s = *statements_;
  if (!s.delete_members.fresh().bind(1, g.group_id).run()) return false;
  if (!s.delete_protocols.fresh().bind(1, g.group_id).run()) return false;
  if (!s.upsert_group.fresh()
           .bind(1, g.group_id)
           .bind(2, g.protocol_type)
           .bind(3, int64_t{g.generation})
           .bind(4, g.protocol_name)
           .bind(5, g.leader)
           .bind(6, state_name(g.state))
           .bind(7, g.state_timestamp_ms)
           .run()) {
    return false;
  }
  int64_t position = 0;
  for (const auto& m : g.members) {
    if (!s.insert_member.fresh()
             .bind(1, g.group_id)
             .bind(2, m.member_id)
             .bind(3, position++)
             .bind(4, m.group_instance_id)
             .bind(5, m.client_id)
             .bind(6, m.client_host)
             .bind(7, int64_t{m.session_timeout_ms})
             .bind(8, int64_t{m.rebalance_timeout_ms})
             .bind_blob(9, m.assignment)
             .run()) {
      return false;
    }
    int64_t protocol_position = 0;
    for (const auto& p : m.protocols) {
      if (!s.insert_protocol.fresh()
               .bind(1, g.group_id)
               .bind(2, m.member_id)
               .bind(3, protocol_position++)
               .bind(4, p.name)
               .bind_blob(5, p.metadata)
               .run()) {
        return false;
      }
    }
  }
  return true;
}

bool group_store::apply(const store_offsets_op& op) {
  auto& s = *statements_;
  for (const auto& [tp, c] : op.offsets) {
    if (!s.upsert_offset.fresh()
             .bind(1, op.group_id)
             .bind(2, tp.topic)
             .bind(3, int64_t{tp.partition})
             .bind(4, c.offset)
             .bind(5, int64_t{c.leader_epoch})
             .bind(6, c.metadata)
             .bind(7, c.commit_timestamp_ms)
             .bind(8, c.expire_timestamp_ms)
             .run()) {
      return false;
    }
  }
  return true;
}

bool group_store::apply(const delete_offsets_op& op) {
  auto& s = *statements_;
  for (const auto& tp : op.partitions) {
    if (!s.delete_offset.fresh().bind(1, op.group_id).bind(2, tp.topic).bind(3, int64_t{tp.partition}).run()) {
      return false;
    }
  }
  return true;
}

bool group_store::apply(const delete_group_op& op) {
  auto& s = *statements_;
  return s.delete_group.fresh().bind(1, op.group_id).run() && s.delete_members.fresh().bind(1, op.group_id).run() &&
         s.delete_protocols.fresh().bind(1, op.group_id).run() &&
         s.delete_group_offsets.fresh().bind(1, op.group_id).run();
}

bool group_store::apply(const delete_topic_op& op) {
  return statements_->delete_topic_offsets.fresh().bind(1, op.topic).run();
}

}  // namespace geomirror::group

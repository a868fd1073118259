#include "broker-core/metadata/metadata_store.h"

#include "broker-core/metadata/errc.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include <cstring>
#include <stdexcept>

namespace geomirror::metadata {
namespace {

class metadata_category_impl : public std::error_category {
 public:
  const char* name() const noexcept override { return "metadata"; }
  std::string message(int c) const override {
    switch (static_cast<errc>(c)) {
      case errc::database: return "metadata database error";
      case errc::topic_exists: return "topic already exists";
      case errc::unknown_topic: return "unknown topic";
      case errc::invalid_topic_name: return "invalid topic name";
      case errc::invalid_partitions: return "invalid partition count";
      case errc::invalid_replication_factor: return "invalid replication factor";
      case errc::invalid_replica_assignment: return "invalid replica assignment";
      case errc::invalid_config: return "invalid config";
      case errc::storage: return "storage error";
      case errc::topic_deletion_disabled: return "topic deletion is disabled";
    }
    return "unknown metadata error";
  }
};

// A prepared statement that finalizes itself.
class statement {
 public:
  statement(sqlite3* db, const char* sql) {
    if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK) stmt_ = nullptr;
  }
  ~statement() { sqlite3_finalize(stmt_); }
  statement(const statement&) = delete;
  statement& operator=(const statement&) = delete;
  explicit operator bool() const { return stmt_ != nullptr; }
  sqlite3_stmt* get() { return stmt_; }
  void bind(int i, const std::string& s) { sqlite3_bind_text(stmt_, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT); }
  void bind(int i, int64_t v) { sqlite3_bind_int64(stmt_, i, v); }
  void bind_blob(int i, const void* p, int n) { sqlite3_bind_blob(stmt_, i, p, n, SQLITE_TRANSIENT); }
  int step() { return sqlite3_step(stmt_); }
  std::string text(int col) {
    auto p = sqlite3_column_text(stmt_, col);
    return p ? std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(sqlite3_column_bytes(stmt_, col))) : std::string();
  }
  int64_t int64(int col) { return sqlite3_column_int64(stmt_, col); }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

}  // namespace

const std::error_category& metadata_category() {
  static metadata_category_impl category;
  return category;
}

metadata_store::metadata_store(const std::filesystem::path& file) {
  if (sqlite3_open_v2(file.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    std::string why = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw std::runtime_error(fmt::format("cannot open metadata database {}: {}", file.string(), why));
  }
  sqlite3_busy_timeout(db_, 5000);
  const char* schema =
      "PRAGMA journal_mode=WAL;"
      "PRAGMA synchronous=FULL;"
      "CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
      "CREATE TABLE IF NOT EXISTS topics (name TEXT PRIMARY KEY, id BLOB NOT NULL, partitions INTEGER NOT NULL,"
      " created_ms INTEGER NOT NULL);"
      "CREATE TABLE IF NOT EXISTS topic_configs (topic TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,"
      " PRIMARY KEY (topic, key));";
  if (!exec(schema)) {
    std::string why = sqlite3_errmsg(db_);
    sqlite3_close(db_);
    db_ = nullptr;
    throw std::runtime_error(fmt::format("cannot initialise metadata database {}: {}", file.string(), why));
  }
}

metadata_store::~metadata_store() { sqlite3_close(db_); }

std::error_code metadata_store::fail(const char* what) {
  spdlog::error("metadata database: {} failed: {}", what, sqlite3_errmsg(db_));
  return errc::database;
}

result<void> metadata_store::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    spdlog::error("metadata database: {}", err ? err : "unknown error");
    sqlite3_free(err);
    return errc::database;
  }
  return outcome::success();
}

result<std::optional<std::string>> metadata_store::get_setting(const std::string& key) {
  std::lock_guard lock(mu_);
  statement st(db_, "SELECT value FROM settings WHERE key = ?");
  if (!st) return fail("prepare get_setting");
  st.bind(1, key);
  int rc = st.step();
  if (rc == SQLITE_ROW) return std::optional<std::string>(st.text(0));
  if (rc == SQLITE_DONE) return std::optional<std::string>();
  return fail("get_setting");
}

result<void> metadata_store::put_setting(const std::string& key, const std::string& value) {
  std::lock_guard lock(mu_);
  statement st(db_, "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value");
  if (!st) return fail("prepare put_setting");
  st.bind(1, key);
  st.bind(2, value);
  if (st.step() != SQLITE_DONE) return fail("put_setting");
  return outcome::success();
}

result<std::vector<stored_topic>> metadata_store::load_topics() {
  std::lock_guard lock(mu_);
  std::vector<stored_topic> topics;
  statement st(db_, "SELECT name, id, partitions, created_ms FROM topics ORDER BY name");
  if (!st) return fail("prepare load_topics");
  int rc;
  while ((rc = st.step()) == SQLITE_ROW) {
    stored_topic t;
    t.name = st.text(0);
    if (sqlite3_column_bytes(st.get(), 1) == 16) std::memcpy(t.id.data(), sqlite3_column_blob(st.get(), 1), 16);
    t.partitions = static_cast<int32_t>(st.int64(2));
    t.created_ms = st.int64(3);
    topics.push_back(std::move(t));
  }
  if (rc != SQLITE_DONE) return fail("load_topics");
  statement cfg(db_, "SELECT topic, key, value FROM topic_configs");
  if (!cfg) return fail("prepare load_topic_configs");
  while ((rc = cfg.step()) == SQLITE_ROW) {
    auto topic = cfg.text(0);
    for (auto& t : topics) {
      if (t.name == topic) t.configs[cfg.text(1)] = cfg.text(2);
    }
  }
  if (rc != SQLITE_DONE) return fail("load_topic_configs");
  return topics;
}

result<void> metadata_store::insert_topic(const stored_topic& topic) {
  std::lock_guard lock(mu_);
  if (!exec("BEGIN IMMEDIATE")) return errc::database;
  statement st(db_, "INSERT INTO topics (name, id, partitions, created_ms) VALUES (?, ?, ?, ?)");
  bool ok = static_cast<bool>(st);
  if (ok) {
    st.bind(1, topic.name);
    st.bind_blob(2, topic.id.data(), 16);
    st.bind(3, int64_t{topic.partitions});
    st.bind(4, topic.created_ms);
    ok = st.step() == SQLITE_DONE;
  }
  for (const auto& [key, value] : topic.configs) {
    if (!ok) break;
    statement c(db_, "INSERT INTO topic_configs (topic, key, value) VALUES (?, ?, ?)");
    ok = static_cast<bool>(c);
    if (!ok) break;
    c.bind(1, topic.name);
    c.bind(2, key);
    c.bind(3, value);
    ok = c.step() == SQLITE_DONE;
  }
  if (!ok) {
    auto ec = fail("insert_topic");
    (void)exec("ROLLBACK");
    return ec;
  }
  if (!exec("COMMIT")) return errc::database;
  return outcome::success();
}

result<void> metadata_store::delete_topic(const std::string& name) {
  std::lock_guard lock(mu_);
  if (!exec("BEGIN IMMEDIATE")) return errc::database;
  statement a(db_, "DELETE FROM topics WHERE name = ?");
  statement b(db_, "DELETE FROM topic_configs WHERE topic = ?");
  bool ok = a && b;
  if (ok) {
    a.bind(1, name);
    b.bind(1, name);
    ok = a.step() == SQLITE_DONE && b.step() == SQLITE_DONE;
  }
  if (!ok) {
    auto ec = fail("delete_topic");
    (void)exec("ROLLBACK");
    return ec;
  }
  if (!exec("COMMIT")) return errc::database;
  return outcome::success();
}

result<void> metadata_store::set_partition_count(const std::string& name, int32_t partitions) {
  std::lock_guard lock(mu_);
  statement st(db_, "UPDATE topics SET partitions = ? WHERE name = ?");
  if (!st) return fail("prepare set_partition_count");
  st.bind(1, int64_t{partitions});
  st.bind(2, name);
  if (st.step() != SQLITE_DONE) return fail("set_partition_count");
  return outcome::success();
}

result<void> metadata_store::set_topic_configs(const std::string& name,
                                               const std::map<std::string, std::string, std::less<>>& configs) {
  std::lock_guard lock(mu_);
  if (!exec("BEGIN IMMEDIATE")) return errc::database;
  bool ok;
  {
    statement del(db_, "DELETE FROM topic_configs WHERE topic = ?");
    ok = static_cast<bool>(del);
    if (ok) {
      del.bind(1, name);
      ok = del.step() == SQLITE_DONE;
    }
  }
  for (const auto& [key, value] : configs) {
    if (!ok) break;
    statement c(db_, "INSERT INTO topic_configs (topic, key, value) VALUES (?, ?, ?)");
    ok = static_cast<bool>(c);
    if (!ok) break;
    c.bind(1, name);
    c.bind(2, key);
    c.bind(3, value);
    ok = c.step() == SQLITE_DONE;
  }
  if (!ok) {
    auto ec = fail("set_topic_configs");
    (void)exec("ROLLBACK");
    return ec;
  }
  if (!exec("COMMIT")) return errc::database;
  return outcome::success();
}

}  // namespace geomirror::metadata

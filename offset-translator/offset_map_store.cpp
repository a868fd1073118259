#include "offset-translator/offset_map_store.h"

#include <sqlite3.h>

#include <stdexcept>
#include <utility>
#include <vector>

namespace geomirror::translator {
namespace {

// A prepared statement, finalized on scope exit.
class statement {
 public:
  statement(sqlite3* db, const char* sql, const std::filesystem::path& file) {
    if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK) {
      throw std::runtime_error("offset map " + file.string() + ": " + sqlite3_errmsg(db));
    }
  }
  ~statement() { sqlite3_finalize(stmt_); }
  statement(const statement&) = delete;
  statement& operator=(const statement&) = delete;
  sqlite3_stmt* get() const { return stmt_; }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

}  // namespace

offset_map_store::offset_map_store(const std::filesystem::path& file) : file_(file) {
  if (sqlite3_open_v2(file.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) != SQLITE_OK) {
    const std::string message = db_ != nullptr ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    throw std::runtime_error("cannot open the offset map " + file.string() + ": " + message);
  }
  exec("PRAGMA journal_mode=WAL;"
       "PRAGMA synchronous=FULL;"
       "CREATE TABLE IF NOT EXISTS offset_intervals (flow TEXT NOT NULL, topic TEXT NOT NULL,"
       " partition INTEGER NOT NULL, source_start INTEGER NOT NULL, target_start INTEGER NOT NULL,"
       " length INTEGER NOT NULL, PRIMARY KEY (flow, topic, partition, source_start)) WITHOUT ROWID;");
  statement select(db_,
                   "SELECT flow, topic, partition, source_start, target_start, length FROM offset_intervals"
                   " ORDER BY flow, topic, partition, source_start",
                   file_);
  std::map<partition_key, std::vector<interval>> loaded;
  int rc;
  while ((rc = sqlite3_step(select.get())) == SQLITE_ROW) {
    partition_key key{reinterpret_cast<const char*>(sqlite3_column_text(select.get(), 0)),
                      reinterpret_cast<const char*>(sqlite3_column_text(select.get(), 1)),
                      sqlite3_column_int(select.get(), 2)};
    loaded[key].push_back({source_offset(sqlite3_column_int64(select.get(), 3)),
                           target_offset(sqlite3_column_int64(select.get(), 4)), sqlite3_column_int64(select.get(), 5)});
  }
  if (rc != SQLITE_DONE) throw std::runtime_error("cannot read the offset map " + file_.string() + ": " + sqlite3_errmsg(db_));
  for (auto& [key, intervals] : loaded) maps_.emplace(key, partition_map(std::move(intervals)));
}

offset_map_store::~offset_map_store() { sqlite3_close(db_); }

void offset_map_store::exec(const char* sql) {
  char* error = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &error) != SQLITE_OK) {
    const std::string message = error != nullptr ? error : sqlite3_errmsg(db_);
    sqlite3_free(error);
    throw std::runtime_error("offset map " + file_.string() + ": " + message);
  }
}

void offset_map_store::flush() {
  exec("BEGIN IMMEDIATE");
  try {
    statement upsert(db_,
                     "INSERT OR REPLACE INTO offset_intervals"
                     " (flow, topic, partition, source_start, target_start, length) VALUES (?, ?, ?, ?, ?, ?)",
                     file_);
    for (const auto& [key, map] : maps_) {
      const auto& intervals = map.intervals();
      for (size_t i = map.first_unpersisted(); i < intervals.size(); ++i) {
        sqlite3_stmt* s = upsert.get();
        sqlite3_bind_text(s, 1, key.flow.c_str(), -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(s, 2, key.topic.c_str(), -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(s, 3, key.partition);
        sqlite3_bind_int64(s, 4, intervals[i].source_start.value());
        sqlite3_bind_int64(s, 5, intervals[i].target_start.value());
        sqlite3_bind_int64(s, 6, intervals[i].length);
        if (sqlite3_step(s) != SQLITE_DONE) {
          throw std::runtime_error("cannot write the offset map " + file_.string() + ": " + sqlite3_errmsg(db_));
        }
        sqlite3_reset(s);
      }
    }
    exec("COMMIT");
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
  for (auto& [key, map] : maps_) map.mark_persisted();
}

void offset_map_store::erase(const partition_key& key) {
  statement del(db_, "DELETE FROM offset_intervals WHERE flow = ? AND topic = ? AND partition = ?", file_);
  sqlite3_bind_text(del.get(), 1, key.flow.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(del.get(), 2, key.topic.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_int(del.get(), 3, key.partition);
  if (sqlite3_step(del.get()) != SQLITE_DONE) {
    throw std::runtime_error("cannot erase from the offset map " + file_.string() + ": " + sqlite3_errmsg(db_));
  }
  maps_.erase(key);
}

}  // namespace geomirror::translator

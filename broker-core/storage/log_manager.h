#pragma once
// log_manager: owns every partition_log of one data directory and the
// flusher that syncs them, and runs the periodic work: retention (every
// retention_check_interval_ms, like Kafka's log.retention.check.interval.ms),
// relaxed-flush ticks and idle segment.ms rolls (every
// flush_check_interval_ms, like log.flush.scheduler.interval.ms), producer id
// expiry (every producer_id_expiration_check_interval_ms, like
// producer.id.expiration.check.interval.ms), and the log cleaner: its own
// thread(s) that, every cleaner_backoff_ms (log.cleaner.backoff.ms), clean
// the compacted logs that are due (log_cleaner.h), dirtiest first.
//
// The data directory holds one `<topic>-<partition>` directory per
// partition (file_names.h). Which partitions exist is decided by the
// metadata layer: at start-up it calls open() for each known partition and
// remove_unknown() to clean directories left by a crash in the middle of a
// create or delete.
//
// Thread safety: all members are thread-safe. get() is cheap (a map lookup
// under a mutex) for the request path; create/open/remove are serialized
// with each other (recovery can take a while and must not run twice for one
// directory), without blocking get(). Cleaner threads never clean the same
// log at once.

#include "broker-core/base/result.h"
#include "broker-core/storage/flusher.h"
#include "broker-core/storage/log_config.h"
#include "broker-core/storage/partition_log.h"

#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace geomirror::storage {

struct log_manager_config {
  std::filesystem::path data_dir;
  // Threads mostly wait in fdatasync; several let different partitions sync
  // concurrently.
  size_t flusher_threads = 4;
  // Threads for file work that must not run on network threads: reads of
  // data not in the page cache, segment rolls, file deletion.
  size_t io_threads = 4;
  int64_t retention_check_interval_ms = 300'000;
  int64_t flush_check_interval_ms = 1'000;
  // producer.id.expiration.ms: producer state idle this long is dropped.
  int64_t producer_id_expiration_ms = 86'400'000;
  int64_t producer_id_expiration_check_interval_ms = 600'000;
  // Log cleaner threads (0: no compaction) and the pause between passes
  // (log.cleaner.threads, log.cleaner.backoff.ms).
  size_t cleaner_threads = 1;
  int64_t cleaner_backoff_ms = 15'000;
  // Memory for one cleaning pass's key map, shared by the cleaner threads
  // (log.cleaner.dedupe.buffer.size).
  size_t cleaner_dedupe_buffer_bytes = default_cleaner_map_bytes;
  // Tests may drive apply_retention()/tick_all()/clean_all() by hand
  // instead: false starts neither the background nor the cleaner threads.
  bool background_thread = true;
};

class log_manager {
 public:
  using partition_key = std::pair<std::string, int32_t>;

  // Creates the data directory if needed and starts the flusher (and the
  // background thread).
  static result<std::unique_ptr<log_manager>> start(log_manager_config config);
  ~log_manager();
  log_manager(const log_manager&) = delete;
  log_manager& operator=(const log_manager&) = delete;

  // A new partition. errc::already_exists if it is open. A directory left on
  // disk by an earlier incarnation of the topic is deleted first (warn).
  result<std::shared_ptr<partition_log>> create(const std::string& topic, int32_t partition,
                                                const log_config& config);
  // An existing partition at start-up (recovers it); creates an empty log if
  // the directory is missing. Returns the open log if already open.
  result<std::shared_ptr<partition_log>> open(const std::string& topic, int32_t partition,
                                              const log_config& config);
  // The open log, or nullptr.
  std::shared_ptr<partition_log> get(const std::string& topic, int32_t partition) const;
  std::vector<std::shared_ptr<partition_log>> all() const;

  // Closes and deletes one partition / every partition of a topic (open or
  // only on disk). Returns how many partition directories were removed.
  result<void> remove_partition(const std::string& topic, int32_t partition);
  result<size_t> remove_topic(const std::string& topic);
  // Deletes partition directories not in `known` (crash leftovers). Other
  // directories and files are left alone.
  result<size_t> remove_unknown(const std::set<partition_key>& known);
  // Partition directories present in the data directory.
  std::vector<partition_key> list_on_disk() const;

  // One retention pass over every open log; returns segments deleted.
  size_t apply_retention(int64_t now_ms);
  // Relaxed-flush ticks and segment.ms rolls over every open log.
  void tick_all(int64_t now_ms);
  // Drops producer state idle for producer_id_expiration_ms in every log;
  // returns how many producer ids were dropped.
  size_t expire_producers(int64_t now_ms);
  // One cleaner pass: cleans every compacted log that is due (dirty ratio or
  // max compaction lag, log_cleaner.h), dirtiest first, skipping logs another
  // cleaner thread is cleaning. Returns the number of logs cleaned.
  size_t clean_all(int64_t now_ms);

  // Stops the background thread, closes every log (flush + seal), stops the
  // flusher. Idempotent.
  void stop();

  const std::filesystem::path& data_dir() const { return config_.data_dir; }
  flusher& get_flusher() { return flusher_; }
  worker_pool& io() { return io_; }

 private:
  explicit log_manager(log_manager_config config);
  void background_loop();
  void cleaner_loop();
  result<std::shared_ptr<partition_log>> open_locked(const std::string& topic, int32_t partition,
                                                     const log_config& config);
  result<void> remove_dir(const std::filesystem::path& dir);

  const log_manager_config config_;
  flusher flusher_;
  worker_pool io_;

  std::mutex admin_mutex_;  // serializes create/open/remove
  mutable std::mutex map_mutex_;
  std::map<partition_key, std::shared_ptr<partition_log>> logs_;  // guarded by map_mutex_

  std::mutex bg_mutex_;
  std::condition_variable bg_cv_;
  bool stopping_ = false;  // guarded by bg_mutex_
  std::thread background_;
  std::vector<std::thread> cleaners_;
  bool stopped_ = false;  // guarded by admin_mutex_

  std::mutex cleaning_mutex_;
  std::set<const partition_log*> cleaning_;  // being cleaned; guarded by cleaning_mutex_
};

}  // namespace geomirror::storage

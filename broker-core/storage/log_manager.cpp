#include "broker-core/storage/log_manager.h"

#include "broker-core/base/clock.h"
#include "broker-core/storage/errc.h"
#include "broker-core/storage/file_io.h"
#include "broker-core/storage/file_names.h"
#include "broker-core/storage/logger.h"
#include "broker-core/storage/partition_log_internal.h"

#include <algorithm>

namespace geomirror::storage {

log_manager::log_manager(log_manager_config config)
    : config_(std::move(config)), flusher_(config_.flusher_threads), io_(config_.io_threads, "gm-storage-io") {}

result<std::unique_ptr<log_manager>> log_manager::start(log_manager_config config) {
  if (auto r = create_directories_durably(config.data_dir); !r) {
    storage_log().error("cannot create data directory {}: {}", config.data_dir.string(),
                        r.error().message());
    return errc::io_error;
  }
  std::unique_ptr<log_manager> m(new log_manager(std::move(config)));
  if (m->config_.background_thread) {
    m->background_ = std::thread([raw = m.get()] { raw->background_loop(); });
    for (size_t i = 0; i < m->config_.cleaner_threads; ++i) {
      m->cleaners_.emplace_back([raw = m.get()] { raw->cleaner_loop(); });
    }
  }
  return m;
}

log_manager::~log_manager() { stop(); }

result<std::shared_ptr<partition_log>> log_manager::open_locked(const std::string& topic,
                                                                int32_t partition,
                                                                const log_config& config) {
  if (stopped_) return errc::closed;
  auto log = partition_log::open(config_.data_dir, topic, partition, config, flusher_);
  if (!log) return log.error();
  std::lock_guard lock(map_mutex_);
  logs_[{topic, partition}] = log.value();
  return log.value();
}

result<std::shared_ptr<partition_log>> log_manager::create(const std::string& topic,
                                                           int32_t partition,
                                                           const log_config& config) {
  if (!valid_topic_name(topic) || partition < 0) return errc::invalid_argument;
  std::lock_guard admin(admin_mutex_);
  if (get(topic, partition)) return errc::already_exists;
  const auto dir = config_.data_dir / partition_dir_name(topic, partition);
  std::error_code ec;
  if (std::filesystem::exists(dir, ec)) {
    storage_log().warn("{}: deleting leftover directory of an earlier topic with this name",
                       dir.filename().string());
    if (auto r = remove_dir(dir); !r) return r.error();
  }
  return open_locked(topic, partition, config);
}

result<std::shared_ptr<partition_log>> log_manager::open(const std::string& topic,
                                                         int32_t partition,
                                                         const log_config& config) {
  if (!valid_topic_name(topic) || partition < 0) return errc::invalid_argument;
  std::lock_guard admin(admin_mutex_);
  if (auto existing = get(topic, partition)) return existing;
  return open_locked(topic, partition, config);
}

std::shared_ptr<partition_log> log_manager::get(const std::string& topic,
                                                int32_t partition) const {
  std::lock_guard lock(map_mutex_);
  auto it = logs_.find({topic, partition});
  return it == logs_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<partition_log>> log_manager::all() const {
  std::lock_guard lock(map_mutex_);
  std::vector<std::shared_ptr<partition_log>> out;
  out.reserve(logs_.size());
  for (const auto& [key, log] : logs_) out.push_back(log);
  return out;
}

result<void> log_manager::remove_dir(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  if (ec) {
    storage_log().error("cannot delete {}: {}", dir.string(), ec.message());
    return errc::io_error;
  }
  if (auto r = sync_dir(config_.data_dir); !r) {
    storage_log().warn("fsync of {} failed: {}", config_.data_dir.string(), r.error().message());
  }
  return outcome::success();
}

result<void> log_manager::remove_partition(const std::string& topic, int32_t partition) {
  std::lock_guard admin(admin_mutex_);
  std::shared_ptr<partition_log> log;
  {
    std::lock_guard lock(map_mutex_);
    auto it = logs_.find({topic, partition});
    if (it != logs_.end()) {
      log = std::move(it->second);
      logs_.erase(it);
    }
  }
  if (log) return log->remove();
  const auto dir = config_.data_dir / partition_dir_name(topic, partition);
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) return errc::not_found;
  return remove_dir(dir);
}

result<size_t> log_manager::remove_topic(const std::string& topic) {
  std::set<int32_t> partitions;
  {
    std::lock_guard lock(map_mutex_);
    for (const auto& [key, log] : logs_) {
      if (key.first == topic) partitions.insert(key.second);
    }
  }
  for (const auto& [t, p] : list_on_disk()) {
    if (t == topic) partitions.insert(p);
  }
  size_t removed = 0;
  for (int32_t p : partitions) {
    auto r = remove_partition(topic, p);
    if (!r && r.error() != make_error_code(errc::not_found)) return r.error();
    if (r) ++removed;
  }
  if (removed > 0) storage_log().info("topic {}: deleted {} partition(s)", topic, removed);
  return removed;
}

result<size_t> log_manager::remove_unknown(const std::set<partition_key>& known) {
  size_t removed = 0;
  for (const auto& key : list_on_disk()) {
    if (known.count(key) != 0) continue;
    storage_log().warn("{}-{}: partition directory unknown to the metadata; deleting it",
                       key.first, key.second);
    auto r = remove_partition(key.first, key.second);
    if (!r && r.error() != make_error_code(errc::not_found)) return r.error();
    if (r) ++removed;
  }
  return removed;
}

std::vector<log_manager::partition_key> log_manager::list_on_disk() const {
  std::vector<partition_key> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(config_.data_dir, ec)) {
    std::error_code type_ec;
    if (!entry.is_directory(type_ec)) continue;
    if (auto key = parse_partition_dir_name(entry.path().filename().string())) {
      out.push_back(std::move(*key));
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

size_t log_manager::apply_retention(int64_t now_ms) {
  size_t deleted = 0;
  for (const auto& log : all()) deleted += log->apply_retention(now_ms);
  return deleted;
}

void log_manager::tick_all(int64_t now_ms) {
  for (const auto& log : all()) {
    log->tick(now_ms);
    log->maybe_roll(now_ms);
  }
}

size_t log_manager::expire_producers(int64_t now_ms) {
  size_t removed = 0;
  for (const auto& log : all()) {
    removed += log->remove_expired_producers(now_ms, config_.producer_id_expiration_ms);
  }
  return removed;
}

size_t log_manager::clean_all(int64_t now_ms) {
  struct candidate {
    std::shared_ptr<partition_log> log;
    cleanable_estimate estimate;
  };
  std::vector<candidate> due;
  for (auto& log : all()) {
    auto est = log->cleanable(now_ms);
    if (est && est->due) due.push_back({std::move(log), *est});
  }
  // Overdue logs (max compaction lag) first, then the dirtiest (Kafka picks
  // the log with the highest dirty ratio).
  std::sort(due.begin(), due.end(), [](const candidate& a, const candidate& b) {
    if (a.estimate.max_lag_exceeded != b.estimate.max_lag_exceeded) return a.estimate.max_lag_exceeded;
    return a.estimate.dirty_ratio() > b.estimate.dirty_ratio();
  });
  const size_t map_bytes =
      std::max<size_t>(config_.cleaner_dedupe_buffer_bytes / std::max<size_t>(config_.cleaner_threads, 1),
                       size_t{1} << 20);
  size_t cleaned = 0;
  for (const auto& c : due) {
    {
      std::lock_guard lock(cleaning_mutex_);
      if (!cleaning_.insert(c.log.get()).second) continue;  // another cleaner thread has it
    }
    auto r = c.log->clean(now_ms, map_bytes);
    {
      std::lock_guard lock(cleaning_mutex_);
      cleaning_.erase(c.log.get());
    }
    if (r && r.value().cleaned) ++cleaned;
  }
  return cleaned;
}

void log_manager::cleaner_loop() {
  const auto every = std::chrono::milliseconds(std::max<int64_t>(config_.cleaner_backoff_ms, 1));
  std::unique_lock lock(bg_mutex_);
  while (!stopping_) {
    bg_cv_.wait_for(lock, every, [this] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    clean_all(base::wall_clock_ms());
    lock.lock();
  }
}

void log_manager::background_loop() {
  const auto flush_every = std::chrono::milliseconds(std::max<int64_t>(config_.flush_check_interval_ms, 1));
  const auto retention_every =
      std::chrono::milliseconds(std::max<int64_t>(config_.retention_check_interval_ms, 1));
  const auto expiry_every =
      std::chrono::milliseconds(std::max<int64_t>(config_.producer_id_expiration_check_interval_ms, 1));
  auto next_flush = std::chrono::steady_clock::now() + flush_every;
  auto next_retention = std::chrono::steady_clock::now() + retention_every;
  auto next_expiry = std::chrono::steady_clock::now() + expiry_every;
  std::unique_lock lock(bg_mutex_);
  while (!stopping_) {
    bg_cv_.wait_until(lock, std::min({next_flush, next_retention, next_expiry}),
                      [this] { return stopping_; });
    if (stopping_) break;
    const auto now = std::chrono::steady_clock::now();
    lock.unlock();
    if (now >= next_flush) {
      tick_all(base::wall_clock_ms());
      next_flush = now + flush_every;
    }
    if (now >= next_retention) {
      if (size_t n = apply_retention(base::wall_clock_ms()); n > 0) {
        storage_log().debug("retention deleted {} segment(s)", n);
      }
      next_retention = now + retention_every;
    }
    if (now >= next_expiry) {
      expire_producers(base::wall_clock_ms());
      next_expiry = now + expiry_every;
    }
    lock.lock();
  }
}

void log_manager::stop() {
  {
    std::lock_guard lock(bg_mutex_);
    stopping_ = true;
  }
  bg_cv_.notify_all();
  if (background_.joinable()) background_.join();
  {
    std::lock_guard admin(admin_mutex_);
    if (stopped_) return;
    stopped_ = true;
  }
  // Closing first makes a cleaning pass in progress stop at its next batch.
  for (const auto& log : all()) log->close();
  for (auto& t : cleaners_) {
    if (t.joinable()) t.join();
  }
  io_.stop();
  flusher_.stop();
  storage_log().info("log manager stopped ({} partition logs closed)", all().size());
}

}  // namespace geomirror::storage

// partition_log: appends, the durability state machine, configuration,
// waiters and shutdown. Reads are in partition_log_read.cpp, recovery in
// partition_log_recovery.cpp, retention in partition_log_retention.cpp,
// producer snapshots in partition_log_producers.cpp, compaction in
// partition_log_cleaner.cpp.
//
// Durability state (all under mutex_):
//   log_end_offset_   next offset to assign; data below it is written
//   durable_offset_   data below it is fdatasync'ed
//   high_watermark_   data below it is visible to readers
//                     strict: == durable_offset_ (only syncs advance it)
//                     relaxed: == log_end_offset_ (appends advance it)
//   sync_scheduled_   queued on the flusher (at most once)
//   sync_running_     a flusher thread is inside fdatasync for this log
// An append that finds neither flag set schedules a sync; appends arriving
// while one runs only bump log_end_offset_, and the sync, when it finishes,
// reschedules itself if log_end_offset_ moved past what it covered. That is
// the whole group commit: one fdatasync per "generation" of appends.

#include "broker-core/storage/partition_log.h"

#include "broker-core/records/record_batch.h"
#include "broker-core/storage/errc.h"
#include "broker-core/storage/file_io.h"
#include "broker-core/storage/file_names.h"
#include "broker-core/storage/logger.h"
#include "broker-core/storage/partition_log_internal.h"
#include "broker-core/storage/segment.h"

#include <filesystem>
#include <future>

namespace geomirror::storage {

partition_log::partition_log(std::filesystem::path dir, std::string topic, int32_t partition,
                             log_config config, flusher& f)
    : dir_(std::move(dir)), topic_(std::move(topic)), partition_(partition), flusher_(f),
      config_(config), log_append_time_(config.log_append_time) {}

partition_log::~partition_log() { close(); }

std::string partition_log::name() const { return topic_ + "-" + std::to_string(partition_); }

// ----------------------------------------------------------------- append

bool partition_log::should_roll_locked(const records::batch_header& h, uint64_t batch_size,
                                       int64_t now_ms) const {
  const segment& seg = *segments_.back();
  if (seg.empty()) return false;
  const uint64_t after = seg.size() + batch_size;
  if (static_cast<int64_t>(after) > config_.segment_bytes) return true;
  if (after > static_cast<uint64_t>(INT32_MAX)) return true;  // positions are int32 in .index
  if (log_end_offset_ + h.last_offset_delta - seg.base_offset() > INT32_MAX) return true;
  return seg.rolling_base_ms() >= 0 && now_ms - seg.rolling_base_ms() >= config_.roll_ms();
}

result<std::shared_ptr<segment>> partition_log::create_segment(int64_t base) {
  auto created = segment::create(dir_, base, false);
  if (!created) {
    storage_log().error("{}: cannot create segment {}: {}", name(), segment_stem(base), created.error().message());
  }
  return created;
}

partition_log::pending_seal partition_log::switch_segment_locked(std::shared_ptr<segment> next) {
  pending_seal seal;
  seal.old = segments_.back();
  {
    std::lock_guard lock(mutex_);
    seal.old->finish_time_index();
    seal.end_offset = seal.old->next_offset();
    seal.end_position = seal.old->size();
    segments_.push_back(std::move(next));
    ++seals_pending_;
  }
  // The producer state as of the new base; written with the seal, once
  // everything below it is durable (Kafka snapshots on roll too).
  seal.snapshot_offset = log_end_offset_;
  if (snapshot_offsets_.count(seal.snapshot_offset) == 0) seal.snapshot = producers_.encode_snapshot(log_end_offset_);
  storage_log().debug("{}: rolled segment at offset {} (previous {} bytes)", name(), log_end_offset_,
                      seal.end_position);
  return seal;
}

void partition_log::complete_seal(pending_seal seal) {
  pending_callbacks out;
  sync_count_.fetch_add(1, std::memory_order_relaxed);
  auto sealed = seal.old->seal();
  const char* what = "segment seal (fdatasync) at roll";
  if (sealed) {
    // The new segment's name, before any of its data counts as durable.
    sealed = sync_dir(dir_);
    what = "directory fsync at roll";
  }
  bool schedule = false;
  {
    std::lock_guard lock(mutex_);
    --seals_pending_;
    if (!sealed) {
      fail_locked(sealed.error(), what, out);
    } else if (seals_pending_ == 0 && segments_.size() >= 2) {
      // Every segment before the active one is sealed now (rolls outside the
      // append path may have sealed a later one first).
      const auto& last_sealed = segments_[segments_.size() - 2];
      advance_durable_locked(last_sealed, last_sealed->next_offset(), last_sealed->size(), out);
    }
    schedule = sync_wanted_locked() && try_schedule_locked();
  }
  if (schedule) flusher_.schedule(shared_from_this());
  out.fire();
  if (!sealed || seal.snapshot.empty()) return;
  // Only recovery needs the snapshot: acknowledgements do not wait for it.
  const auto path = producer_snapshot_path(dir_, seal.snapshot_offset);
  if (auto r = write_file_atomic(path, seal.snapshot); !r) {
    // Not fatal: open() falls back to an older snapshot and a longer replay.
    storage_log().warn("{}: cannot write producer snapshot {}: {}", name(), path.filename().string(),
                       r.error().message());
    return;
  }
  std::vector<std::filesystem::path> unlink;
  {
    std::lock_guard alock(append_mutex_);
    snapshot_written_locked(seal.snapshot_offset, unlink);
  }
  remove_files_quietly(unlink);
}

void partition_log::run_roll() {
  pending_callbacks out;
  std::vector<std::pair<append_callback, result<append_info>>> answered;
  std::optional<pending_seal> seal;
  bool schedule = false;
  bool again = false;
  int64_t base;
  {
    std::lock_guard alock(append_mutex_);
    base = log_end_offset_;  // stable: appends wait in the queue meanwhile
  }
  auto created = closed_ || failed_ ? result<std::shared_ptr<segment>>(errc::closed) : create_segment(base);
  {
    std::lock_guard alock(append_mutex_);
    if (!created || closed_ || failed_) {
      const std::error_code ec = closed_ ? make_error_code(errc::closed)
                                 : failed_ ? make_error_code(errc::log_failed)
                                           : make_error_code(errc::io_error);
      if (created) created.value()->remove_files();
      if (!created && !closed_) {
        std::lock_guard lock(mutex_);
        fail_locked(created.error(), "segment creation at roll", out);
      }
      for (auto& q : queue_) answered.emplace_back(std::move(q.done), result<append_info>(ec));
      queue_.clear();
      rolling_ = false;
    } else {
      seal = switch_segment_locked(std::move(created).value());
      while (!queue_.empty()) {
        auto& q = queue_.front();
        result<append_info> outcome = errc::closed;
        if (append_locked(q, outcome, schedule, out) == append_step::needs_roll) {
          again = true;  // a batch too big for what is left: roll once more
          break;
        }
        answered.emplace_back(std::move(q.done), std::move(outcome));
        queue_.pop_front();
      }
      if (!again) rolling_ = false;
    }
    if (again) ++roll_jobs_;
  }
  if (schedule) flusher_.schedule(shared_from_this());
  out.fire();
  for (auto& [done, outcome] : answered) done(std::move(outcome));
  if (seal) complete_seal(std::move(*seal));
  if (again) flusher_.post([self = shared_from_this()] { self->run_roll(); });
  std::lock_guard alock(append_mutex_);
  --roll_jobs_;
  rolls_done_.notify_all();
}

void partition_log::wait_for_rolls(std::unique_lock<std::mutex>& lock) {
  rolls_done_.wait(lock, [this] { return roll_jobs_ == 0; });
}

bool partition_log::roll_now(int64_t now_ms) {
  int64_t base;
  {
    std::lock_guard alock(append_mutex_);
    if (closed_ || failed_ || rolling_ || segments_.back()->empty()) return false;
    base = log_end_offset_;
  }
  auto created = create_segment(base);
  if (!created) return false;
  pending_seal seal;
  {
    std::lock_guard alock(append_mutex_);
    if (closed_ || failed_ || rolling_ || base != log_end_offset_) {
      created.value()->remove_files();  // the log moved on meanwhile
      return false;
    }
    seal = switch_segment_locked(std::move(created).value());
    ++roll_jobs_;
  }
  storage_log().debug("{}: rolled segment at offset {} outside the append path (now_ms {})", name(), base, now_ms);
  complete_seal(std::move(seal));
  std::lock_guard alock(append_mutex_);
  --roll_jobs_;
  rolls_done_.notify_all();
  return true;
}

partition_log::append_step partition_log::append_locked(queued_append& a, result<append_info>& outcome,
                                                        bool& schedule, pending_callbacks& out) {
  records::batch_header& h = a.header;
  const bool log_append_time = log_append_time_.load(std::memory_order_relaxed);
  const bool idempotent = producer_state_table::tracks(h);
  if (idempotent) {
    auto verdict = producers_.check(h);
    if (!verdict) {
      outcome = verdict.error();
      return append_step::failed;
    }
    if (const auto& original = verdict.value()) {
      storage_log().debug("{}: duplicate batch of producer {} epoch {} sequences {}..{}, "
                          "answered with offsets {}..{}",
                          name(), h.producer_id, h.producer_epoch, original->first_sequence,
                          original->last_sequence, original->first_offset, original->last_offset);
      std::lock_guard lock(mutex_);
      outcome = append_info{original->first_offset, original->last_offset,
                            log_append_time ? original->max_timestamp : -1, log_start_offset_, true};
      return append_step::written;
    }
  }
  if (should_roll_locked(h, a.batch.size(), a.now_ms)) return append_step::needs_roll;
  const std::shared_ptr<segment>& seg = segments_.back();
  const int64_t base = log_end_offset_;
  h.base_offset = base;
  h.partition_leader_epoch = 0;
  records::set_base_offset(a.batch, base);
  records::set_partition_leader_epoch(a.batch, 0);
  const uint64_t position = seg->size();
  if (auto w = seg->write(position, a.batch); !w) {
    std::lock_guard lock(mutex_);
    fail_locked(w.error(), "write", out);
    outcome = errc::io_error;
    return append_step::failed;
  }
  append_info info;
  {
    std::lock_guard lock(mutex_);
    seg->on_appended(h, position, a.now_ms, config_.index_interval_bytes);
    log_end_offset_ = h.next_offset();
    if (oldest_unflushed_ms_ < 0) oldest_unflushed_ms_ = a.now_ms;
    if (!config_.strict_durability()) {
      set_hw_locked(log_end_offset_, seg->base_offset(), seg->size(), out);
    }
    schedule = (sync_wanted_locked() && try_schedule_locked()) || schedule;
    info = append_info{base, h.last_offset(), log_append_time ? a.now_ms : -1, log_start_offset_};
  }
  if (idempotent) producers_.on_append(h, a.now_ms);
  if (auto r = seg->flush_indexes(false); !r) {
    // The batch itself is written; its waiters will see the failure.
    std::lock_guard lock(mutex_);
    fail_locked(r.error(), "index write", out);
  }
  outcome = info;
  return append_step::written;
}

void partition_log::append(records::bytes batch, int64_t now_ms, append_callback done) {
  auto parsed = records::parse_batch_header(batch);
  if (!parsed || parsed.value().size_bytes() != batch.size()) {
    done(errc::invalid_batch);
    return;
  }
  queued_append a{std::move(batch), parsed.value(), now_ms, std::move(done)};
  if (log_append_time_.load(std::memory_order_relaxed)) {
    // Outside the lock: the CRC recomputation is the only per-byte work.
    records::set_log_append_time(a.batch, now_ms);
    a.header.attributes |= records::batch_attributes::timestamp_type;
    a.header.max_timestamp = now_ms;
  }
  pending_callbacks out;
  bool schedule = false;
  bool start_roll = false;
  result<append_info> outcome = errc::closed;
  {
    std::lock_guard alock(append_mutex_);
    if (closed_) {
      outcome = errc::closed;
    } else if (failed_) {
      outcome = errc::log_failed;
    } else if (rolling_) {
      queue_.push_back(std::move(a));  // keeps partition order behind the roll
      return;
    } else if (append_locked(a, outcome, schedule, out) == append_step::needs_roll) {
      rolling_ = true;
      ++roll_jobs_;
      queue_.push_back(std::move(a));
      start_roll = true;
    }
  }
  if (start_roll) {
    flusher_.post([self = shared_from_this()] { self->run_roll(); });
    return;
  }
  if (schedule) flusher_.schedule(shared_from_this());
  out.fire();
  a.done(std::move(outcome));
}

result<append_info> partition_log::append_and_wait(records::bytes batch, int64_t now_ms) {
  std::promise<result<append_info>> promise;
  auto future = promise.get_future();
  append(std::move(batch), now_ms, [&promise](result<append_info> r) { promise.set_value(std::move(r)); });
  return future.get();
}

// ------------------------------------------------------------ durability

void partition_log::set_hw_locked(int64_t hw, int64_t segment_base, uint64_t position,
                                  pending_callbacks& out) {
  if (hw <= high_watermark_) return;
  high_watermark_ = hw;
  hw_segment_base_ = segment_base;
  hw_position_ = position;
  wake_hw_waiters_locked(out);
}

void partition_log::advance_durable_locked(const std::shared_ptr<segment>& seg,
                                           int64_t end_offset, uint64_t end_position,
                                           pending_callbacks& out) {
  if (end_offset > durable_offset_) {
    durable_offset_ = end_offset;
    auto end = durable_waiters_.lower_bound(durable_offset_);
    for (auto it = durable_waiters_.begin(); it != end; ++it) {
      out.durable.emplace_back(std::move(it->second), std::error_code{});
    }
    durable_waiters_.erase(durable_waiters_.begin(), end);
  }
  if (config_.strict_durability()) set_hw_locked(end_offset, seg->base_offset(), end_position, out);
  if (log_end_offset_ <= durable_offset_) oldest_unflushed_ms_ = -1;
}

void partition_log::fail_locked(std::error_code ec, const char* what, pending_callbacks& out) {
  failed_ = true;
  if (!failure_logged_) {
    failure_logged_ = true;
    storage_log().error("{}: {} failed: {}; partition log marked failed, appends refused", name(),
                        what, ec.message());
  }
  answer_durable_waiters_locked(make_error_code(errc::io_error), out);
  wake_hw_waiters_locked(out);
}

void partition_log::answer_durable_waiters_locked(std::error_code ec, pending_callbacks& out) {
  for (auto& [offset, cb] : durable_waiters_) out.durable.emplace_back(std::move(cb), ec);
  durable_waiters_.clear();
}

void partition_log::wake_hw_waiters_locked(pending_callbacks& out) {
  for (auto& [id, cb] : hw_waiters_) out.hw.push_back(std::move(cb));
  hw_waiters_.clear();
}

bool partition_log::sync_wanted_locked() const {
  if (log_end_offset_ <= durable_offset_) return false;
  if (config_.strict_durability()) return true;
  return log_end_offset_ - durable_offset_ >= config_.flush_messages;
}

bool partition_log::try_schedule_locked() {
  if (sync_scheduled_ || sync_running_ || closed_ || failed_) return false;
  sync_scheduled_ = true;
  return true;
}

void partition_log::run_flush() {
  pending_callbacks out;
  std::shared_ptr<segment> seg;
  int64_t end_offset = 0;
  uint64_t end_position = 0;
  {
    std::lock_guard lock(mutex_);
    sync_scheduled_ = false;
    // A rolled segment still being sealed: complete_seal() reschedules.
    if (closed_ || failed_ || seals_pending_ > 0 || log_end_offset_ <= durable_offset_) return;
    sync_running_ = true;
    // Everything below log_end_offset_ is in this segment or in older, sealed
    // ones, and the write of every such byte has completed.
    seg = segments_.back();
    end_offset = log_end_offset_;
    end_position = seg->size();
  }
  const int64_t started_ms = base::wall_clock_ms();
  auto r = seg->sync();
  sync_count_.fetch_add(1, std::memory_order_relaxed);
  bool again = false;
  {
    std::lock_guard lock(mutex_);
    sync_running_ = false;
    if (!r) {
      fail_locked(r.error(), "fdatasync", out);
    } else {
      advance_durable_locked(seg, end_offset, end_position, out);
      if (log_end_offset_ > durable_offset_) oldest_unflushed_ms_ = started_ms;
    }
    again = sync_wanted_locked() && try_schedule_locked();
  }
  if (again) flusher_.schedule(shared_from_this());
  out.fire();
}

void partition_log::when_durable(int64_t offset, durable_callback cb) {
  std::error_code ec;
  {
    std::lock_guard lock(mutex_);
    if (failed_) {
      ec = errc::log_failed;
    } else if (config_.strict_durability() && offset >= durable_offset_) {
      if (closed_) {
        ec = errc::closed;
      } else {
        durable_waiters_.emplace(offset, std::move(cb));
        return;
      }
    }
  }
  cb(ec);
}

result<void> partition_log::sync_now() {
  pending_callbacks out;
  std::unique_lock alock(append_mutex_);
  wait_for_rolls(alock);
  if (closed_) return errc::closed;
  if (failed_) return errc::log_failed;
  std::shared_ptr<segment> seg = segments_.back();
  int64_t end_offset;
  uint64_t end_position;
  {
    std::lock_guard lock(mutex_);
    end_offset = log_end_offset_;
    end_position = seg->size();
  }
  auto r = seg->flush_indexes(true);
  if (r) r = seg->sync();
  sync_count_.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard lock(mutex_);
  if (!r) {
    fail_locked(r.error(), "fdatasync", out);
    return errc::io_error;
  }
  advance_durable_locked(seg, end_offset, end_position, out);
  return outcome::success();
}

result<void> partition_log::flush() { return sync_now(); }

void partition_log::tick(int64_t now_ms) {
  bool schedule = false;
  {
    std::lock_guard lock(mutex_);
    if (log_end_offset_ <= durable_offset_) return;
    if (config_.strict_durability()) {
      schedule = try_schedule_locked();  // safety net; appends normally schedule
    } else if (oldest_unflushed_ms_ >= 0 && config_.flush_ms != INT64_MAX &&
               now_ms - oldest_unflushed_ms_ >= config_.flush_ms) {
      schedule = try_schedule_locked();
    }
  }
  if (schedule) flusher_.schedule(shared_from_this());
}

// --------------------------------------------------------- configuration

void partition_log::set_config(const log_config& config) {
  pending_callbacks out;
  bool schedule = false;
  {
    std::lock_guard alock(append_mutex_);
    std::lock_guard lock(mutex_);
    const bool was_strict = config_.strict_durability();
    config_ = config;
    log_append_time_ = config.log_append_time;
    if (was_strict && !config.strict_durability()) {
      // Relaxed: everything written becomes visible, waiters are answered.
      const auto& seg = segments_.back();
      set_hw_locked(log_end_offset_, seg->base_offset(), seg->size(), out);
      answer_durable_waiters_locked({}, out);
    }
    schedule = sync_wanted_locked() && try_schedule_locked();
  }
  if (schedule) flusher_.schedule(shared_from_this());
}

log_config partition_log::config() const {
  std::lock_guard lock(mutex_);
  return config_;
}

// ---------------------------------------------------------------- waiters

uint64_t partition_log::add_high_watermark_waiter(std::function<void()> cb) {
  {
    std::lock_guard lock(mutex_);
    if (!closed_ && !failed_) {
      const uint64_t id = next_waiter_id_++;
      hw_waiters_.emplace(id, std::move(cb));
      return id;
    }
  }
  cb();
  return 0;
}

bool partition_log::remove_high_watermark_waiter(uint64_t id) {
  std::lock_guard lock(mutex_);
  return hw_waiters_.erase(id) > 0;
}

// ---------------------------------------------------------------- offsets

int64_t partition_log::log_start_offset() const {
  std::lock_guard lock(mutex_);
  return log_start_offset_;
}

int64_t partition_log::high_watermark() const {
  std::lock_guard lock(mutex_);
  return high_watermark_;
}

int64_t partition_log::log_end_offset() const {
  std::lock_guard lock(mutex_);
  return log_end_offset_;
}

int64_t partition_log::durable_offset() const {
  std::lock_guard lock(mutex_);
  return durable_offset_;
}

uint64_t partition_log::size_bytes() const {
  std::lock_guard lock(mutex_);
  uint64_t total = 0;
  for (const auto& s : segments_) total += s->size();
  return total;
}

size_t partition_log::segment_count() const {
  std::lock_guard lock(mutex_);
  return segments_.size();
}

// --------------------------------------------------------------- shutdown

void partition_log::close() {
  pending_callbacks out;
  std::unique_lock alock(append_mutex_);
  wait_for_rolls(alock);
  if (closed_) return;
  if (!failed_ && !segments_.empty()) {
    std::shared_ptr<segment> seg = segments_.back();
    {
      std::lock_guard lock(mutex_);
      seg->finish_time_index();
    }
    auto r = seg->seal();
    {
      std::lock_guard lock(mutex_);
      if (!r) {
        fail_locked(r.error(), "seal at close", out);
      } else {
        advance_durable_locked(seg, log_end_offset_, seg->size(), out);
      }
    }
    if (r) write_producer_snapshot_locked();
  }
  std::lock_guard lock(mutex_);
  closed_ = true;
  answer_durable_waiters_locked(make_error_code(failed_ ? errc::log_failed : errc::closed), out);
  wake_hw_waiters_locked(out);
  // `out` fires after the locks are released (destruction order).
}

result<void> partition_log::remove() {
  close();
  // A running clean() notices the close and stops; it must not write into
  // the directory while it is being deleted.
  std::lock_guard clean_lock(clean_mutex_);
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
  if (ec) {
    storage_log().error("{}: cannot delete {}: {}", name(), dir_.string(), ec.message());
    return errc::io_error;
  }
  if (auto r = sync_dir(dir_.parent_path()); !r) {
    storage_log().warn("{}: fsync of {} failed: {}", name(), dir_.parent_path().string(),
                       r.error().message());
  }
  storage_log().info("{}: deleted partition directory {}", name(), dir_.string());
  return outcome::success();
}

}  // namespace geomirror::storage

// partition_log: compaction -- choosing what to clean, running the cleaner's
// passes (log_cleaner.h) on a snapshot of the closed segments, and swapping
// cleaned segments in.
//
// Swap protocol (Kafka's replaceSegments; recovery in
// partition_log_recovery.cpp), for a group of segments [base, end):
//   1. clean_group writes `<base>.log.cleaned`, `.index.cleaned`,
//      `.timeindex.cleaned` and fdatasyncs them (no lock held);
//   2. under the append lock: check the group is still in the segment list,
//      rename `<base>.log.cleaned` -> `<base>.log.<end>.swap`, fsync the
//      directory -- the commit point;
//   3. replace the group by the cleaned segment in the list (state lock);
//   4. delete the group's other files, rename the cleaned indexes over
//      `<base>.index`/`.timeindex`, rename the .swap over `<base>.log`, fsync
//      the directory.
// A crash before 2 leaves .cleaned files, which open() deletes: the old
// segments are intact. A crash after 2 leaves a .swap, which open() completes
// by deleting every segment with a base offset in [base, end) and renaming
// the .swap to `<base>.log` (its indexes are rebuilt). Either way each key
// keeps its latest value exactly once. Readers holding old segments keep
// reading them through their open fds.

#include "broker-core/storage/errc.h"
#include "broker-core/storage/file_io.h"
#include "broker-core/storage/file_names.h"
#include "broker-core/storage/log_start_offset_file.h"
#include "broker-core/storage/logger.h"
#include "broker-core/storage/partition_log.h"
#include "broker-core/storage/partition_log_internal.h"
#include "broker-core/storage/segment.h"

#include <algorithm>
#include <chrono>

namespace geomirror::storage {

std::optional<cleanable_estimate> partition_log::cleanable(int64_t now_ms) const {
  std::vector<std::shared_ptr<segment>> closed;
  int64_t active_base;
  int64_t log_start;
  log_config cfg;
  {
    std::lock_guard lock(mutex_);
    if (closed_ || failed_ || !config_.compact || uncleanable_) return std::nullopt;
    cfg = config_;
    closed.assign(segments_.begin(), segments_.end() - 1);
    active_base = segments_.back()->base_offset();
    log_start = log_start_offset_;
  }
  auto estimate = estimate_cleanable(closed, active_base, log_start, cleaner_checkpoint_.load(), now_ms, cfg);
  mark_expired_tombstones(estimate, now_ms);
  return estimate;
}

// With nothing new to clean, a log is still due once the tombstones kept by
// the last pass have passed their delete horizon: a pass over the clean
// section drops them (Kafka's LogCleanerManager does the same for logs whose
// latest delete horizon has passed).
void partition_log::mark_expired_tombstones(cleanable_estimate& estimate, int64_t now_ms) const {
  const int64_t horizon = latest_delete_horizon_ms_.load();
  if (estimate.due || horizon < 0 || horizon > now_ms || estimate.clean_bytes == 0) return;
  estimate.tombstones_expired = true;
  estimate.due = true;
}

result<clean_stats> partition_log::clean(int64_t now_ms, size_t map_memory_bytes) {
  std::lock_guard clean_lock(clean_mutex_);
  const auto started = std::chrono::steady_clock::now();
  std::vector<std::shared_ptr<segment>> closed;
  int64_t active_base;
  int64_t log_start;
  log_config cfg;
  std::unordered_map<int64_t, int64_t> producer_last_offsets;
  {
    std::lock_guard alock(append_mutex_);
    if (closed_) return errc::closed;
    if (failed_) return errc::log_failed;
    producer_last_offsets = producers_.last_offsets();
    std::lock_guard lock(mutex_);
    cfg = config_;
    closed.assign(segments_.begin(), segments_.end() - 1);
    active_base = segments_.back()->base_offset();
    log_start = log_start_offset_;
  }
  clean_stats stats;
  if (!cfg.compact || uncleanable_) return stats;
  cleanable_estimate est = estimate_cleanable(closed, active_base, log_start, cleaner_checkpoint_.load(), now_ms, cfg);
  mark_expired_tombstones(est, now_ms);
  const bool nothing_dirty = est.dirty_bytes == 0 || est.first_dirty_offset >= est.first_uncleanable_offset;
  if (nothing_dirty && !est.tombstones_expired) return stats;

  const auto failed = [&](std::error_code ec, const char* what) -> std::error_code {
    if (ec == make_error_code(errc::closed)) return ec;
    if (ec == make_error_code(errc::corrupt)) {
      uncleanable_ = true;
      storage_log().error("{}: the cleaner cannot read the log ({}); compaction stopped for this "
                          "partition until it is reopened", name(), what);
      return ec;
    }
    storage_log().error("{}: cleaning failed ({}): {}", name(), what, ec.message());
    return ec.category() == error_category() ? ec : make_error_code(errc::io_error);
  };

  key_offset_map map(map_memory_bytes);
  auto built = build_offset_map(closed, active_base, est.first_dirty_offset,
                                est.first_uncleanable_offset, map, closed_);
  if (!built) return failed(built.error(), "building the offset map");
  const int64_t map_end = built.value().end_offset;
  stats.first_dirty_offset = est.first_dirty_offset;
  stats.end_offset = map_end;
  stats.undecodable_batches = built.value().undecodable_batches;

  // Segments from the log start up to the end of the mapped section.
  std::vector<std::shared_ptr<segment>> to_clean;
  std::vector<int64_t> ends;
  for (size_t i = 0; i < closed.size(); ++i) {
    const int64_t end = i + 1 < closed.size() ? closed[i + 1]->base_offset() : active_base;
    if (end <= log_start) continue;
    if (closed[i]->base_offset() >= map_end) break;
    to_clean.push_back(closed[i]);
    ends.push_back(end);
  }
  stats.segments_before = to_clean.size();
  const clean_context ctx{map,
                          map_end,
                          now_ms,
                          now_ms + std::max<int64_t>(cfg.delete_retention_ms, 0),
                          producer_last_offsets,
                          cfg.index_interval_bytes,
                          closed_};
  for (const auto& group : group_segments_by_size(to_clean, ends, cfg.segment_bytes)) {
    auto cleaned = clean_group(dir_, group, ctx, stats);
    if (!cleaned) return failed(cleaned.error(), "writing a cleaned segment");
    auto swapped = swap_cleaned(group, cleaned.value());
    if (!swapped) return failed(swapped.error(), "swapping a cleaned segment in");
    if (!swapped.value()) {
      if (closed_) return errc::closed;
      if (failed_) return errc::log_failed;
      // Retention changed the segments meanwhile: leave the checkpoint where
      // it was; the next pass starts over.
      storage_log().info("{}: cleaning pass abandoned: the segments changed while it ran", name());
      return clean_stats{};
    }
    ++stats.segments_after;
  }

  if (auto r = write_cleaner_checkpoint(dir_, map_end); !r) {
    // The cleaned segments are in place; the next pass redoes the section.
    storage_log().warn("{}: cannot persist cleaner checkpoint {}: {}", name(), map_end,
                       r.error().message());
  }
  cleaner_checkpoint_ = map_end;
  latest_delete_horizon_ms_ = stats.latest_delete_horizon_ms;
  stats.cleaned = true;
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - started)
                      .count();
  storage_log().info(
      "{}: cleaned offsets [{}, {}) (dirty from {}): {} segment(s) -> {}, {} -> {} bytes, "
      "{} records removed, {} batches removed, {} emptied, {} undecodable kept, {} keys, {} ms",
      name(), log_start, map_end, est.first_dirty_offset, stats.segments_before,
      stats.segments_after, stats.bytes_before, stats.bytes_after, stats.records_removed,
      stats.batches_removed, stats.batches_emptied, stats.undecodable_batches, map.size(), ms);
  return stats;
}

result<bool> partition_log::swap_cleaned(const std::vector<std::shared_ptr<segment>>& group,
                                         const std::shared_ptr<segment>& cleaned) {
  pending_callbacks out;
  std::lock_guard alock(append_mutex_);
  const int64_t base = group.front()->base_offset();
  auto first = std::find(segments_.begin(), segments_.end(), group.front());
  const auto at = static_cast<size_t>(first - segments_.begin());
  bool present = !closed_ && !failed_ && first != segments_.end() &&
                 at + group.size() < segments_.size();
  for (size_t k = 0; present && k < group.size(); ++k) present = segments_[at + k] == group[k];
  if (!present) {
    remove_cleaned_files(dir_, base);
    return false;
  }
  const int64_t end = segments_[at + group.size()]->base_offset();

  // Commit point: the .swap name (with its range) is durable.
  const auto swap = segment_swap_path(dir_, base, end);
  std::error_code ec;
  std::filesystem::rename(cleaned_path(segment_log_path(dir_, base)), swap, ec);
  if (!ec) {
    if (auto r = sync_dir(dir_); !r) {
      ec = r.error();
      std::error_code ignored;
      std::filesystem::remove(swap, ignored);
    }
  }
  if (ec) {
    remove_cleaned_files(dir_, base);
    storage_log().error("{}: cannot commit cleaned segment {}: {}", name(), segment_stem(base),
                        ec.message());
    return errc::io_error;
  }
  {
    std::lock_guard lock(mutex_);
    segments_[at] = cleaned;
    segments_.erase(segments_.begin() + static_cast<ptrdiff_t>(at + 1),
                    segments_.begin() + static_cast<ptrdiff_t>(at + group.size()));
    // Every closed segment lies below the high watermark; keep its position
    // meaningful if it pointed into the group.
    if (hw_segment_base_ >= base && hw_segment_base_ < end) {
      hw_segment_base_ = base;
      hw_position_ = cleaned->size();
    }
  }

  // Past the commit point: finish on disk. A failure here leaves the .swap
  // for recovery to complete; the log stops taking writes meanwhile.
  std::error_code first_error;
  const auto note = [&](const std::error_code& e) {
    if (e && !first_error) first_error = e;
  };
  for (size_t k = 1; k < group.size(); ++k) {
    const int64_t b = group[k]->base_offset();
    std::filesystem::remove(segment_log_path(dir_, b), ec);
    note(ec);
    std::filesystem::remove(segment_index_path(dir_, b), ec);
    note(ec);
    std::filesystem::remove(segment_time_index_path(dir_, b), ec);
    note(ec);
  }
  std::filesystem::rename(cleaned_path(segment_index_path(dir_, base)), segment_index_path(dir_, base), ec);
  note(ec);
  std::filesystem::rename(cleaned_path(segment_time_index_path(dir_, base)),
                          segment_time_index_path(dir_, base), ec);
  note(ec);
  std::filesystem::rename(swap, segment_log_path(dir_, base), ec);
  note(ec);
  if (auto r = sync_dir(dir_); !r) note(r.error());
  if (first_error) {
    std::lock_guard lock(mutex_);
    fail_locked(first_error, "cleaner segment swap", out);
    return true;
  }
  storage_log().debug("{}: swapped in cleaned segment {} for {} segment(s) up to {} ({} bytes)",
                      name(), segment_stem(base), group.size(), segment_stem(end), cleaned->size());
  return true;
}

}  // namespace geomirror::storage

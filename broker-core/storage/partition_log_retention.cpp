// partition_log: retention (time, size, log start offset) and time-based
// rolling of idle partitions (segment.ms, or max.compaction.lag.ms). Mirrors Kafka's UnifiedLog.deleteOldSegments:
// each rule deletes a prefix of the segment list, never data at or above the
// high watermark, and an expired non-empty active segment is rolled first so
// that an emptied log keeps an empty active segment at its end offset.

#include "broker-core/storage/errc.h"
#include "broker-core/storage/file_io.h"
#include "broker-core/storage/file_names.h"
#include "broker-core/storage/logger.h"
#include "broker-core/storage/partition_log.h"
#include "broker-core/storage/partition_log_internal.h"
#include "broker-core/storage/segment.h"

namespace geomirror::storage {

std::vector<std::shared_ptr<segment>> partition_log::delete_prefix_locked(
    size_t count, const char* reason, std::vector<std::filesystem::path>& unlink) {
  std::vector<std::shared_ptr<segment>> doomed(segments_.begin(), segments_.begin() + static_cast<ptrdiff_t>(count));
  int64_t start;
  {
    std::lock_guard lock(mutex_);
    segments_.erase(segments_.begin(), segments_.begin() + static_cast<ptrdiff_t>(count));
    log_start_offset_ = std::max(log_start_offset_, segments_.front()->base_offset());
    start = log_start_offset_;
  }
  // Producers whose batches are all gone are forgotten (Kafka's truncateHead).
  producers_.truncate_head(start);
  prune_producer_snapshots_locked(unlink);
  uint64_t bytes = 0;
  for (const auto& seg : doomed) bytes += seg->size();
  storage_log().info("{}: deleting {} segment(s) ({} bytes, {} from {} to {}); log start offset now {}", name(),
                     doomed.size(), bytes, reason, segment_stem(doomed.front()->base_offset()),
                     segment_stem(doomed.back()->base_offset()), start);
  return doomed;
}

void partition_log::delete_files(const std::vector<std::shared_ptr<segment>>& doomed,
                                 const std::vector<std::filesystem::path>& unlink) {
  // Readers holding a segment keep reading through its open fd.
  for (const auto& seg : doomed) seg->remove_files();
  remove_files_quietly(unlink);
  if (auto r = sync_dir(dir_); !r) {
    storage_log().warn("{}: fsync of {} failed: {}", name(), dir_.string(), r.error().message());
  }
}

size_t partition_log::apply_retention(int64_t now_ms) {
  size_t deleted = 0;
  // At most twice: once more after rolling an active segment that expired
  // with the rest (the roll cannot happen under the append lock).
  for (int pass = 0; pass < 2; ++pass) {
    std::vector<std::shared_ptr<segment>> doomed;
    std::vector<std::filesystem::path> unlink;
    bool roll_first = false;
    {
      std::lock_guard alock(append_mutex_);
      if (closed_ || failed_) return deleted;
      const log_config cfg = config_;  // config_ only changes under append_mutex_

      // Length of the prefix of segments matching `pred`, limited to segments
      // wholly below the high watermark and to non-empty ones.
      const auto prefix = [&](auto&& pred) {
        int64_t hw;
        {
          std::lock_guard lock(mutex_);
          hw = high_watermark_;
        }
        size_t k = 0;
        for (size_t i = 0; i < segments_.size(); ++i) {
          const segment& seg = *segments_[i];
          const bool last = i + 1 == segments_.size();
          if (seg.empty() && last) break;
          const int64_t end = last ? log_end_offset_ : segments_[i + 1]->base_offset();
          if (end > hw) break;
          if (!pred(seg, end)) break;
          ++k;
        }
        return k;
      };
      // Deletes a prefix, but never the active segment: an expired active
      // segment is rolled first (then an emptied log keeps an empty active
      // segment at its end offset).
      const auto take = [&](size_t k, const char* reason) {
        if (k == 0) return;
        if (k == segments_.size()) {
          roll_first = true;
          --k;
        }
        if (k == 0) return;
        auto gone = delete_prefix_locked(k, reason, unlink);
        doomed.insert(doomed.end(), gone.begin(), gone.end());
      };

      int64_t start;
      {
        std::lock_guard lock(mutex_);
        start = log_start_offset_;
      }
      take(prefix([&](const segment&, int64_t end) { return end <= start; }), "log start offset");
      // Time and size retention belong to cleanup.policy=delete; a
      // compact-only topic keeps its (compacted) history.
      if (cfg.delete_enabled && cfg.retention_ms >= 0) {
        const int64_t limit = now_ms - cfg.retention_ms;
        take(prefix([&](const segment& s, int64_t) { return s.retention_timestamp() < limit; }), "retention.ms");
      }
      if (cfg.delete_enabled && cfg.retention_bytes >= 0) {
        int64_t total = 0;
        for (const auto& s : segments_) total += static_cast<int64_t>(s->size());
        take(prefix([&](const segment& s, int64_t) {
               if (total - static_cast<int64_t>(s.size()) < cfg.retention_bytes) return false;
               total -= static_cast<int64_t>(s.size());
               return true;
             }),
             "retention.bytes");
      }
    }
    if (!doomed.empty() || !unlink.empty()) delete_files(doomed, unlink);
    deleted += doomed.size();
    if (!roll_first || !roll_now(now_ms)) break;
  }
  return deleted;
}

bool partition_log::maybe_roll(int64_t now_ms) {
  {
    std::lock_guard alock(append_mutex_);
    if (closed_ || failed_) return false;
    const segment& seg = *segments_.back();
    if (seg.empty() || seg.rolling_base_ms() < 0 || now_ms - seg.rolling_base_ms() < config_.roll_ms()) {
      return false;
    }
  }
  return roll_now(now_ms);
}

}  // namespace geomirror::storage

#pragma once
// Log compaction (cleanup.policy=compact), after Kafka's LogCleaner:
//
//  1. Which part is cleanable (estimate_cleanable): the closed segments
//     from the cleaner checkpoint ("first dirty offset") up to the active
//     segment, or up to the first segment whose newest record is younger
//     than min_compaction_lag_ms. A log is due when dirty bytes / (clean +
//     dirty bytes) >= min_cleanable_dirty_ratio, or when the first dirty
//     batch is older than max_compaction_lag_ms.
//  2. Offset map (build_offset_map): key -> offset of its latest record over
//     the dirty section, records decoded (decompressed as needed). The map is
//     capped in memory; when full, the section ends at a batch boundary and
//     the rest waits for the next pass.
//  3. Cleaning (clean_group): the closed segments from the log start up to
//     the end of the mapped section, in groups of consecutive segments whose
//     total size fits segment_bytes (and whose offsets fit the relative
//     index), are each rewritten into one `<base>.log.cleaned` segment. A
//     record is kept unless a later record with the same key lies in the
//     mapped section; records with a null key are kept; a tombstone is kept
//     until its batch's delete horizon (set by the first pass that keeps it,
//     now + delete_retention_ms, KIP-534) has passed. Batches keep their
//     offsets, producer fields and codec (records/batch_filter.h); a batch
//     left without records is dropped, except a producer's last batch, which
//     stays as an empty batch so the idempotence state can be rebuilt.
//  4. The swap protocol and the checkpoint are partition_log's
//     (partition_log_cleaner.cpp, docs/formats/segment-files.md).
//
// The functions here read closed segments through their fds (immutable once
// sealed) and take no lock; they stop early with errc::closed when `abort`
// becomes true. Thread safety: a key_offset_map is used by one thread.

#include "broker-core/base/result.h"
#include "broker-core/records/bytes.h"
#include "broker-core/storage/log_config.h"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace geomirror::storage {

class segment;

// Kafka's log.cleaner.dedupe.buffer.size.
inline constexpr size_t default_cleaner_map_bytes = size_t{128} << 20;

struct cleanable_estimate {
  int64_t first_dirty_offset = 0;        // the checkpoint, clamped to the log
  int64_t first_uncleanable_offset = 0;  // active segment base or min-lag limit
  uint64_t clean_bytes = 0;              // closed segments below the dirty section
  uint64_t dirty_bytes = 0;              // cleanable segments from the dirty section on
  bool max_lag_exceeded = false;         // the oldest dirty batch passed max_compaction_lag_ms
  bool tombstones_expired = false;       // kept tombstones passed their delete horizon
  bool due = false;                      // dirty ratio, max lag or expired tombstones say: clean now

  double dirty_ratio() const {
    const uint64_t total = clean_bytes + dirty_bytes;
    return total == 0 ? 0.0 : static_cast<double>(dirty_bytes) / static_cast<double>(total);
  }
};

// What one clean() did (all zero when nothing was cleaned).
struct clean_stats {
  bool cleaned = false;
  int64_t first_dirty_offset = 0;
  int64_t end_offset = 0;  // the new checkpoint
  size_t segments_before = 0;
  size_t segments_after = 0;
  uint64_t bytes_before = 0;
  uint64_t bytes_after = 0;
  uint64_t records_removed = 0;
  uint64_t batches_removed = 0;
  uint64_t batches_emptied = 0;  // producers' last batches kept without records
  uint64_t undecodable_batches = 0;  // kept as they were
  int64_t latest_delete_horizon_ms = -1;  // the latest horizon of the tombstones kept, -1 if none
};

// key -> offset of the latest record with that key. Keys are stored whole
// (no hash collisions can drop a live record); memory is estimated per entry.
class key_offset_map {
 public:
  explicit key_offset_map(size_t memory_limit) : limit_(memory_limit) {}

  void put(records::bytes_view key, int64_t offset);
  std::optional<int64_t> get(records::bytes_view key) const;
  bool full() const { return memory_ >= limit_; }
  size_t size() const { return map_.size(); }

 private:
  struct hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, int64_t, hash, std::equal_to<>> map_;
  size_t memory_ = 0;
  size_t limit_;
};

// `closed`: the closed segments in offset order; `active_base`: the base
// offset of the active segment (the end of the last closed one).
cleanable_estimate estimate_cleanable(const std::vector<std::shared_ptr<segment>>& closed,
                                      int64_t active_base, int64_t log_start_offset,
                                      int64_t checkpoint, int64_t now_ms, const log_config& config);

struct offset_map_result {
  int64_t end_offset = 0;  // every offset below this was examined
  uint64_t records = 0;
  uint64_t undecodable_batches = 0;
};
// Adds the keyed records with offsets in [from, to) to `map`. `to` is a
// segment boundary; the result ends there unless the map fills first.
// Errors: closed (abort), corrupt (a segment's batches do not parse), I/O.
result<offset_map_result> build_offset_map(const std::vector<std::shared_ptr<segment>>& closed,
                                           int64_t active_base, int64_t from, int64_t to,
                                           key_offset_map& map, const std::atomic<bool>& abort);

// Consecutive segments cleaned into one; `ends[i]` is the offset where
// closed[i] ends (the next segment's base).
std::vector<std::vector<std::shared_ptr<segment>>> group_segments_by_size(
    const std::vector<std::shared_ptr<segment>>& segments, const std::vector<int64_t>& ends,
    int64_t max_bytes);

struct clean_context {
  const key_offset_map& map;
  int64_t map_end = 0;              // records at or past this are kept untouched
  int64_t now_ms = 0;               // tombstones whose horizon is <= now are dropped
  int64_t delete_horizon_ms = 0;    // horizon given to newly kept tombstones
  const std::unordered_map<int64_t, int64_t>& producer_last_offsets;
  int32_t index_interval_bytes = 4096;
  const std::atomic<bool>& abort;
};
// Writes the cleaned copy of `group` as `<base>.log.cleaned` (+ `.index.cleaned`,
// `.timeindex.cleaned`), sealed (fdatasync'ed), and returns it as a segment
// whose paths become the regular ones once the files are renamed. On error
// the .cleaned files are removed.
result<std::shared_ptr<segment>> clean_group(const std::filesystem::path& dir,
                                             const std::vector<std::shared_ptr<segment>>& group,
                                             const clean_context& ctx, clean_stats& stats);

// Removes `<base>.{log,index,timeindex}.cleaned`.
void remove_cleaned_files(const std::filesystem::path& dir, int64_t base_offset);

}  // namespace geomirror::storage

// partition_log: idempotent producer state (producer_state.h) -- snapshots at
// segment rolls and at close, loading and log replay at open, expiry.
//
// Snapshot files are `<20-digit offset>.snapshot`: the whole state as of that
// offset (every batch below it), written with write_file_atomic (temp,
// fdatasync, rename, fsync dir) after the data below the offset was
// fdatasync'ed. Kept: those at or after the base offset of the second-newest
// segment (so the last two segments), never any beyond the log end. At open,
// the newest readable one at or below the log end is loaded and the batch
// headers after it are replayed; without one, the whole log is replayed.

#include "broker-core/storage/batch_scanner.h"
#include "broker-core/storage/errc.h"
#include "broker-core/storage/file_io.h"
#include "broker-core/storage/file_names.h"
#include "broker-core/storage/logger.h"
#include "broker-core/storage/partition_log.h"
#include "broker-core/storage/segment.h"

namespace geomirror::storage {
namespace {

constexpr size_t max_snapshot_bytes = size_t{256} << 20;

}  // namespace

void partition_log::write_producer_snapshot_locked() {
  const int64_t offset = log_end_offset_;  // written under append_mutex_ too
  std::vector<std::filesystem::path> unlink;
  if (snapshot_offsets_.count(offset) == 0) {
    const auto path = producer_snapshot_path(dir_, offset);
    if (auto r = write_file_atomic(path, producers_.encode_snapshot(offset)); !r) {
      // Not fatal: open() falls back to an older snapshot and a longer replay.
      storage_log().warn("{}: cannot write producer snapshot {}: {}", name(),
                         path.filename().string(), r.error().message());
      return;
    }
  }
  snapshot_written_locked(offset, unlink);
  remove_files_quietly(unlink);
}

void partition_log::snapshot_written_locked(int64_t offset, std::vector<std::filesystem::path>& unlink) {
  snapshot_offsets_.insert(offset);
  prune_producer_snapshots_locked(unlink);
}

void partition_log::prune_producer_snapshots_locked(std::vector<std::filesystem::path>& unlink) {
  const int64_t keep_from = segments_.size() >= 2 ? segments_[segments_.size() - 2]->base_offset()
                                                  : segments_.front()->base_offset();
  for (auto it = snapshot_offsets_.begin(); it != snapshot_offsets_.end();) {
    if (*it >= keep_from && *it <= log_end_offset_) {
      ++it;
      continue;
    }
    unlink.push_back(producer_snapshot_path(dir_, *it));
    it = snapshot_offsets_.erase(it);
  }
}

result<void> partition_log::load_producer_state(const std::set<int64_t>& snapshots) {
  std::lock_guard alock(append_mutex_);
  std::optional<int64_t> loaded;
  for (auto it = snapshots.rbegin(); it != snapshots.rend(); ++it) {
    const int64_t offset = *it;
    const auto path = producer_snapshot_path(dir_, offset);
    std::error_code ec;
    if (offset > log_end_offset_) {
      storage_log().info("{}: removing producer snapshot {} beyond the log end {}", name(),
                         path.filename().string(), log_end_offset_);
      std::filesystem::remove(path, ec);
      continue;
    }
    if (loaded) {
      snapshot_offsets_.insert(offset);
      continue;
    }
    auto data = read_file(path, max_snapshot_bytes);
    auto table = data ? producer_state_table::decode_snapshot(data.value(), offset)
                      : result<producer_state_table>(data.error());
    if (!table) {
      storage_log().warn("{}: producer snapshot {} is unusable ({}); removing it", name(),
                         path.filename().string(), table.error().message());
      std::filesystem::remove(path, ec);
      continue;
    }
    producers_ = std::move(table.value());
    snapshot_offsets_.insert(offset);
    loaded = offset;
  }

  // Replay the batch headers after the snapshot (no record decoding).
  const int64_t from = loaded ? *loaded : segments_.front()->base_offset();
  uint64_t replayed = 0;
  for (const auto& seg : segments_) {
    if (seg->empty() || seg->next_offset() <= from) continue;
    batch_scanner scan(seg->fd(), seg->position_for_offset(from), seg->size(), false);
    while (true) {
      auto b = scan.next();
      if (!b) {
        storage_log().error("{}: reading segment {} for the producer state failed: {}", name(),
                            segment_stem(seg->base_offset()), b.error().message());
        return errc::io_error;
      }
      if (!b.value()) break;
      const records::batch_header& h = b.value()->header;
      if (h.base_offset < from || !producer_state_table::tracks(h)) continue;
      producers_.on_replay(h, seg->last_modified_ms());
      ++replayed;
    }
    if (scan.stop_reason() != records::scan_stop::end) {
      // Unreadable batches stay where they are; their producers may be
      // forgotten (then accepted at any sequence, as unknown ones are).
      storage_log().warn("{}: producer state replay stopped early in segment {} at position {}",
                         name(), segment_stem(seg->base_offset()), scan.position());
    }
  }
  const int64_t start = log_start_offset_;
  producers_.truncate_head(start);
  std::vector<std::filesystem::path> unlink;
  prune_producer_snapshots_locked(unlink);
  remove_files_quietly(unlink);
  if (producers_.size() > 0 || replayed > 0) {
    storage_log().info("{}: producer state loaded: {} producer(s); snapshot {}, {} batch(es) "
                       "replayed from offset {}",
                       name(), producers_.size(),
                       loaded ? segment_stem(*loaded) : std::string("none"), replayed, from);
  }
  return outcome::success();
}

std::optional<producer_entry> partition_log::producer_state(int64_t producer_id) const {
  std::lock_guard alock(append_mutex_);
  const producer_entry* e = producers_.find(producer_id);
  return e ? std::optional<producer_entry>(*e) : std::nullopt;
}

size_t partition_log::producer_count() const {
  std::lock_guard alock(append_mutex_);
  return producers_.size();
}

size_t partition_log::remove_expired_producers(int64_t now_ms, int64_t expiration_ms) {
  std::lock_guard alock(append_mutex_);
  const size_t n = producers_.remove_expired(now_ms, expiration_ms);
  if (n > 0) {
    storage_log().info("{}: expired {} producer id(s) idle for at least {} ms", name(), n,
                       expiration_ms);
  }
  return n;
}

}  // namespace geomirror::storage

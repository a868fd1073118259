// partition_log: opening and recovering a partition directory (cleaner
// leftovers first, then segments, then the cleaner checkpoint and the
// producer state), and the persisted log start offset.

#include "broker-core/storage/errc.h"
#include "broker-core/storage/file_names.h"
#include "broker-core/storage/log_start_offset_file.h"
#include "broker-core/storage/logger.h"
#include "broker-core/storage/partition_log.h"
#include "broker-core/storage/partition_log_internal.h"
#include "broker-core/storage/segment.h"

#include <algorithm>
#include <set>

namespace geomirror::storage {
namespace {

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

result<std::shared_ptr<partition_log>> partition_log::open(std::filesystem::path data_dir,
                                                           std::string topic, int32_t partition,
                                                           log_config config, flusher& f) {
  if (!valid_topic_name(topic) || partition < 0) return errc::invalid_argument;
  auto dir = data_dir / partition_dir_name(topic, partition);
  std::shared_ptr<partition_log> log(
      new partition_log(std::move(dir), std::move(topic), partition, config, f));
  if (auto r = log->recover(); !r) {
    log->closed_ = true;  // nothing to flush; keep the destructor quiet
    return r.error();
  }
  return log;
}

result<void> partition_log::recover() {
  std::error_code ec;
  bool dir_changed = false;
  const bool fresh = !std::filesystem::exists(dir_, ec);
  if (fresh) {
    std::filesystem::create_directories(dir_, ec);
    if (ec) {
      storage_log().error("{}: cannot create {}: {}", name(), dir_.string(), ec.message());
      return errc::io_error;
    }
    if (auto r = sync_dir(dir_.parent_path()); !r) {
      storage_log().error("{}: fsync of {} failed: {}", name(), dir_.parent_path().string(),
                          r.error().message());
      return errc::io_error;
    }
  }

  if (!fresh) {
    auto leftovers = recover_cleaner_leftovers();
    if (!leftovers) return leftovers.error();
    dir_changed = leftovers.value();
  }

  // Classify what is in the directory.
  std::set<int64_t> logs;
  std::set<int64_t> snapshots;
  std::vector<std::pair<int64_t, std::filesystem::path>> index_files;
  int64_t aside_base = -1;  // highest base offset of segments set aside
  for (const auto& entry : std::filesystem::directory_iterator(dir_, ec)) {
    const std::string file = entry.path().filename().string();
    if (ends_with(file, temp_suffix)) {
      std::filesystem::remove(entry.path(), ec);
      storage_log().info("{}: removed leftover temp file {}", name(), file);
      dir_changed = true;
    } else if (auto parsed = parse_segment_file_name(file)) {
      if (parsed->second == segment_file_kind::log) {
        logs.insert(parsed->first);
      } else {
        index_files.emplace_back(parsed->first, entry.path());
      }
    } else if (auto snapshot = parse_producer_snapshot_file_name(file)) {
      snapshots.insert(*snapshot);
    } else if (ends_with(file, cannot_recover_suffix)) {
      if (auto p = parse_segment_file_name(file.substr(0, file.find(log_suffix) + log_suffix.size()))) {
        aside_base = std::max(aside_base, p->first);
      }
    } else if (file != log_start_offset_file && file != cleaner_checkpoint_file) {
      storage_log().warn("{}: ignoring unknown file {}", name(), file);
    }
  }
  if (ec) {
    storage_log().error("{}: cannot list {}: {}", name(), dir_.string(), ec.message());
    return errc::io_error;
  }
  for (const auto& [base, path] : index_files) {
    if (logs.count(base) == 0) {
      std::filesystem::remove(path, ec);
      storage_log().info("{}: removed stray index file {}", name(), path.filename().string());
      dir_changed = true;
    }
  }

  // Open and recover segments, oldest first; only the last one gets the full
  // CRC scan (older ones were sealed -- fdatasync'ed -- when they rolled).
  std::vector<std::shared_ptr<segment>> opened;
  for (int64_t base : logs) {
    auto seg = segment::open(dir_, base);
    if (!seg) {
      storage_log().error("{}: cannot open segment {}: {}; renaming it aside", name(),
                          segment_stem(base), seg.error().message());
      segment::rename_aside(dir_, base);
      aside_base = std::max(aside_base, base);
      dir_changed = true;
      continue;
    }
    opened.push_back(std::move(seg.value()));
  }
  const int32_t interval = config_.index_interval_bytes;
  std::vector<std::shared_ptr<segment>> good;
  for (size_t i = 0; i < opened.size(); ++i) {
    const auto& seg = opened[i];
    const bool last = i + 1 == opened.size();
    auto r = seg->recover(last, interval);
    if (!r) {
      storage_log().error("{}: cannot read segment {}: {}; renaming it aside", name(),
                          segment_stem(seg->base_offset()), r.error().message());
      segment::rename_aside(dir_, seg->base_offset());
      aside_base = std::max(aside_base, seg->base_offset());
      dir_changed = true;
      continue;
    }
    if (!good.empty() && seg->base_offset() < good.back()->next_offset()) {
      storage_log().error("{}: segment {} overlaps the previous one (ends at {}); renaming it aside",
                          name(), segment_stem(seg->base_offset()), good.back()->next_offset());
      segment::rename_aside(dir_, seg->base_offset());
      aside_base = std::max(aside_base, seg->base_offset());
      dir_changed = true;
      continue;
    }
    if (r.value().bytes_dropped > 0) {
      const std::string why =
          r.value().stop_error ? r.value().stop_error.message() : std::string("incomplete batch");
      if (last) {
        storage_log().warn(
            "{}: truncated {} bytes of torn or corrupt tail in segment {} at offset {} "
            "(position {}; {})",
            name(), r.value().bytes_dropped, segment_stem(seg->base_offset()),
            seg->next_offset(), seg->size(), why);
      } else {
        storage_log().error(
            "{}: segment {} was corrupt after offset {} (position {}; {}); {} bytes moved to "
            "a .cannotrecover file",
            name(), segment_stem(seg->base_offset()), seg->next_offset(), seg->size(), why,
            r.value().bytes_dropped);
      }
    } else if (r.value().indexes_rebuilt && !last) {
      storage_log().info("{}: rebuilt indexes of segment {}", name(),
                         segment_stem(seg->base_offset()));
    }
    good.push_back(seg);
  }

  const std::optional<int64_t> persisted_start = read_log_start_offset(dir_);
  if (good.empty()) {
    const int64_t base = std::max<int64_t>({0, persisted_start.value_or(0), aside_base});
    auto seg = segment::create(dir_, base);
    if (!seg) {
      storage_log().error("{}: cannot create segment {}: {}", name(), segment_stem(base),
                          seg.error().message());
      return errc::io_error;
    }
    good.push_back(std::move(seg.value()));
  } else if (auto r = good.back()->reopen_for_append(); !r) {
    storage_log().error("{}: cannot reopen segment {} for appends: {}", name(),
                        segment_stem(good.back()->base_offset()), r.error().message());
    return errc::io_error;
  }

  const auto& active = good.back();
  if (auto r = active->sync(); !r) {
    storage_log().error("{}: fdatasync of the active segment failed: {}", name(),
                        r.error().message());
    return errc::io_error;
  }
  if (dir_changed) {
    if (auto r = sync_dir(dir_); !r) {
      storage_log().error("{}: fsync of {} failed: {}", name(), dir_.string(), r.error().message());
      return errc::io_error;
    }
  }

  {
    std::lock_guard lock(mutex_);
    segments_ = std::move(good);
    log_end_offset_ = active->next_offset();
    log_start_offset_ = segments_.front()->base_offset();
    if (persisted_start && *persisted_start > log_start_offset_) {
      if (*persisted_start > log_end_offset_) {
        storage_log().warn("{}: persisted log start offset {} is past the log end {}; using the end",
                           name(), *persisted_start, log_end_offset_);
      }
      log_start_offset_ = std::min(*persisted_start, log_end_offset_);
    }
    durable_offset_ = log_end_offset_;
    high_watermark_ = log_end_offset_;
    hw_segment_base_ = active->base_offset();
    hw_position_ = active->size();
    uint64_t bytes = 0;
    for (const auto& s : segments_) bytes += s->size();
    if (fresh) {
      storage_log().info("{}: created new log in {}", name(), dir_.string());
    } else {
      storage_log().info("{}: recovered {} segment(s), {} bytes, log start offset {}, log end offset {}",
                         name(), segments_.size(), bytes, log_start_offset_, log_end_offset_);
    }
  }
  cleaner_checkpoint_ = read_cleaner_checkpoint(dir_).value_or(0);
  return load_producer_state(snapshots);
}

result<bool> partition_log::recover_cleaner_leftovers() {
  std::error_code ec;
  bool changed = false;
  std::vector<std::pair<int64_t, int64_t>> swaps;
  for (const auto& entry : std::filesystem::directory_iterator(dir_, ec)) {
    const std::string file = entry.path().filename().string();
    if (ends_with(file, cleaned_suffix)) {
      std::error_code rm;
      std::filesystem::remove(entry.path(), rm);
      if (rm) {
        storage_log().error("{}: cannot remove unfinished cleaner output {}: {}", name(), file,
                            rm.message());
        return errc::io_error;
      }
      storage_log().info("{}: removed unfinished cleaner output {}", name(), file);
      changed = true;
    } else if (auto swap = parse_segment_swap_file_name(file)) {
      swaps.push_back(*swap);
    }
  }
  if (ec) {
    storage_log().error("{}: cannot list {}: {}", name(), dir_.string(), ec.message());
    return errc::io_error;
  }
  std::sort(swaps.begin(), swaps.end());
  for (const auto& [base, end] : swaps) {
    // The cleaned segment replaces every segment based in [base, end): delete
    // what is left of them (index files of `base` included; they are rebuilt).
    std::vector<std::filesystem::path> replaced;
    for (const auto& entry : std::filesystem::directory_iterator(dir_, ec)) {
      auto parsed = parse_segment_file_name(entry.path().filename().string());
      if (parsed && parsed->first >= base && parsed->first < end) replaced.push_back(entry.path());
    }
    for (const auto& p : replaced) {
      if (!ec) std::filesystem::remove(p, ec);
    }
    if (!ec) std::filesystem::rename(segment_swap_path(dir_, base, end), segment_log_path(dir_, base), ec);
    if (ec) {
      storage_log().error("{}: cannot complete the cleaner swap of segment {}: {}", name(),
                          segment_stem(base), ec.message());
      return errc::io_error;
    }
    storage_log().warn("{}: completed an interrupted cleaner swap: segment {} replaces the "
                       "segments in [{}, {}) ({} file(s) removed)",
                       name(), segment_stem(base), base, end, replaced.size());
    changed = true;
  }
  return changed;
}

result<void> partition_log::advance_log_start_offset(int64_t offset) {
  // The file is written without the append lock, so appends go on; one
  // writer at a time keeps the file at the largest offset acknowledged.
  std::lock_guard file_lock(start_file_mutex_);
  {
    std::lock_guard lock(mutex_);
    if (closed_) return errc::closed;
    if (offset > high_watermark_ || offset < 0) return errc::offset_out_of_range;
    if (offset <= log_start_offset_) return outcome::success();
  }
  if (auto r = write_log_start_offset(dir_, offset); !r) {
    storage_log().error("{}: cannot persist log start offset {}: {}", name(), offset,
                        r.error().message());
    return errc::io_error;
  }
  std::lock_guard alock(append_mutex_);
  std::lock_guard lock(mutex_);
  log_start_offset_ = std::max(log_start_offset_, offset);
  producers_.truncate_head(log_start_offset_);
  storage_log().info("{}: log start offset advanced to {}", name(), log_start_offset_);
  return outcome::success();
}

}  // namespace geomirror::storage

#include "broker-core/storage/segment.h"

#include "broker-core/storage/batch_scanner.h"
#include "broker-core/storage/file_names.h"
#include "broker-core/storage/logger.h"

#include <fcntl.h>

#include <algorithm>
#include <system_error>

namespace geomirror::storage {
namespace {

constexpr size_t max_index_file_bytes = size_t{256} << 20;
constexpr size_t recovery_chunk_bytes = size_t{1} << 20;

}  // namespace

segment::segment(std::filesystem::path dir, int64_t base_offset, file_handle log)
    : dir_(std::move(dir)), base_offset_(base_offset), log_(std::move(log)),
      next_offset_(base_offset) {}

segment::~segment() = default;

result<std::shared_ptr<segment>> segment::create(const std::filesystem::path& dir,
                                                 int64_t base_offset, bool sync_directory) {
  auto log = open_file(segment_log_path(dir, base_offset), O_RDWR | O_CREAT | O_EXCL);
  if (!log) return log.error();
  auto idx = open_file(segment_index_path(dir, base_offset), O_RDWR | O_CREAT | O_TRUNC);
  if (!idx) return idx.error();
  auto tidx = open_file(segment_time_index_path(dir, base_offset), O_RDWR | O_CREAT | O_TRUNC);
  if (!tidx) return tidx.error();
  if (sync_directory) {
    if (auto r = sync_dir(dir); !r) return r.error();
  }
  std::shared_ptr<segment> seg(new segment(dir, base_offset, std::move(log.value())));
  seg->index_file_ = std::move(idx.value());
  seg->time_index_file_ = std::move(tidx.value());
  return seg;
}

result<std::shared_ptr<segment>> segment::create_cleaned(const std::filesystem::path& dir,
                                                         int64_t base_offset) {
  const int flags = O_RDWR | O_CREAT | O_TRUNC;
  auto log = open_file(cleaned_path(segment_log_path(dir, base_offset)), flags);
  if (!log) return log.error();
  auto idx = open_file(cleaned_path(segment_index_path(dir, base_offset)), flags);
  if (!idx) return idx.error();
  auto tidx = open_file(cleaned_path(segment_time_index_path(dir, base_offset)), flags);
  if (!tidx) return tidx.error();
  std::shared_ptr<segment> seg(new segment(dir, base_offset, std::move(log.value())));
  seg->index_file_ = std::move(idx.value());
  seg->time_index_file_ = std::move(tidx.value());
  return seg;
}

result<std::shared_ptr<segment>> segment::open(const std::filesystem::path& dir,
                                               int64_t base_offset) {
  auto log = open_file(segment_log_path(dir, base_offset), O_RDWR);
  if (!log) return log.error();
  std::shared_ptr<segment> seg(new segment(dir, base_offset, std::move(log.value())));
  if (auto m = modified_ms(seg->fd())) seg->last_modified_ms_ = m.value();
  return seg;
}

result<segment::recovery_outcome> segment::recover(bool full_scan, int32_t index_interval_bytes) {
  auto size = file_size(fd());
  if (!size) return size.error();
  if (!full_scan && try_load_indexes(size.value())) {
    size_ = size.value();
    sealed_ = true;
    return recovery_outcome{};
  }
  return rebuild(size.value(), !full_scan, index_interval_bytes);
}

bool segment::try_load_indexes(uint64_t file_size) {
  auto idx_bytes = read_file(segment_index_path(dir_, base_offset_), max_index_file_bytes);
  auto tidx_bytes = read_file(segment_time_index_path(dir_, base_offset_), max_index_file_bytes);
  if (!idx_bytes || !tidx_bytes) return false;
  auto idx = offset_index::decode(idx_bytes.value(), file_size);
  if (!idx) return false;
  // Walk from the last indexed batch to the end of the file: the indexed
  // position must start a batch with the indexed offset, and the walk must
  // end exactly at the end of the file.
  const uint64_t from = idx->empty() ? 0 : static_cast<uint64_t>(idx->entries().back().position);
  batch_scanner scan(fd(), from, file_size, false);
  scan.set_min_base_offset(base_offset_);
  int64_t next = base_offset_;
  bool first = true;
  while (true) {
    auto b = scan.next();
    if (!b) return false;
    if (!b.value()) break;
    const auto& h = b.value()->header;
    if (first && !idx->empty() && h.base_offset != base_offset_ + idx->entries().back().relative_offset) {
      return false;
    }
    first = false;
    next = h.next_offset();
  }
  if (scan.stop_reason() != records::scan_stop::end) return false;
  if (next - base_offset_ > INT32_MAX) return false;
  auto tidx = time_index::decode(tidx_bytes.value(), std::max<int64_t>(0, next - 1 - base_offset_));
  if (!tidx) return false;
  if (tidx->empty() && file_size > 0) return false;  // max timestamp unknown: rebuild
  index_ = std::move(*idx);
  time_index_ = std::move(*tidx);
  index_persisted_ = index_.size();
  time_index_persisted_ = time_index_.size();
  next_offset_ = next;
  if (auto last = time_index_.last()) {
    max_timestamp_ = last->timestamp;
    offset_of_max_timestamp_ = base_offset_ + last->relative_offset;
  }
  return true;
}

result<segment::recovery_outcome> segment::rebuild(uint64_t file_size, bool older_segment,
                                                   int32_t index_interval_bytes) {
  index_.clear();
  time_index_.clear();
  size_ = 0;
  next_offset_ = base_offset_;
  max_timestamp_ = INT64_MIN;
  offset_of_max_timestamp_ = -1;
  bytes_since_index_entry_ = 0;
  rolling_base_ms_ = -1;
  batch_scanner scan(fd(), 0, file_size, true, recovery_chunk_bytes);
  scan.set_min_base_offset(base_offset_);
  while (true) {
    auto b = scan.next();
    if (!b) return b.error();
    if (!b.value()) break;
    const auto& h = b.value()->header;
    if (h.next_offset() - base_offset_ > INT32_MAX) break;  // cannot be ours
    if (rolling_base_ms_ < 0) rolling_base_ms_ = h.max_timestamp >= 0 ? h.max_timestamp : -1;
    on_appended(h, b.value()->position, -1, index_interval_bytes);
  }
  recovery_outcome out;
  out.indexes_rebuilt = true;
  out.stop_error = scan.stop_error();
  const uint64_t valid_end = scan.position();
  if (valid_end < file_size) {
    out.bytes_dropped = file_size - valid_end;
    if (older_segment) {
      // Not a torn write (older segments were synced when rolled): keep the
      // bytes we cannot read next to the log instead of destroying them.
      auto aside = dir_ / fmt::format("{}{}.{}{}", segment_stem(base_offset_), log_suffix,
                                      valid_end, cannot_recover_suffix);
      records::bytes tail(out.bytes_dropped);
      auto n = pread_full(fd(), tail, valid_end);
      if (!n) return n.error();
      if (auto w = write_file_atomic(aside, tail); !w) return w.error();
    }
    if (auto t = truncate_file(fd(), valid_end); !t) return t.error();
    if (auto s = sync_data(fd()); !s) return s.error();
  }
  size_ = valid_end;
  if (older_segment) {
    finish_time_index();
    sealed_ = true;
  }
  if (auto r = rewrite_index_files(); !r) return r.error();
  if (older_segment) {
    index_file_.reset();
    time_index_file_.reset();
  }
  return out;
}

result<void> segment::rewrite_index_files() {
  auto idx = open_file(segment_index_path(dir_, base_offset_), O_RDWR | O_CREAT | O_TRUNC);
  if (!idx) return idx.error();
  auto tidx = open_file(segment_time_index_path(dir_, base_offset_), O_RDWR | O_CREAT | O_TRUNC);
  if (!tidx) return tidx.error();
  if (auto r = pwrite_all(idx.value().get(), index_.encode(), 0); !r) return r.error();
  if (auto r = pwrite_all(tidx.value().get(), time_index_.encode(), 0); !r) return r.error();
  if (auto r = sync_data(idx.value().get()); !r) return r.error();
  if (auto r = sync_data(tidx.value().get()); !r) return r.error();
  index_file_ = std::move(idx.value());
  time_index_file_ = std::move(tidx.value());
  index_persisted_ = index_.size();
  time_index_persisted_ = time_index_.size();
  return outcome::success();
}

uint64_t segment::position_for_offset(int64_t offset) const {
  if (offset <= base_offset_) return 0;
  const int64_t rel = std::min<int64_t>(offset - base_offset_, INT32_MAX);
  auto e = index_.floor(static_cast<int32_t>(rel));
  return e ? static_cast<uint64_t>(e->position) : 0;
}

uint64_t segment::batch_position_at_or_before(uint64_t position) const {
  auto e = index_.floor_position(position);
  return e ? static_cast<uint64_t>(e->position) : 0;
}

uint64_t segment::position_for_timestamp(int64_t timestamp) const {
  auto e = time_index_.last_below(timestamp);
  if (!e) return 0;
  return position_for_offset(base_offset_ + e->relative_offset);
}

result<void> segment::write(uint64_t position, records::bytes_view batch) {
  return pwrite_all(fd(), batch, position);
}

void segment::on_appended(const records::batch_header& h, uint64_t position, int64_t now_ms,
                          int32_t index_interval_bytes) {
  if (h.max_timestamp > max_timestamp_) {
    max_timestamp_ = h.max_timestamp;
    offset_of_max_timestamp_ = h.base_offset;
  }
  if (position > 0 &&
      bytes_since_index_entry_ >= static_cast<uint64_t>(std::max(index_interval_bytes, 0))) {
    index_.append(relative(h.base_offset), static_cast<int32_t>(position));
    if (max_timestamp_ >= 0) {
      time_index_.maybe_append(max_timestamp_, relative(offset_of_max_timestamp_));
    }
    bytes_since_index_entry_ = 0;
  }
  bytes_since_index_entry_ += h.size_bytes();
  size_ = position + h.size_bytes();
  next_offset_ = h.next_offset();
  if (now_ms >= 0) {
    if (rolling_base_ms_ < 0) rolling_base_ms_ = now_ms;
    last_modified_ms_ = now_ms;
  }
}

result<void> segment::flush_indexes(bool force) {
  const size_t pending = (index_.size() - index_persisted_) + (time_index_.size() - time_index_persisted_);
  if (pending == 0 || (!force && pending < index_flush_entries)) return outcome::success();
  if (!index_file_ || !time_index_file_) {
    return std::error_code(EBADF, std::system_category());
  }
  if (index_.size() > index_persisted_) {
    auto r = pwrite_all(index_file_.get(), index_.encode(index_persisted_),
                        index_persisted_ * offset_index::entry_size);
    if (!r) return r.error();
    index_persisted_ = index_.size();
  }
  if (time_index_.size() > time_index_persisted_) {
    auto r = pwrite_all(time_index_file_.get(), time_index_.encode(time_index_persisted_),
                        time_index_persisted_ * time_index::entry_size);
    if (!r) return r.error();
    time_index_persisted_ = time_index_.size();
  }
  return outcome::success();
}

result<void> segment::sync() { return sync_data(fd()); }

void segment::finish_time_index() {
  if (max_timestamp_ >= 0) {
    time_index_.maybe_append(max_timestamp_, relative(offset_of_max_timestamp_));
  }
}

result<void> segment::seal() {
  if (sealed_) return sync();
  if (auto r = flush_indexes(true); !r) return r.error();
  if (auto r = sync(); !r) return r.error();
  if (index_file_) {
    if (auto r = sync_data(index_file_.get()); !r) return r.error();
  }
  if (time_index_file_) {
    if (auto r = sync_data(time_index_file_.get()); !r) return r.error();
  }
  index_file_.reset();
  time_index_file_.reset();
  sealed_ = true;
  return outcome::success();
}

result<void> segment::reopen_for_append() {
  if (!sealed_) return outcome::success();
  if (auto r = rewrite_index_files(); !r) return r.error();
  sealed_ = false;
  bytes_since_index_entry_ = 0;
  return outcome::success();
}

result<void> segment::set_last_modified(int64_t ms) {
  if (auto r = set_modified_ms(fd(), ms); !r) return r.error();
  last_modified_ms_ = ms;
  return outcome::success();
}

void segment::remove_files() {
  std::error_code ec;
  std::filesystem::remove(segment_log_path(dir_, base_offset_), ec);
  std::filesystem::remove(segment_index_path(dir_, base_offset_), ec);
  std::filesystem::remove(segment_time_index_path(dir_, base_offset_), ec);
}

void segment::rename_aside(const std::filesystem::path& dir, int64_t base_offset) {
  for (const auto& p : {segment_log_path(dir, base_offset), segment_index_path(dir, base_offset),
                        segment_time_index_path(dir, base_offset)}) {
    std::error_code ec;
    if (!std::filesystem::exists(p, ec)) continue;
    auto to = p;
    to += cannot_recover_suffix;
    std::filesystem::rename(p, to, ec);
    if (ec) {
      storage_log().error("cannot rename {} aside: {}", p.string(), ec.message());
    }
  }
}

}  // namespace geomirror::storage

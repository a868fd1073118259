#include "broker-core/storage/log_cleaner.h"

#include "broker-core/records/batch_filter.h"
#include "broker-core/records/record.h"
#include "broker-core/records/record_batch.h"
#include "broker-core/storage/errc.h"
#include "broker-core/storage/file_io.h"
#include "broker-core/storage/file_names.h"
#include "broker-core/storage/logger.h"
#include "broker-core/storage/segment.h"

#include <algorithm>
#include <cstring>
#include <limits>

namespace geomirror::storage {
namespace {

// Estimated bytes per map entry besides the key: the std::string, the
// offset, the hash node and its bucket.
constexpr size_t map_entry_overhead = 72;
constexpr size_t read_chunk_bytes = size_t{1} << 20;
constexpr size_t write_chunk_bytes = size_t{1} << 20;

// Reads the whole batches of a closed segment in large chunks. A view
// returned by next() is valid until the following call.
class batch_reader {
 public:
  batch_reader(const segment& seg, uint64_t from)
      : fd_(seg.fd()), end_(seg.size()), buf_start_(from) {}

  // The next batch, nullopt at the end of the segment; errc::corrupt when the
  // bytes do not hold whole batches (sealed segments always do).
  result<std::optional<records::batch_view>> next() {
    const uint64_t pos = buf_start_ + off_;
    if (pos >= end_) return std::optional<records::batch_view>{};
    if (auto r = fill(records::batch_header_size); !r) return r.error();
    auto h = records::parse_batch_header({buf_.data() + off_, len_ - off_});
    if (!h) return errc::corrupt;
    const size_t size = h.value().size_bytes();
    if (h.value().last_offset_delta < 0) return errc::corrupt;
    if (auto r = fill(size); !r) return r.error();
    records::batch_view v{static_cast<size_t>(pos), h.value(), {buf_.data() + off_, size}};
    off_ += size;
    return std::optional<records::batch_view>(v);
  }

 private:
  // Makes `need` bytes from the current position available in the buffer.
  result<void> fill(size_t need) {
    if (len_ - off_ >= need) return outcome::success();
    const uint64_t pos = buf_start_ + off_;
    if (end_ - pos < need) return errc::corrupt;
    if (len_ > off_) std::memmove(buf_.data(), buf_.data() + off_, len_ - off_);
    len_ -= off_;
    off_ = 0;
    buf_start_ = pos;
    if (buf_.size() < std::max(need, read_chunk_bytes)) buf_.resize(std::max(need, read_chunk_bytes));
    const auto want = static_cast<size_t>(
        std::min<uint64_t>(buf_.size() - len_, end_ - (buf_start_ + len_)));
    auto n = pread_full(fd_, std::span<uint8_t>(buf_.data() + len_, want), buf_start_ + len_);
    if (!n) return n.error();
    len_ += n.value();
    if (len_ < need) return errc::corrupt;  // the file is shorter than the segment says
    return outcome::success();
  }

  int fd_;
  uint64_t end_;
  uint64_t buf_start_;  // file position of buf_[0]
  records::bytes buf_;
  size_t off_ = 0;  // next batch starts at buf_[off_]
  size_t len_ = 0;  // valid bytes in buf_
};

// Where closed[i] ends: the next segment's base offset.
int64_t end_of(const std::vector<std::shared_ptr<segment>>& closed, size_t i, int64_t active_base) {
  return i + 1 < closed.size() ? closed[i + 1]->base_offset() : active_base;
}

// maxTimestamp of the segment's first batch (Kafka's getFirstBatchTimestamp);
// nullopt if it cannot be read or the segment is empty.
std::optional<int64_t> first_batch_timestamp(const segment& seg) {
  if (seg.size() < records::batch_header_size) return std::nullopt;
  uint8_t head[records::batch_header_size];
  auto n = pread_full(seg.fd(), head, 0);
  if (!n || n.value() != sizeof head) return std::nullopt;
  auto h = records::parse_batch_header(head);
  if (!h) return std::nullopt;
  return h.value().max_timestamp;
}

}  // namespace

void key_offset_map::put(records::bytes_view key, int64_t offset) {
  const std::string_view k = records::as_string_view(key);
  if (auto it = map_.find(k); it != map_.end()) {
    it->second = offset;
    return;
  }
  map_.emplace(std::string(k), offset);
  memory_ += key.size() + map_entry_overhead;
}

std::optional<int64_t> key_offset_map::get(records::bytes_view key) const {
  auto it = map_.find(records::as_string_view(key));
  if (it == map_.end()) return std::nullopt;
  return it->second;
}

cleanable_estimate estimate_cleanable(const std::vector<std::shared_ptr<segment>>& closed,
                                      int64_t active_base, int64_t log_start_offset,
                                      int64_t checkpoint, int64_t now_ms, const log_config& config) {
  cleanable_estimate e;
  // A checkpoint below the log start (retention) or past the end (a lost
  // tail) restarts from the log start, as Kafka's cleanableOffsets does.
  e.first_dirty_offset =
      checkpoint < log_start_offset || checkpoint > active_base ? log_start_offset : checkpoint;
  e.first_uncleanable_offset = active_base;
  std::optional<size_t> first_dirty_segment;
  for (size_t i = 0; i < closed.size(); ++i) {
    const segment& seg = *closed[i];
    const int64_t end = end_of(closed, i, active_base);
    if (end <= log_start_offset || end <= e.first_dirty_offset) continue;
    if (!first_dirty_segment) first_dirty_segment = i;
    if (config.min_compaction_lag_ms > 0 &&
        seg.retention_timestamp() > now_ms - config.min_compaction_lag_ms) {
      e.first_uncleanable_offset = std::max(seg.base_offset(), e.first_dirty_offset);
      break;
    }
  }
  for (size_t i = 0; i < closed.size(); ++i) {
    const segment& seg = *closed[i];
    const int64_t end = end_of(closed, i, active_base);
    if (end <= log_start_offset) continue;  // waiting for retention to delete it
    // A segment holding the checkpoint counts on both sides, as in Kafka.
    if (seg.base_offset() < e.first_dirty_offset) e.clean_bytes += seg.size();
    if (end > e.first_dirty_offset && seg.base_offset() < e.first_uncleanable_offset) {
      e.dirty_bytes += seg.size();
    }
  }
  if (config.max_compaction_lag_ms != std::numeric_limits<int64_t>::max() && first_dirty_segment &&
      e.dirty_bytes > 0) {
    const auto ts = first_batch_timestamp(*closed[*first_dirty_segment]);
    e.max_lag_exceeded = ts && *ts > 0 && *ts < now_ms - std::max<int64_t>(config.max_compaction_lag_ms, 0);
  }
  e.due = e.dirty_bytes > 0 &&
          (e.dirty_ratio() >= config.min_cleanable_dirty_ratio || e.max_lag_exceeded);
  return e;
}

result<offset_map_result> build_offset_map(const std::vector<std::shared_ptr<segment>>& closed,
                                           int64_t active_base, int64_t from, int64_t to,
                                           key_offset_map& map, const std::atomic<bool>& abort) {
  offset_map_result out;
  out.end_offset = from;
  for (size_t i = 0; i < closed.size(); ++i) {
    const segment& seg = *closed[i];
    const int64_t end = end_of(closed, i, active_base);
    if (end <= from) continue;
    if (seg.base_offset() >= to) break;
    batch_reader reader(seg, seg.position_for_offset(from));
    while (true) {
      if (abort.load(std::memory_order_relaxed)) return errc::closed;
      auto b = reader.next();
      if (!b) return b.error();
      if (!b.value()) break;
      const records::batch_header& h = b.value()->header;
      if (h.last_offset() < from) continue;
      if (map.full() && out.records > 0) {
        out.end_offset = h.base_offset;  // the next pass goes on from here
        return out;
      }
      if (!h.is_control()) {
        auto walked = records::for_each_record(b.value()->data, [&](const records::record_view& r) {
          if (r.key && r.offset >= from) {
            map.put(*r.key, r.offset);
            ++out.records;
          }
          return true;
        });
        if (!walked) ++out.undecodable_batches;
      }
      out.end_offset = h.next_offset();
    }
    out.end_offset = std::min(end, to);
  }
  return out;
}

std::vector<std::vector<std::shared_ptr<segment>>> group_segments_by_size(
    const std::vector<std::shared_ptr<segment>>& segments, const std::vector<int64_t>& ends,
    int64_t max_bytes) {
  const auto limit = static_cast<uint64_t>(std::clamp<int64_t>(max_bytes, 1, INT32_MAX));
  std::vector<std::vector<std::shared_ptr<segment>>> groups;
  size_t i = 0;
  while (i < segments.size()) {
    std::vector<std::shared_ptr<segment>> group{segments[i]};
    uint64_t bytes = segments[i]->size();
    const int64_t base = segments[i]->base_offset();
    size_t j = i + 1;
    // Offsets must stay within the relative (int32) index of the new segment.
    while (j < segments.size() && bytes + segments[j]->size() <= limit &&
           ends[j] - 1 - base <= INT32_MAX) {
      bytes += segments[j]->size();
      group.push_back(segments[j]);
      ++j;
    }
    groups.push_back(std::move(group));
    i = j;
  }
  return groups;
}

void remove_cleaned_files(const std::filesystem::path& dir, int64_t base_offset) {
  std::error_code ec;
  std::filesystem::remove(cleaned_path(segment_log_path(dir, base_offset)), ec);
  std::filesystem::remove(cleaned_path(segment_index_path(dir, base_offset)), ec);
  std::filesystem::remove(cleaned_path(segment_time_index_path(dir, base_offset)), ec);
}

result<std::shared_ptr<segment>> clean_group(const std::filesystem::path& dir,
                                             const std::vector<std::shared_ptr<segment>>& group,
                                             const clean_context& ctx, clean_stats& stats) {
  const int64_t base = group.front()->base_offset();
  auto created = segment::create_cleaned(dir, base);
  if (!created) {
    remove_cleaned_files(dir, base);
    return created.error();
  }
  std::shared_ptr<segment> out = std::move(created.value());

  records::bytes pending;  // batches not yet written, starting at file position `written`
  uint64_t written = 0;
  uint64_t position = 0;  // where the next batch goes
  const auto flush = [&]() -> result<void> {
    if (pending.empty()) return outcome::success();
    if (auto r = out->write(written, pending); !r) return r.error();
    written += pending.size();
    pending.clear();
    return outcome::success();
  };
  const auto emit = [&](records::bytes_view data, const records::batch_header& h) -> result<void> {
    pending.insert(pending.end(), data.begin(), data.end());
    out->on_appended(h, position, -1, ctx.index_interval_bytes);
    position += data.size();
    return pending.size() >= write_chunk_bytes ? flush() : outcome::success();
  };
  const records::record_filter keep = [&](const records::batch_header& h,
                                          const records::record_view& r) {
    if (!r.key) return true;  // should not exist in a compacted topic; keep what we cannot judge
    if (auto latest = ctx.map.get(*r.key); latest && r.offset < *latest) return false;
    // A tombstone goes once its batch's delete horizon has passed (KIP-534).
    if (!r.value) {
      if (h.has_delete_horizon() && ctx.now_ms >= h.base_timestamp) return false;
      const int64_t horizon = h.has_delete_horizon() ? h.base_timestamp : ctx.delete_horizon_ms;
      stats.latest_delete_horizon_ms = std::max(stats.latest_delete_horizon_ms, horizon);
    }
    return true;
  };

  const auto run = [&]() -> result<void> {
    for (const auto& old : group) {
      stats.bytes_before += old->size();
      batch_reader reader(*old, 0);
      while (true) {
        if (ctx.abort.load(std::memory_order_relaxed)) return errc::closed;
        auto b = reader.next();
        if (!b) return b.error();
        if (!b.value()) break;
        const records::batch_view& batch = *b.value();
        const records::batch_header& h = batch.header;
        if (h.base_offset >= ctx.map_end || h.is_control()) {
          if (auto r = emit(batch.data, h); !r) return r;
          continue;
        }
        auto f = records::filter_batch(batch.data, keep, ctx.delete_horizon_ms);
        if (!f) {
          // Storage never deletes what it cannot read: keep the batch whole.
          ++stats.undecodable_batches;
          if (auto r = emit(batch.data, h); !r) return r;
          continue;
        }
        stats.records_removed += static_cast<uint64_t>(f.value().records_removed);
        switch (f.value().what) {
          case records::filtered_batch::outcome::unchanged:
            if (auto r = emit(batch.data, h); !r) return r;
            break;
          case records::filtered_batch::outcome::rewritten: {
            const records::bytes& data = f.value().data;
            auto nh = records::parse_batch_header(data);
            if (!nh) return nh.error();
            if (auto r = emit(data, nh.value()); !r) return r;
            break;
          }
          case records::filtered_batch::outcome::emptied: {
            auto last = h.producer_id >= 0 ? ctx.producer_last_offsets.find(h.producer_id)
                                           : ctx.producer_last_offsets.end();
            if (last == ctx.producer_last_offsets.end() || last->second != h.last_offset()) {
              ++stats.batches_removed;
              break;
            }
            // The producer's last batch: keep its header for the idempotence state.
            if (h.records_count == 0) {
              if (auto r = emit(batch.data, h); !r) return r;
              break;
            }
            ++stats.batches_emptied;
            const records::bytes empty = records::make_empty_batch(h);
            auto eh = records::parse_batch_header(empty);
            if (!eh) return eh.error();
            if (auto r = emit(empty, eh.value()); !r) return r;
            break;
          }
        }
      }
    }
    if (auto r = flush(); !r) return r;
    out->finish_time_index();
    if (auto r = out->set_last_modified(group.back()->last_modified_ms()); !r) {
      storage_log().warn("{}: cannot set the modification time of cleaned segment {}: {}",
                         dir.filename().string(), segment_stem(base), r.error().message());
    }
    return out->seal();
  };
  if (auto r = run(); !r) {
    remove_cleaned_files(dir, base);
    return r.error();
  }
  stats.bytes_after += out->size();
  return out;
}

}  // namespace geomirror::storage

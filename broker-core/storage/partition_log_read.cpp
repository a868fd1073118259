// partition_log: the read side -- Fetch reads and ListOffsets lookups. Each
// call snapshots what it needs (segments, byte limits, index positions)
// under the state lock, then reads with pread outside every lock.

#include "broker-core/records/errc.h"
#include "broker-core/records/record.h"
#include "broker-core/storage/batch_scanner.h"
#include "broker-core/storage/errc.h"
#include "broker-core/storage/file_io.h"
#include "broker-core/storage/logger.h"
#include "broker-core/storage/page_cache.h"
#include "broker-core/storage/partition_log.h"
#include "broker-core/storage/partition_log_internal.h"
#include "broker-core/storage/segment.h"

#include <algorithm>

namespace geomirror::storage {
namespace {

// Header walks read this much at a time: enough for a few small batches,
// little waste before a large one.
constexpr size_t header_walk_chunk = 4 * 1024;

struct piece {
  std::shared_ptr<segment> seg;
  uint64_t start = 0;  // where to start walking batch headers
  uint64_t limit = 0;  // readable bytes end here (high watermark)
};

std::error_code io_failure(const std::string& who, std::error_code ec) {
  storage_log().error("{}: read failed: {}", who, ec.message());
  return errc::io_error;
}

// Reads one whole batch.
result<records::bytes> read_batch(const segment& seg, const scanned_batch& b) {
  records::bytes data(b.header.size_bytes());
  auto n = pread_full(seg.fd(), data, b.position);
  if (!n) return n.error();
  if (n.value() != data.size()) return std::error_code(EIO, std::system_category());
  return data;
}

}  // namespace

uint64_t partition_log::read_limit_locked(const segment& seg) const {
  if (seg.base_offset() < hw_segment_base_) return seg.size();
  if (seg.base_offset() == hw_segment_base_) return std::min(hw_position_, seg.size());
  return 0;
}

int read_slice::fd() const { return seg->fd(); }

uint64_t read_result::size() const {
  uint64_t n = 0;
  for (const auto& s : slices) n += s.length;
  return n;
}

result<records::bytes> read_bytes(const read_result& read) {
  records::bytes out(read.size());
  size_t at = 0;
  for (const auto& s : read.slices) {
    auto n = pread_full(s.fd(), std::span<uint8_t>(out.data() + at, s.length), s.position);
    if (!n) return io_failure("read", n.error());
    if (n.value() != s.length) return errc::io_error;
    at += s.length;
  }
  return out;
}

namespace {

// A scanner over [from, to) of `seg` that honours `may_block`.
batch_scanner scanner_for(const segment& seg, uint64_t from, uint64_t to, bool may_block) {
  batch_scanner scan(seg.fd(), from, to, false, header_walk_chunk);
  if (!may_block) scan.set_no_wait();
  return scan;
}

bool would_block(const std::error_code& ec) { return ec == std::errc::operation_would_block; }

}  // namespace

// The end of the last whole batch in [from, end) of `seg`, walking headers
// from the index entry nearest below `end` (`from` is a batch boundary).
result<uint64_t> partition_log::whole_batches_end(const std::shared_ptr<segment>& seg, uint64_t from, uint64_t end,
                                                  bool may_block) const {
  uint64_t walk_from;
  {
    std::lock_guard lock(mutex_);
    walk_from = std::max(from, seg->batch_position_at_or_before(end));
  }
  auto scan = scanner_for(*seg, walk_from, end, may_block);
  while (true) {
    auto b = scan.next();
    if (!b) return b.error();
    if (!b.value()) break;
  }
  return scan.position();
}

result<read_result> partition_log::read(int64_t fetch_offset, int32_t max_bytes, bool min_one_batch,
                                        bool may_block) const {
  read_result res;
  std::vector<piece> pieces;
  const uint64_t budget = static_cast<uint64_t>(std::max(max_bytes, 0));
  {
    std::lock_guard lock(mutex_);
    if (closed_) return errc::closed;
    res.high_watermark = high_watermark_;
    res.log_start_offset = log_start_offset_;
    res.log_end_offset = log_end_offset_;
    if (fetch_offset < log_start_offset_ || fetch_offset > log_end_offset_) {
      return errc::offset_out_of_range;
    }
    if (fetch_offset >= high_watermark_) return res;
    auto it = std::upper_bound(
        segments_.begin(), segments_.end(), fetch_offset,
        [](int64_t o, const std::shared_ptr<segment>& s) { return o < s->base_offset(); });
    if (it != segments_.begin()) --it;
    uint64_t later_bytes = 0;  // bytes available in segments after the first
    for (; it != segments_.end(); ++it) {
      if ((*it)->base_offset() > hw_segment_base_) break;  // beyond the high watermark
      const uint64_t limit = read_limit_locked(**it);
      if (limit == 0) continue;  // empty (compaction can leave empty segments)
      const bool first = pieces.empty();
      pieces.push_back({*it, first ? (*it)->position_for_offset(fetch_offset) : 0, limit});
      if (!first) {
        later_bytes += limit;
        if (later_bytes >= budget) break;
      }
    }
  }

  const auto failed = [&](const std::error_code& ec) -> std::error_code {
    return would_block(ec) ? make_error_code(errc::would_block) : io_failure(name(), ec);
  };
  uint64_t remaining = budget;
  for (size_t i = 0; i < pieces.size(); ++i) {
    const piece& p = pieces[i];
    uint64_t pos = p.start;
    uint64_t first_size = 0;  // size of the batch at `pos`, when known
    if (i == 0) {
      auto scan = scanner_for(*p.seg, p.start, p.limit, may_block);
      bool found = false;
      while (true) {
        auto b = scan.next();
        if (!b) return failed(b.error());
        if (!b.value()) break;
        if (b.value()->header.last_offset() >= fetch_offset) {
          pos = b.value()->position;
          first_size = b.value()->header.size_bytes();
          found = true;
          break;
        }
      }
      if (!found) continue;  // e.g. a gap: go on with the next segment
    }
    if (pos >= p.limit) continue;
    const uint64_t avail = p.limit - pos;
    uint64_t want = std::min(avail, remaining);
    if (res.slices.empty() && min_one_batch) {
      if (first_size == 0) {
        auto scan = scanner_for(*p.seg, pos, p.limit, may_block);
        auto b = scan.next();
        if (!b) return failed(b.error());
        if (!b.value()) return errc::corrupt;
        first_size = b.value()->header.size_bytes();
      }
      want = std::max(want, std::min(first_size, avail));
    }
    if (want == 0) break;
    uint64_t end = pos + want;
    if (end < p.limit) {  // the high watermark is a batch boundary; elsewhere trim to one
      auto trimmed = whole_batches_end(p.seg, pos, end, may_block);
      if (!trimmed) return failed(trimmed.error());
      end = trimmed.value();
    }
    if (end > pos) res.slices.push_back({p.seg, pos, end - pos});
    remaining -= std::min<uint64_t>(remaining, end - pos);
    if (end - pos < want || remaining == 0) break;
  }
  if (!may_block) {
    for (const auto& s : res.slices) {
      if (!in_page_cache(s.fd(), s.position, s.length)) return errc::would_block;
    }
  }
  return res;
}

result<std::optional<timestamp_and_offset>> partition_log::offset_for_timestamp(int64_t ts) const {
  std::vector<piece> pieces;
  int64_t hw;
  int64_t start;
  {
    std::lock_guard lock(mutex_);
    if (closed_) return errc::closed;
    hw = high_watermark_;
    start = log_start_offset_;
    for (const auto& s : segments_) {
      if (s->base_offset() > hw_segment_base_) break;
      const uint64_t limit = read_limit_locked(*s);
      if (limit == 0) continue;
      if (s->next_offset() <= start || s->max_timestamp() < ts) continue;
      uint64_t from = s->position_for_timestamp(ts);
      if (start > s->base_offset()) from = std::max(from, s->position_for_offset(start));
      pieces.push_back({s, from, limit});
    }
  }
  for (const piece& p : pieces) {
    batch_scanner scan(p.seg->fd(), p.start, p.limit, false, header_walk_chunk);
    while (true) {
      auto b = scan.next();
      if (!b) return io_failure(name(), b.error());
      if (!b.value()) break;
      const auto& h = b.value()->header;
      if (h.base_offset >= hw) break;
      if (h.max_timestamp < ts || h.last_offset() < start) continue;
      auto data = read_batch(*p.seg, *b.value());
      if (!data) return io_failure(name(), data.error());
      std::optional<timestamp_and_offset> found;
      auto walked = records::for_each_record(data.value(), [&](const records::record_view& r) {
        if (r.offset >= start && r.offset < hw && r.timestamp >= ts) {
          found = timestamp_and_offset{r.timestamp, r.offset};
          return false;
        }
        return true;
      });
      if (!walked) {
        storage_log().error("{}: cannot decode batch at offset {}: {}", name(), h.base_offset,
                            walked.error().message());
        return errc::corrupt;
      }
      if (found) return found;
    }
  }
  return std::optional<timestamp_and_offset>{};
}

result<std::optional<timestamp_and_offset>> partition_log::max_timestamp_record() const {
  struct candidate {
    std::shared_ptr<segment> seg;
    uint64_t limit = 0;
    int64_t max_timestamp = INT64_MIN;
    int64_t batch_offset = -1;  // -1: must scan the segment's visible batches
  };
  std::vector<candidate> candidates;
  int64_t hw;
  {
    std::lock_guard lock(mutex_);
    if (closed_) return errc::closed;
    hw = high_watermark_;
    for (const auto& s : segments_) {
      if (s->base_offset() > hw_segment_base_) break;
      const uint64_t limit = read_limit_locked(*s);
      if (limit == 0) continue;
      if (s->max_timestamp() == INT64_MIN) continue;
      // The tracked maximum may sit in a batch not yet under the high
      // watermark (strict mode, active segment): scan that segment instead.
      const bool visible = s->offset_of_max_timestamp() < hw;
      candidates.push_back({s, limit, s->max_timestamp(), visible ? s->offset_of_max_timestamp() : -1});
    }
  }
  // Resolve scanned candidates, then pick the largest (the first on ties).
  const candidate* best = nullptr;
  for (auto& c : candidates) {
    if (c.batch_offset < 0) {
      c.max_timestamp = INT64_MIN;
      batch_scanner scan(c.seg->fd(), 0, c.limit, false, header_walk_chunk);
      while (true) {
        auto b = scan.next();
        if (!b) return io_failure(name(), b.error());
        if (!b.value()) break;
        if (b.value()->header.max_timestamp > c.max_timestamp) {
          c.max_timestamp = b.value()->header.max_timestamp;
          c.batch_offset = b.value()->header.base_offset;
        }
      }
      if (c.batch_offset < 0) continue;
    }
    if (!best || c.max_timestamp > best->max_timestamp) best = &c;
  }
  if (!best) return std::optional<timestamp_and_offset>{};

  uint64_t from;
  {
    std::lock_guard lock(mutex_);
    from = best->seg->position_for_offset(best->batch_offset);
  }
  batch_scanner scan(best->seg->fd(), from, best->limit, false, header_walk_chunk);
  while (true) {
    auto b = scan.next();
    if (!b) return io_failure(name(), b.error());
    if (!b.value()) break;
    if (b.value()->header.base_offset != best->batch_offset) continue;
    auto data = read_batch(*best->seg, *b.value());
    if (!data) return io_failure(name(), data.error());
    std::optional<timestamp_and_offset> found;
    auto walked = records::for_each_record(data.value(), [&](const records::record_view& r) {
      if (!found || r.timestamp > found->timestamp) found = timestamp_and_offset{r.timestamp, r.offset};
      return true;
    });
    if (!walked) {
      storage_log().error("{}: cannot decode batch at offset {}: {}", name(), best->batch_offset,
                          walked.error().message());
      return errc::corrupt;
    }
    return found;
  }
  return std::optional<timestamp_and_offset>{};
}

}  // namespace geomirror::storage

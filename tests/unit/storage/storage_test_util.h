#pragma once
// Helpers for storage tests: a temporary directory under /tmp removed at the
// end, batch factories, and readers that walk a whole partition log.

#include "broker-core/base/clock.h"
#include "broker-core/records/record.h"
#include "broker-core/storage/flusher.h"
#include "broker-core/storage/log_config.h"
#include "broker-core/storage/partition_log.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace geomirror::storage::test {

class temp_dir {
 public:
  temp_dir();
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// A batch of `count` records "v<first_value + i>" (optionally padded to
// `value_size`), record timestamps ts, ts+1, ... .
records::bytes make_batch(int count, int64_t timestamp, int first_value = 0,
                          records::compression_codec codec = records::compression_codec::none,
                          size_t value_size = 0);

// Appends and waits until the batch is durable (strict mode) -- the flusher
// must be running. Returns the append info.
append_info append_durable(partition_log& log, records::bytes batch, int64_t now_ms = 1000);

// Decodes every record from `from` up to the high watermark via read().
std::vector<records::record> read_all(const partition_log& log, int64_t from = -1,
                                      int32_t max_bytes = 64 * 1024);

// The bytes a read() located (its slices, read back); fails the test on an
// I/O error.
records::bytes data_of(const read_result& read);

// Just the batches (base, last offset) returned by one read.
struct batch_span {
  int64_t base;
  int64_t last;
};
std::vector<batch_span> batches_in(const records::bytes& data);

// A flusher whose single thread can be held, to observe state before syncs.
class held_flusher {
 public:
  held_flusher();
  ~held_flusher();
  flusher& get() { return flusher_; }
  void hold();     // blocks the flusher thread (returns once it is blocked)
  void release();  // lets it run again (returns once it has left the hold)
  // Returns once every job queued before the call has run (one FIFO thread).
  void drain() {
    hold();
    release();
  }

 private:
  struct blocker;
  flusher flusher_{1};
  std::shared_ptr<blocker> blocker_;
};

log_config small_segments(int64_t segment_bytes, int32_t index_interval = 128);

// --- compaction helpers -----------------------------------------------------

struct kv {
  std::string key;
  std::optional<std::string> value;  // nullopt: a tombstone
};

// One batch of keyed records, timestamps ts, ts+1, ...; optionally from an
// idempotent producer.
records::bytes keyed_batch(const std::vector<kv>& recs, int64_t timestamp,
                           records::compression_codec codec = records::compression_codec::none,
                           int64_t producer_id = -1, int16_t epoch = -1, int32_t base_sequence = -1);

// A compacted (cleanup.policy=compact) config with small segments, relaxed
// durability (readable at once, no sync per append) and no compaction lag.
log_config compacted(int64_t segment_bytes);

// Base offset of the active (last) segment, from the files on disk.
int64_t active_segment_base(const std::filesystem::path& partition_dir);

}  // namespace geomirror::storage::test

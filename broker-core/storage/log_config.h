#pragma once
// Per-partition log settings, filled by the metadata layer from topic
// configs (segment.bytes, segment.ms, retention.ms, retention.bytes,
// index.interval.bytes, flush.messages, flush.ms, max.message.bytes,
// message.timestamp.type). A plain value; partition_log copies it.

#include <cstdint>
#include <limits>

namespace geomirror::storage {

struct log_config {
  // Roll when the next batch would push the active segment past this size (a
  // batch larger than this gets a segment of its own).
  int64_t segment_bytes = int64_t{1} << 30;
  // Roll when the active segment's first append is older than this.
  int64_t segment_ms = 7LL * 24 * 3600 * 1000;
  // Delete segments whose newest record is older than this; -1 = forever.
  int64_t retention_ms = 7LL * 24 * 3600 * 1000;
  // Delete oldest segments while the log is larger than this; -1 = no limit.
  int64_t retention_bytes = -1;
  // One sparse index entry per this many bytes of log.
  int32_t index_interval_bytes = 4096;
  // Durability. flush_messages == 1 with flush_ms == max (the default) is the
  // strict mode: the high watermark only covers fdatasync'ed data and acks
  // wait for the sync (group commit). Anything else is Kafka's relaxed mode:
  // readable at once, synced after flush_messages records or flush_ms.
  int64_t flush_messages = 1;
  int64_t flush_ms = std::numeric_limits<int64_t>::max();
  // Checked by callers (Produce), carried here for convenience.
  int32_t max_message_bytes = (1 << 20) + 12;
  // message.timestamp.type=LogAppendTime: the broker stamps each batch.
  bool log_append_time = false;

  // True for the sync-each-append default (see flush_messages).
  bool strict_durability() const {
    return flush_messages <= 1 && flush_ms == std::numeric_limits<int64_t>::max();
  }
};

}  // namespace geomirror::storage

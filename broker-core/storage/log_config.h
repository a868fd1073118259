#pragma once
// Per-partition log settings, filled by the metadata layer from topic
// configs (segment.bytes, segment.ms, retention.ms, retention.bytes,
// index.interval.bytes, flush.messages, flush.ms, max.message.bytes,
// message.timestamp.type, compression.type, cleanup.policy,
// delete.retention.ms, min.cleanable.dirty.ratio, min.compaction.lag.ms,
// max.compaction.lag.ms). A plain value; partition_log copies it.

#include "broker-core/records/compression.h"

#include <cstdint>
#include <limits>
#include <optional>

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
  // compression.type, applied by Produce before the append: batches with
  // another codec are recompressed; nullopt ('producer') stores them as sent.
  std::optional<records::compression_codec> compression;
  // message.timestamp.type=LogAppendTime: the broker stamps each batch.
  bool log_append_time = false;

  // cleanup.policy: "delete" (delete_enabled only, the default), "compact"
  // (compact only) or "compact,delete" (both). Without delete_enabled,
  // retention_ms/retention_bytes are ignored; the log start offset
  // (DeleteRecords) still deletes segments.
  bool compact = false;
  bool delete_enabled = true;
  // Compaction (Kafka's LogCleaner): tombstones stay readable this long after
  // the cleaner first saw them (KIP-534 delete horizon).
  int64_t delete_retention_ms = 86'400'000;
  // A log is cleaned when dirty bytes / cleanable bytes reach this ratio ...
  double min_cleanable_dirty_ratio = 0.5;
  // ... segments whose newest record is younger than this are not cleaned ...
  int64_t min_compaction_lag_ms = 0;
  // ... and a log whose oldest uncleaned record is older than this is cleaned
  // whatever its dirty ratio (it also caps segment_ms, as in Kafka).
  int64_t max_compaction_lag_ms = std::numeric_limits<int64_t>::max();

  // True for the sync-each-append default (see flush_messages).
  bool strict_durability() const {
    return flush_messages <= 1 && flush_ms == std::numeric_limits<int64_t>::max();
  }
  // The age at which the active segment rolls: segment_ms, or less for a
  // compacted topic with a max compaction lag (Kafka's LogConfig.maxSegmentMs),
  // since only closed segments are cleaned.
  int64_t roll_ms() const {
    return compact && max_compaction_lag_ms > 0 && max_compaction_lag_ms < segment_ms
               ? max_compaction_lag_ms
               : segment_ms;
  }
};

}  // namespace geomirror::storage

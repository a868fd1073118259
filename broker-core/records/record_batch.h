#pragma once
// RecordBatch v2 (magic 2): header layout, parsing, validation and the few
// header rewrites a broker makes. See docs: ../shared/kafka-protocol/RECORDS.md
// §2 and https://kafka.apache.org/documentation/#recordbatch.
//
// Byte layout (all integers big-endian):
//
//   offset size field                  CRC-covered
//   0      8    baseOffset int64        no   (broker assigns)
//   8      4    batchLength int32       no   (bytes after this field)
//   12     4    partitionLeaderEpoch    no   (broker assigns)
//   16     1    magic int8 = 2          no
//   17     4    crc uint32 (CRC-32C)    no
//   21     2    attributes int16        yes  bits 0-2 codec, 3 timestamp type,
//                                            4 transactional, 5 control,
//                                            6 delete horizon, 7-15 zero
//   23     4    lastOffsetDelta int32   yes
//   27     8    baseTimestamp int64     yes
//   35     8    maxTimestamp int64      yes
//   43     8    producerId int64        yes
//   51     2    producerEpoch int16     yes
//   53     4    baseSequence int32      yes
//   57     4    recordsCount int32      yes
//   61     ...  records (or one compressed blob holding them)
//
// Everything here works on caller-owned buffers; views returned point into
// them. All functions are thread-safe (no shared state).

#include "broker-core/base/result.h"
#include "broker-core/records/bytes.h"
#include "broker-core/records/compression.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <system_error>

namespace geomirror::records {

namespace batch_layout {
inline constexpr size_t base_offset = 0;
inline constexpr size_t length = 8;
inline constexpr size_t partition_leader_epoch = 12;
inline constexpr size_t magic = 16;
inline constexpr size_t crc = 17;
inline constexpr size_t attributes = 21;
inline constexpr size_t last_offset_delta = 23;
inline constexpr size_t base_timestamp = 27;
inline constexpr size_t max_timestamp = 35;
inline constexpr size_t producer_id = 43;
inline constexpr size_t producer_epoch = 51;
inline constexpr size_t base_sequence = 53;
inline constexpr size_t records_count = 57;
inline constexpr size_t records = 61;
}  // namespace batch_layout

// Bytes before the length field's coverage starts (baseOffset + batchLength).
inline constexpr size_t log_overhead = 12;
inline constexpr size_t batch_header_size = 61;
// Smallest legal batchLength: the header minus the 12 log-overhead bytes.
inline constexpr int32_t min_batch_length = static_cast<int32_t>(batch_header_size - log_overhead);
inline constexpr int8_t current_magic = 2;

namespace batch_attributes {
inline constexpr int16_t compression_mask = 0x07;
inline constexpr int16_t timestamp_type = 0x08;  // 1 = LogAppendTime
inline constexpr int16_t transactional = 0x10;
inline constexpr int16_t control = 0x20;
inline constexpr int16_t delete_horizon = 0x40;
inline constexpr int16_t known_bits = 0x7f;
}  // namespace batch_attributes

inline constexpr int64_t no_timestamp = -1;
inline constexpr int64_t no_producer_id = -1;
inline constexpr int16_t no_producer_epoch = -1;
inline constexpr int32_t no_sequence = -1;

enum class timestamp_type : int8_t { create_time = 0, log_append_time = 1 };

// A parsed copy of the 61 header bytes. Derived values assume a well-formed
// header (see validate_batch).
struct batch_header {
  int64_t base_offset = 0;
  int32_t batch_length = 0;
  int32_t partition_leader_epoch = -1;
  int8_t magic = current_magic;
  uint32_t crc = 0;
  int16_t attributes = 0;
  int32_t last_offset_delta = 0;
  int64_t base_timestamp = no_timestamp;
  int64_t max_timestamp = no_timestamp;
  int64_t producer_id = no_producer_id;
  int16_t producer_epoch = no_producer_epoch;
  int32_t base_sequence = no_sequence;
  int32_t records_count = 0;

  // nullopt for the reserved codec values 5..7.
  std::optional<compression_codec> compression() const {
    return codec_from_attributes(attributes);
  }
  records::timestamp_type timestamp_type() const {
    return (attributes & batch_attributes::timestamp_type) ? timestamp_type::log_append_time
                                                           : timestamp_type::create_time;
  }
  bool is_transactional() const { return attributes & batch_attributes::transactional; }
  bool is_control() const { return attributes & batch_attributes::control; }
  bool has_delete_horizon() const { return attributes & batch_attributes::delete_horizon; }
  int64_t last_offset() const { return base_offset + last_offset_delta; }
  int64_t next_offset() const { return last_offset() + 1; }
  // Whole batch size on disk / on the wire.
  size_t size_bytes() const { return static_cast<size_t>(batch_length) + log_overhead; }
};

// Parses the header at the start of `data`. Checks only what parsing needs:
// at least 61 bytes (batch_too_short), magic 2 (unsupported_magic) and
// batchLength >= 49 (invalid_length). `data` may be longer than the batch
// (e.g. a buffer of concatenated batches) or stop before its end.
result<batch_header> parse_batch_header(bytes_view data);

// Full check of one complete batch: `data` must be exactly one batch.
// Reasons: batch_too_short, length_mismatch, invalid_length,
// unsupported_magic, crc_mismatch, invalid_attributes, unsupported_compression,
// invalid_records_count, invalid_last_offset_delta; for uncompressed batches
// the records are walked too (invalid_record, invalid_offset_delta,
// trailing_bytes, invalid_records_count).
result<batch_header> validate_batch(bytes_view data);

// validate_batch plus the rules for a batch coming from a producer (Kafka's
// LogValidator): baseOffset 0, recordsCount == lastOffsetDelta + 1 > 0, no
// control batches, and uncompressed record offset deltas exactly 0..n-1.
// With `check_compressed_records` the records of a compressed batch are
// decompressed (capped at `max_decompressed`) and checked the same way.
result<batch_header> validate_produced_batch(
    bytes_view data, bool check_compressed_records = false,
    size_t max_decompressed = default_max_decompressed_bytes);

// CRC-32C the batch should carry (over attributes..end). REQUIRES a complete
// batch of at least 61 bytes.
uint32_t compute_batch_crc(bytes_view batch);

// Header rewrites. REQUIRES: batch.size() >= 61 (a validated batch).
// These two touch no CRC-covered bytes, so the CRC stays valid.
void set_base_offset(std::span<uint8_t> batch, int64_t base_offset);
void set_partition_leader_epoch(std::span<uint8_t> batch, int32_t epoch);
// Switches the batch to LogAppendTime at `timestamp_ms`: sets attributes bit
// 3 and maxTimestamp, then recomputes the CRC (REQUIRES the complete batch).
void set_log_append_time(std::span<uint8_t> batch, int64_t timestamp_ms);

// One batch found in a buffer of concatenated batches.
struct batch_view {
  size_t position = 0;  // offset of the batch in the scanned buffer
  batch_header header;
  bytes_view data;  // the whole batch (header included)
};

// Why a scan of concatenated batches stopped.
enum class scan_stop {
  end,      // every byte belonged to a whole batch
  partial,  // a trailing batch is cut short (normal for Fetch responses)
  invalid,  // bytes that cannot be a batch header (see scan_result::error)
  stopped,  // the visitor asked to stop
};

struct scan_result {
  size_t position = 0;  // where the scan stopped: end of the last whole batch visited
  scan_stop reason = scan_stop::end;
  std::error_code error;  // set for scan_stop::invalid
};

// Iterates the whole batches in a buffer of concatenated batches, header
// checks only (no CRC unless `verify_crc`). Stops cleanly at a trailing
// partial batch. Usage:
//   batch_iterator it(buf);
//   while (auto b = it.next()) { ... }
//   it.result();  // where and why it stopped
class batch_iterator {
 public:
  explicit batch_iterator(bytes_view data, bool verify_crc = false)
      : data_(data), verify_crc_(verify_crc) {}

  // The next whole batch, or nullopt at the end / a partial / invalid batch.
  std::optional<batch_view> next();
  const scan_result& result() const { return result_; }

 private:
  bytes_view data_;
  bool verify_crc_;
  bool done_ = false;
  scan_result result_;
};

// Calls `visit` for each whole batch; `visit` returns false to stop early.
template <class Visitor>
scan_result for_each_batch(bytes_view data, Visitor&& visit, bool verify_crc = false) {
  batch_iterator it(data, verify_crc);
  while (auto b = it.next()) {
    if (!visit(static_cast<const batch_view&>(*b))) {
      return scan_result{b->position + b->data.size(), scan_stop::stopped, {}};
    }
  }
  return it.result();
}

}  // namespace geomirror::records

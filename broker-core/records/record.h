#pragma once
// Records inside a RecordBatch v2 (RECORDS.md §2.5): decoding (with
// decompression and LogAppendTime handling) and `batch_builder`, which
// encodes records into a valid batch the way a producer would.
//
// Record layout (varints are zigzag):
//   length varint | attributes int8 | timestampDelta varlong |
//   offsetDelta varint | keyLength varint (-1 null) | key |
//   valueLength varint (-1 null) | value | headerCount varint |
//   headers: keyLength varint (>= 0) | key | valueLength varint (-1 null) | value
//
// Thread safety: free functions are pure; a batch_builder is a plain value
// (one thread at a time).

#include "broker-core/base/result.h"
#include "broker-core/records/bytes.h"
#include "broker-core/records/compression.h"
#include "broker-core/records/record_batch.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace geomirror::records {

struct record_header {
  std::string key;
  std::optional<bytes> value;

  friend bool operator==(const record_header&, const record_header&) = default;
};

// A decoded record with absolute offset and effective timestamp (maxTimestamp
// of the batch for LogAppendTime batches).
struct record {
  int64_t offset = 0;
  int64_t timestamp = no_timestamp;
  std::optional<bytes> key;
  std::optional<bytes> value;
  std::vector<record_header> headers;

  friend bool operator==(const record&, const record&) = default;
};

struct record_header_view {
  bytes_view key;
  std::optional<bytes_view> value;
};

// A record seen in place: views point into the batch or into the
// decompression buffer and are valid only during the visitor call.
struct record_view {
  int64_t offset = 0;
  int64_t timestamp = no_timestamp;
  int64_t timestamp_delta = 0;  // as stored (relative to the batch's baseTimestamp)
  int32_t offset_delta = 0;
  int8_t attributes = 0;
  std::optional<bytes_view> key;
  std::optional<bytes_view> value;
  std::span<const record_header_view> headers;
};

// Return false to stop the walk early (not an error).
using record_visitor = std::function<bool(const record_view&)>;

// Walks the records of one batch (`batch` = the whole batch, header
// included), decompressing when needed (output capped at `max_decompressed`).
// Checks record structure, strictly increasing offset deltas within
// [0, lastOffsetDelta], that recordsCount records are present and that no
// bytes trail them. Does not check the CRC (see validate_batch).
result<void> for_each_record(bytes_view batch, const record_visitor& visit,
                             size_t max_decompressed = default_max_decompressed_bytes);

// Walks an uncompressed records section (the bytes after the 61-byte header,
// or the decompressed blob) of a batch with header `h`.
result<void> for_each_record_in_section(const batch_header& h, bytes_view section,
                                        const record_visitor& visit);

// Appends one encoded record, length prefix included, to `out` (the inverse
// of the walk above; batch_builder and the log cleaner's batch rewrite use it).
void encode_record(bytes& out, int8_t attributes, int64_t timestamp_delta, int32_t offset_delta,
                   std::optional<bytes_view> key, std::optional<bytes_view> value,
                   std::span<const record_header_view> headers);

// Decodes every record of one batch into owned values.
result<std::vector<record>> decode_records(
    bytes_view batch, size_t max_decompressed = default_max_decompressed_bytes);

// Encodes records into one RecordBatch v2, as a producer does: CreateTime,
// offset deltas 0..n-1, baseTimestamp = first record's timestamp,
// maxTimestamp = the largest, partitionLeaderEpoch -1, baseOffset 0 (unless
// set), CRC computed. Typical use:
//   auto batch = batch_builder(compression_codec::lz4).add("k", "v", ts).build();
class batch_builder {
 public:
  explicit batch_builder(compression_codec codec = compression_codec::none) : codec_(codec) {}

  batch_builder& set_base_offset(int64_t offset);
  batch_builder& set_partition_leader_epoch(int32_t epoch);
  // Idempotent/transactional producer fields (default -1/-1/-1).
  batch_builder& set_producer(int64_t producer_id, int16_t producer_epoch, int32_t base_sequence);
  batch_builder& set_transactional(bool transactional);
  batch_builder& set_control(bool control);

  batch_builder& add(int64_t timestamp, std::optional<bytes_view> key,
                     std::optional<bytes_view> value,
                     const std::vector<record_header>& headers = {});
  // Convenience for text keys/values; std::nullopt for null.
  batch_builder& add(std::optional<std::string_view> key, std::optional<std::string_view> value,
                     int64_t timestamp, const std::vector<record_header>& headers = {});

  size_t record_count() const { return count_; }
  // The encoded batch. May be called more than once.
  bytes build() const;

 private:
  compression_codec codec_;
  int64_t base_offset_ = 0;
  int32_t partition_leader_epoch_ = -1;
  int64_t producer_id_ = no_producer_id;
  int16_t producer_epoch_ = no_producer_epoch;
  int32_t base_sequence_ = no_sequence;
  bool transactional_ = false;
  bool control_ = false;
  size_t count_ = 0;
  int64_t base_timestamp_ = no_timestamp;
  int64_t max_timestamp_ = no_timestamp;
  bytes records_;  // uncompressed encoded records
};

}  // namespace geomirror::records

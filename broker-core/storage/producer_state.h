#pragma once
// Idempotent-producer state of one partition, as Kafka's ProducerStateManager
// (without transactions): per producer id, the current epoch, the last five
// batches appended (sequence range, offsets, max timestamp) and when the
// producer last appended. It decides, for each batch carrying a producer id
// and a base sequence (KIP-98, README "Idempotence"):
//   - a retry of one of the five cached batches (same epoch, first and last
//     sequence) is a duplicate: nothing is written, the original offsets are
//     answered (the Java broker never sends DUPLICATE_SEQUENCE_NUMBER);
//   - an epoch older than the current one is fenced (invalid_producer_epoch);
//   - a newer epoch must start at sequence 0, the same epoch must continue
//     at last sequence + 1 (31-bit wrap: after INT32_MAX comes 0), else
//     out_of_order_sequence;
//   - a producer without remembered state is accepted at any sequence.
//
// Snapshots (`<20-digit offset>.snapshot`, docs/formats/segment-files.md)
// hold the whole table as of an offset; byte layout, big-endian:
//
//   offset size field
//   0      2    version int16 = 1
//   2      4    CRC-32C of bytes 6..end
//   6      8    snapshot offset int64 (the state covers every batch below it)
//   14     4    producer count int32
//   18     ...  producers, each:
//                 0  8  producer id int64
//                 8  2  epoch int16
//                 10 8  last timestamp int64
//                 18 1  batch count int8 (1..5)
//                 19 .. batches, oldest first, 32 bytes each:
//                       0 4 first sequence int32   4 4 last sequence int32
//                       8 8 first offset int64    16 8 last offset int64
//                       24 8 max timestamp int64
//
// Not synchronized: partition_log guards its table with its append mutex, so
// the checks and updates are atomic with the append. Lookups are O(1).

#include "broker-core/base/result.h"
#include "broker-core/records/bytes.h"
#include "broker-core/records/record_batch.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <unordered_map>

namespace geomirror::storage {

// One appended batch, as remembered for duplicate detection.
struct producer_batch {
  int32_t first_sequence = 0;
  int32_t last_sequence = 0;
  int64_t first_offset = 0;
  int64_t last_offset = 0;
  int64_t max_timestamp = records::no_timestamp;

  friend bool operator==(const producer_batch&, const producer_batch&) = default;
};

struct producer_entry {
  static constexpr size_t max_batches = 5;  // Kafka's NUM_BATCHES_TO_RETAIN

  int16_t epoch = records::no_producer_epoch;
  // Expiry clock: the newer of the last batch's maxTimestamp and the wall
  // time it was appended (replayed batches: and the segment's mtime).
  int64_t last_timestamp = records::no_timestamp;
  std::array<producer_batch, max_batches> batches{};  // [0, count), oldest first
  uint8_t count = 0;

  const producer_batch& last() const { return batches[count - 1]; }
  int64_t last_offset() const { return count == 0 ? -1 : last().last_offset; }
  // Appends, dropping the oldest once five are cached.
  void push(const producer_batch& b);
};

// Sequence arithmetic on 31-bit sequences (RECORDS.md §2.1).
int32_t last_sequence_of(const records::batch_header& h);
bool in_sequence(int32_t last, int32_t next);

class producer_state_table {
 public:
  // True for the batches this table checks and records.
  static bool tracks(const records::batch_header& h) {
    return h.producer_id >= 0 && h.base_sequence >= 0 && !h.is_control();
  }

  // The verdict for a batch from a client (REQUIRES tracks(h)): nullopt to
  // append it, the cached original for a duplicate, or an error
  // (errc::invalid_producer_epoch, errc::out_of_order_sequence).
  result<std::optional<producer_batch>> check(const records::batch_header& h) const;
  // Records an appended batch (REQUIRES tracks(h), offsets assigned).
  void on_append(const records::batch_header& h, int64_t now_ms);
  // Records a batch found in the log at recovery, trusting it: a newer epoch
  // resets the entry, an older one (never written by this broker) is ignored.
  void on_replay(const records::batch_header& h, int64_t min_timestamp);

  // Drops producers whose last_timestamp is older than now_ms - expiration_ms
  // (Kafka's producer.id.expiration.ms). Returns how many.
  size_t remove_expired(int64_t now_ms, int64_t expiration_ms);
  // Drops producers whose last offset is below `log_start_offset` (Kafka's
  // truncateHead: their batches are gone). Returns how many.
  size_t truncate_head(int64_t log_start_offset);

  const producer_entry* find(int64_t producer_id) const;
  size_t size() const { return producers_.size(); }
  // Producer id -> last offset of its last batch (the cleaner keeps those
  // batches, emptied if need be, so the state can be rebuilt from the log).
  std::unordered_map<int64_t, int64_t> last_offsets() const;

  // Snapshot file contents for the state as of `offset` (layout above).
  records::bytes encode_snapshot(int64_t offset) const;
  // Parses and checks a snapshot file (version, CRC, sizes, that it names
  // `offset` and that no batch reaches it). Errors: errc::corrupt.
  static result<producer_state_table> decode_snapshot(records::bytes_view data, int64_t offset);

 private:
  std::unordered_map<int64_t, producer_entry> producers_;
};

}  // namespace geomirror::storage

#pragma once
// Rewriting a RecordBatch v2: with only some of its records, the way Kafka's
// log cleaner does (MemoryRecords.filterTo, KIP-534 delete horizon), or with
// another compression codec, the way Kafka's LogValidator applies a topic's
// compression.type.
//
// What a rewrite keeps (RECORDS.md §2.1, "after compaction"):
//  - header: baseOffset, partitionLeaderEpoch, lastOffsetDelta, producerId,
//    producerEpoch, baseSequence, the codec, timestamp type, transactional
//    and control bits; recordsCount becomes the number of kept records;
//  - records: attributes, offset deltas, timestamps, keys, values and
//    headers, re-encoded unchanged (so offsets keep their gaps);
//  - maxTimestamp: the largest kept record timestamp (CreateTime), or the
//    original value (LogAppendTime, where it is every record's timestamp);
//  - the records section is compressed again with the batch's own codec.
// A kept tombstone (null value) in a batch without a delete horizon gives the
// batch one: attributes bit 6 and baseTimestamp = the horizon, record
// timestamp deltas recomputed so every record keeps its absolute timestamp.
//
// All functions are pure and thread-safe; views passed to the filter point
// into buffers owned by filter_batch and are valid during the call only.

#include "broker-core/base/result.h"
#include "broker-core/records/bytes.h"
#include "broker-core/records/compression.h"
#include "broker-core/records/record.h"
#include "broker-core/records/record_batch.h"

#include <cstdint>
#include <functional>

namespace geomirror::records {

// Returns true to keep the record.
using record_filter = std::function<bool(const batch_header&, const record_view&)>;

struct filtered_batch {
  enum class outcome : int8_t {
    unchanged,  // every record kept, header unchanged: reuse the original bytes
    rewritten,  // `data` holds the new batch
    emptied,    // no record kept (or none to begin with); nothing built, see
                // make_empty_batch
  };
  outcome what = outcome::unchanged;
  bytes data;  // only for outcome::rewritten
  int32_t records_kept = 0;
  int32_t records_removed = 0;
};

// Filters the records of one whole batch (header included). When a kept
// record is a tombstone and the batch has no delete horizon yet, the batch is
// rewritten with `delete_horizon_ms` as its horizon; pass no_timestamp to
// never set one. Errors: those of for_each_record (a batch that cannot be
// decoded is left to the caller, which should keep it as it is).
result<filtered_batch> filter_batch(bytes_view batch, const record_filter& keep,
                                    int64_t delete_horizon_ms,
                                    size_t max_decompressed = default_max_decompressed_bytes);

// The header-only batch (recordsCount 0) that stands for a batch whose
// records were all removed but which must stay, e.g. a producer's last batch
// (idempotence state is rebuilt from it). As Kafka's writeEmptyHeader: same
// base offset, lastOffsetDelta, producer fields, partition leader epoch,
// timestamp type and transactional/control bits; no compression and no delete
// horizon; baseTimestamp = maxTimestamp = the original maxTimestamp.
bytes make_empty_batch(const batch_header& original);

// The same batch with its records section compressed by `codec` (none:
// stored plain): every header field is kept but the codec bits, the length
// and the CRC; the records are byte for byte the same once decompressed.
// REQUIRES a batch that passed validate_batch. Errors: those of decompress.
result<bytes> recompress_batch(bytes_view batch, compression_codec codec,
                               size_t max_decompressed = default_max_decompressed_bytes);

}  // namespace geomirror::records

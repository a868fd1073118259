#pragma once
// Up-conversion of the pre-0.11 MessageSet formats (magic 0 and 1, RECORDS.md
// §3) into one RecordBatch v2, as Kafka's LogValidator does for Produce v0-v2
// requests. The broker stores only v2 batches; old producers that pin
// Produce v0-v2 still work.
//
// MessageSet entry: offset int64 | messageSize int32 | crc uint32 (zlib
// CRC-32 over magic..end) | magic int8 | attributes int8 (bits 0-2 codec,
// bit 3 timestamp type on magic 1) | timestamp int64 (magic 1 only) |
// key (int32 length, -1 null) | value (int32 length, -1 null).
// A compressed "wrapper" message holds a compressed inner MessageSet as its
// value.

#include "broker-core/base/result.h"
#include "broker-core/records/bytes.h"
#include "broker-core/records/compression.h"

namespace geomirror::records {

// True when `data` starts with a magic 0 or 1 message (byte 16 is the magic).
bool is_legacy_message_set(bytes_view data);

// Converts every message of `data` (wrapper messages decompressed) into one
// v2 batch with CreateTime, compressed with the codec the producer used.
// Magic 0 messages have no timestamp (-1). Errors: crc_mismatch, invalid_record
// (framing), unsupported_magic, decompression errors, invalid_records_count
// (no message at all).
result<bytes> upconvert_message_set(bytes_view data, size_t max_decompressed = default_max_decompressed_bytes);

}  // namespace geomirror::records

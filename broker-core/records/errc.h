#pragma once
// Error codes of the records module: why a batch, a record or a compressed
// blob was rejected. Each value is precise enough to log and to map onto a
// Kafka wire error (CORRUPT_MESSAGE for crc_mismatch, INVALID_RECORD for the
// structural ones, UNSUPPORTED_COMPRESSION_TYPE for unknown codecs).

#include <system_error>

namespace geomirror::records {

enum class errc {
  // 0 is success in std::error_code; never use it.
  batch_too_short = 1,          // fewer bytes than a batch header / the length field says
  length_mismatch,              // batchLength + 12 differs from the bytes given
  invalid_length,               // batchLength smaller than the header or absurd
  unsupported_magic,            // magic byte is not 2
  crc_mismatch,                 // CRC-32C over attributes..end does not match
  invalid_attributes,           // unused attribute bits set
  invalid_records_count,        // negative or impossible recordsCount
  invalid_last_offset_delta,    // lastOffsetDelta < 0 or inconsistent with the records
  records_count_mismatch,       // produced batch: recordsCount != lastOffsetDelta + 1
  invalid_base_offset,          // produced batch: baseOffset != 0
  control_batch_not_allowed,    // produced batch: clients may not write control batches
  invalid_record,               // a record's varints or lengths overrun it or the batch
  invalid_offset_delta,         // record offset deltas not increasing / not 0..n-1
  trailing_bytes,               // bytes left after the declared records
  unsupported_compression,      // codec value 5..7
  corrupt_compressed_data,      // the codec library rejected the input
  truncated_compressed_data,    // compressed stream ended early
  decompressed_too_large,       // output would exceed the configured cap (bomb guard)
};

const std::error_category& error_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

}  // namespace geomirror::records

template <>
struct std::is_error_code_enum<geomirror::records::errc> : std::true_type {};

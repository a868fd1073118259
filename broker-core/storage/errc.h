#pragma once
// Error codes of the storage module (partition logs and the log manager).
// The protocol edge maps them onto Kafka errors: offset_out_of_range ->
// OFFSET_OUT_OF_RANGE (1); io_error, log_failed, corrupt ->
// KAFKA_STORAGE_ERROR (56); invalid_batch -> CORRUPT_MESSAGE (2);
// closed / not_found -> UNKNOWN_TOPIC_OR_PARTITION (3) or a retriable
// NOT_LEADER_OR_FOLLOWER (6) while a partition is being removed;
// out_of_order_sequence -> OUT_OF_ORDER_SEQUENCE_NUMBER (45);
// invalid_producer_epoch -> INVALID_PRODUCER_EPOCH (47).

#include <system_error>

namespace geomirror::storage {

enum class errc {
  // 0 is success in std::error_code; never use it.
  offset_out_of_range = 1,  // fetch/list offset outside [log start, log end]
  io_error,                 // a read, write or sync failed (details in the log)
  log_failed,               // an earlier write/sync failed; the log refuses appends
  corrupt,                  // on-disk data does not parse where it must
  closed,                   // the partition log was closed or removed
  invalid_batch,            // append() got bytes that are not one whole batch
  not_found,                // no such partition (log_manager)
  already_exists,           // partition already open (log_manager)
  invalid_argument,         // bad topic name, partition number, or parameter
  out_of_order_sequence,    // idempotent batch whose sequence does not follow the last one
  invalid_producer_epoch,   // idempotent batch from an older producer epoch (fenced)
  would_block,              // a read asked not to wait would have waited for the disk
};

const std::error_category& error_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

}  // namespace geomirror::storage

template <>
struct std::is_error_code_enum<geomirror::storage::errc> : std::true_type {};

#include "broker-core/handlers/error_mapping.h"

#include "broker-core/records/errc.h"
#include "broker-core/storage/errc.h"

namespace geomirror::handlers {
namespace {

using protocol::error_code;

error_code storage_to_wire(storage::errc e) {
  switch (e) {
    case storage::errc::offset_out_of_range: return error_code::offset_out_of_range;
    case storage::errc::io_error:
    case storage::errc::log_failed:
    case storage::errc::corrupt: return error_code::kafka_storage_error;
    case storage::errc::invalid_batch: return error_code::corrupt_message;
    case storage::errc::out_of_order_sequence: return error_code::out_of_order_sequence_number;
    case storage::errc::invalid_producer_epoch: return error_code::invalid_producer_epoch;
    // A partition being removed under a request: retriable for the client.
    case storage::errc::closed: return error_code::not_leader_or_follower;
    case storage::errc::not_found: return error_code::unknown_topic_or_partition;
    case storage::errc::already_exists:
    case storage::errc::invalid_argument:
    case storage::errc::would_block: return error_code::unknown_server_error;  // never leaves the fetch path
  }
  return error_code::unknown_server_error;
}

error_code records_to_wire(records::errc e) {
  switch (e) {
    // Damaged bytes: Kafka's CorruptRecordException.
    case records::errc::batch_too_short:
    case records::errc::length_mismatch:
    case records::errc::invalid_length:
    case records::errc::crc_mismatch:
    case records::errc::corrupt_compressed_data:
    case records::errc::truncated_compressed_data: return error_code::corrupt_message;
    // Well-formed bytes breaking a rule: Kafka's InvalidRecordException.
    case records::errc::unsupported_magic:
    case records::errc::invalid_attributes:
    case records::errc::invalid_records_count:
    case records::errc::invalid_last_offset_delta:
    case records::errc::records_count_mismatch:
    case records::errc::invalid_base_offset:
    case records::errc::control_batch_not_allowed:
    case records::errc::invalid_record:
    case records::errc::invalid_offset_delta:
    case records::errc::trailing_bytes:
    case records::errc::decompressed_too_large: return error_code::invalid_record;
    case records::errc::unsupported_compression: return error_code::unsupported_compression_type;
  }
  return error_code::unknown_server_error;
}

}  // namespace

protocol::error_code to_wire(metadata::errc e) {
  switch (e) {
    case metadata::errc::database:
    case metadata::errc::storage: return error_code::kafka_storage_error;
    case metadata::errc::topic_exists: return error_code::topic_already_exists;
    case metadata::errc::unknown_topic: return error_code::unknown_topic_or_partition;
    case metadata::errc::invalid_topic_name: return error_code::invalid_topic_exception;
    case metadata::errc::invalid_partitions: return error_code::invalid_partitions;
    case metadata::errc::invalid_replication_factor: return error_code::invalid_replication_factor;
    case metadata::errc::invalid_replica_assignment: return error_code::invalid_replica_assignment;
    case metadata::errc::invalid_config: return error_code::invalid_config;
    case metadata::errc::topic_deletion_disabled: return error_code::topic_deletion_disabled;
  }
  return error_code::unknown_server_error;
}

protocol::error_code to_wire(group::errc e) {
  switch (e) {
    case group::errc::unknown_member_id: return error_code::unknown_member_id;
    case group::errc::illegal_generation: return error_code::illegal_generation;
    case group::errc::rebalance_in_progress: return error_code::rebalance_in_progress;
    case group::errc::inconsistent_group_protocol: return error_code::inconsistent_group_protocol;
    case group::errc::invalid_session_timeout: return error_code::invalid_session_timeout;
    case group::errc::invalid_group_id: return error_code::invalid_group_id;
    case group::errc::group_max_size_reached: return error_code::group_max_size_reached;
    case group::errc::fenced_instance_id: return error_code::fenced_instance_id;
    case group::errc::member_id_required: return error_code::member_id_required;
    case group::errc::unknown_topic_or_partition: return error_code::unknown_topic_or_partition;
    case group::errc::offset_metadata_too_large: return error_code::offset_metadata_too_large;
    case group::errc::unstable_offset_commit: return error_code::unstable_offset_commit;
    case group::errc::group_id_not_found: return error_code::group_id_not_found;
    case group::errc::non_empty_group: return error_code::non_empty_group;
    case group::errc::group_subscribed_to_topic: return error_code::group_subscribed_to_topic;
    case group::errc::not_coordinator: return error_code::not_coordinator;
    // Kafka answers NOT_COORDINATOR when its offsets log cannot be written
    // (KAFKA_STORAGE_ERROR): the client finds the coordinator again and retries.
    case group::errc::storage: return error_code::not_coordinator;
  }
  return error_code::unknown_server_error;
}

protocol::error_code to_wire(const std::error_code& ec) {
  if (!ec) return error_code::none;
  if (ec.category() == storage::error_category()) return storage_to_wire(static_cast<storage::errc>(ec.value()));
  if (ec.category() == records::error_category()) return records_to_wire(static_cast<records::errc>(ec.value()));
  if (ec.category() == metadata::metadata_category()) return to_wire(static_cast<metadata::errc>(ec.value()));
  if (ec.category() == group::error_category()) return to_wire(static_cast<group::errc>(ec.value()));
  return error_code::unknown_server_error;
}

}  // namespace geomirror::handlers

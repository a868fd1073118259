#pragma once
// Error codes of the group coordinator. Each is a Kafka group error with the
// same meaning; the protocol edge (handlers/error_mapping.cpp) maps them onto
// wire codes one to one, except `storage`: the group database failed, which
// Kafka reports as NOT_COORDINATOR (16) when its offsets log cannot be
// written, so clients look the coordinator up again and retry.

#include <system_error>

namespace geomirror::group {

enum class errc {
  // 0 is success in std::error_code; never use it.
  unknown_member_id = 1,        // UNKNOWN_MEMBER_ID (25)
  illegal_generation,           // ILLEGAL_GENERATION (22)
  rebalance_in_progress,        // REBALANCE_IN_PROGRESS (27)
  inconsistent_group_protocol,  // INCONSISTENT_GROUP_PROTOCOL (23)
  invalid_session_timeout,      // INVALID_SESSION_TIMEOUT (26)
  invalid_group_id,             // INVALID_GROUP_ID (24)
  group_max_size_reached,       // GROUP_MAX_SIZE_REACHED (81)
  fenced_instance_id,           // FENCED_INSTANCE_ID (82)
  member_id_required,           // MEMBER_ID_REQUIRED (79)
  unknown_topic_or_partition,   // UNKNOWN_TOPIC_OR_PARTITION (3)
  offset_metadata_too_large,    // OFFSET_METADATA_TOO_LARGE (12)
  unstable_offset_commit,       // UNSTABLE_OFFSET_COMMIT (88)
  group_id_not_found,           // GROUP_ID_NOT_FOUND (69)
  non_empty_group,              // NON_EMPTY_GROUP (68)
  group_subscribed_to_topic,    // GROUP_SUBSCRIBED_TO_TOPIC (86)
  not_coordinator,              // NOT_COORDINATOR (16): the coordinator is shutting down
  storage,                      // the group database failed (details in the log)
};

const std::error_category& error_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), error_category()}; }

}  // namespace geomirror::group

template <>
struct std::is_error_code_enum<geomirror::group::errc> : std::true_type {};

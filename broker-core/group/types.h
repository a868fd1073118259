#pragma once
// Values shared by the group coordinator, its store and the request
// handlers: group states with Kafka's names, topic-partitions, committed
// offsets and the protocols a member supports.

#include "broker-core/protocol/wire.h"

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace geomirror::group {

// The classic group state machine (Kafka's GroupState):
//   Empty -> PreparingRebalance -> CompletingRebalance -> Stable
//   Stable / CompletingRebalance -> PreparingRebalance (join, leave, failure)
//   PreparingRebalance -> Empty (every member gone)
//   any -> Dead (deleted or expired; never visible to clients)
enum class group_state { empty, preparing_rebalance, completing_rebalance, stable, dead };

// Kafka's names ("Empty", "PreparingRebalance", ...), as DescribeGroups and
// ListGroups report them.
std::string_view state_name(group_state state);
std::optional<group_state> parse_state_name(std::string_view name);

struct topic_partition {
  std::string topic;
  int32_t partition = 0;

  auto operator<=>(const topic_partition&) const = default;
  bool operator==(const topic_partition&) const = default;
};

// One committed offset as OffsetCommit stores it and OffsetFetch returns it.
struct committed_offset {
  int64_t offset = -1;
  int32_t leader_epoch = -1;         // -1: none
  std::string metadata;              // a null metadata string is stored as ""
  int64_t commit_timestamp_ms = 0;
  std::optional<int64_t> expire_timestamp_ms;  // OffsetCommit v2-4 retention_time_ms; else retention config

  bool operator==(const committed_offset&) const = default;
};

// A protocol a member can speak (JoinGroup's Protocols), in its order of
// preference.
struct protocol_metadata {
  std::string name;
  protocol::bytes metadata;

  bool operator==(const protocol_metadata&) const = default;
};

}  // namespace geomirror::group

// ListOffsets (key 2): earliest, latest, max-timestamp and by-timestamp
// lookups (the last through the time index).

#include "broker-core/handlers/error_mapping.h"
#include "broker-core/handlers/handlers.h"
#include "broker-core/protocol/error_code.h"
#include "broker-core/protocol/messages/list_offsets_request.h"
#include "broker-core/protocol/messages/list_offsets_response.h"

namespace geomirror::handlers {
namespace {

using protocol::error_code;
using protocol::wire;
using partition_response = protocol::list_offsets_response::list_offsets_partition_response;

// Special timestamps (KIP-734, KIP-405, KIP-1005).
constexpr int64_t latest_timestamp = -1;
constexpr int64_t earliest_timestamp = -2;
constexpr int64_t max_timestamp = -3;
constexpr int64_t earliest_local_timestamp = -4;
constexpr int64_t latest_tiered_timestamp = -5;

void set_found(partition_response& out, int16_t version, int64_t timestamp, int64_t offset) {
  out.timestamp = timestamp;
  out.offset = offset;
  out.leader_epoch = offset >= 0 ? 0 : -1;
  if (version == 0 && offset >= 0) out.old_style_offsets = {offset};
}

void lookup(partition_response& out, const storage::partition_log& log, int64_t timestamp, int16_t version) {
  switch (timestamp) {
    case latest_timestamp:
      // Without transactions the last stable offset is the high watermark,
      // so both isolation levels see the same end.
      set_found(out, version, -1, log.high_watermark());
      return;
    case earliest_timestamp:
    case earliest_local_timestamp:
      set_found(out, version, -1, log.log_start_offset());
      return;
    case latest_tiered_timestamp:
      set_found(out, version, -1, -1);  // nothing is tiered
      return;
    case max_timestamp: {
      auto found = log.max_timestamp_record();
      if (!found) {
        out.error_code = wire(to_wire(found.error()));
      } else if (found.value()) {
        set_found(out, version, found.value()->timestamp, found.value()->offset);
      } else {
        set_found(out, version, -1, -1);
      }
      return;
    }
    default:
      break;
  }
  if (timestamp < 0) {
    out.error_code = wire(error_code::invalid_request);
    return;
  }
  auto found = log.offset_for_timestamp(timestamp);
  if (!found) {
    out.error_code = wire(to_wire(found.error()));
  } else if (found.value()) {
    set_found(out, version, found.value()->timestamp, found.value()->offset);
  } else {
    set_found(out, version, -1, -1);
  }
}

}  // namespace

void handle_list_offsets(const request_context& ctx, responder r) {
  auto request = ctx.decode<protocol::list_offsets_request>();
  protocol::list_offsets_response response;
  for (const auto& topic_req : request.topics) {
    auto& topic_out = response.topics.emplace_back();
    topic_out.name = topic_req.name;
    auto topic = ctx.services.topics.find(topic_req.name);
    for (const auto& p : topic_req.partitions) {
      auto& out = topic_out.partitions.emplace_back();
      out.partition_index = p.partition_index;
      auto log = topic ? topic->partition(p.partition_index) : nullptr;
      if (!log) {
        out.error_code = wire(error_code::unknown_topic_or_partition);
      } else if (p.current_leader_epoch > 0) {
        out.error_code = wire(error_code::unknown_leader_epoch);
      } else if (p.current_leader_epoch < -1) {
        out.error_code = wire(error_code::fenced_leader_epoch);
      } else {
        lookup(out, *log, p.timestamp, ctx.version());
      }
    }
  }
  r.respond(ctx.encode(response));
}

}  // namespace geomirror::handlers

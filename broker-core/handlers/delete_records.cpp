// DeleteRecords (key 21): move partitions' log start offsets forward; whole
// segments below it are deleted by the next retention pass.

#include "broker-core/handlers/error_mapping.h"
#include "broker-core/handlers/handlers.h"
#include "broker-core/protocol/error_code.h"
#include "broker-core/protocol/messages/delete_records_request.h"
#include "broker-core/protocol/messages/delete_records_response.h"

namespace geomirror::handlers {

void handle_delete_records(const request_context& ctx, responder r) {
  using protocol::error_code;
  using protocol::wire;
  auto request = ctx.decode<protocol::delete_records_request>();
  protocol::delete_records_response response;
  for (const auto& topic_req : request.topics) {
    auto& topic_out = response.topics.emplace_back();
    topic_out.name = topic_req.name;
    auto topic = ctx.services.topics.find(topic_req.name);
    for (const auto& p : topic_req.partitions) {
      auto& out = topic_out.partitions.emplace_back();
      out.partition_index = p.partition_index;
      out.low_watermark = -1;
      auto log = topic ? topic->partition(p.partition_index) : nullptr;
      if (!log) {
        out.error_code = wire(error_code::unknown_topic_or_partition);
        continue;
      }
      // Kafka refuses DeleteRecords on topics whose cleanup.policy lacks delete.
      if (!topic->log.delete_enabled) {
        out.error_code = wire(error_code::policy_violation);
        continue;
      }
      // -1 means "up to the high watermark".
      int64_t offset = p.offset == -1 ? log->high_watermark() : p.offset;
      if (offset < 0 || offset > log->high_watermark()) {
        out.error_code = wire(error_code::offset_out_of_range);
        continue;
      }
      auto moved = log->advance_log_start_offset(offset);
      if (!moved) {
        out.error_code = wire(to_wire(moved.error()));
        continue;
      }
      out.low_watermark = log->log_start_offset();
    }
  }
  r.respond(ctx.encode(response));
}

}  // namespace geomirror::handlers

// OffsetDelete (key 47): removes a group's committed offsets of some
// partitions; refused for topics an active consumer group subscribes to
// (GROUP_SUBSCRIBED_TO_TOPIC) and for active groups of other protocols.

#include "broker-core/handlers/error_mapping.h"
#include "broker-core/handlers/handlers.h"
#include "broker-core/protocol/messages/offset_delete_request.h"
#include "broker-core/protocol/messages/offset_delete_response.h"

#include <spdlog/spdlog.h>

namespace geomirror::handlers {

void handle_offset_delete(const request_context& ctx, responder r) {
  auto request = ctx.decode<protocol::offset_delete_request>();
  spdlog::debug("[{} corr={}] OffsetDelete v{} group {}", ctx.header.client_id.value_or(""),
                ctx.header.correlation_id, ctx.version(), request.group_id);
  std::vector<group::topic_partition> partitions;
  protocol::offset_delete_response response;
  for (const auto& t : request.topics) {
    auto& out = response.topics.emplace_back();
    out.name = t.name;
    for (const auto& p : t.partitions) {
      partitions.push_back({t.name, p.partition_index});
      out.partitions.push_back({p.partition_index, 0, {}});
    }
  }
  ctx.services.groups.delete_offsets(
      request.group_id, partitions, [ctx, r, response = std::move(response)](group::offset_delete_result result) mutable {
        if (result.error) {
          // A group-level error comes alone, without partitions (as Kafka).
          protocol::offset_delete_response failed;
          failed.error_code = protocol::wire(to_wire(result.error));
          r.respond(ctx.encode(failed));
          return;
        }
        size_t i = 0;
        for (auto& topic : response.topics) {
          for (auto& p : topic.partitions) p.error_code = protocol::wire(to_wire(result.partitions[i++]));
        }
        r.respond(ctx.encode(response));
      });
}

}  // namespace geomirror::handlers

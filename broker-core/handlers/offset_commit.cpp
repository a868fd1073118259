// OffsetCommit (key 8): stores consumed positions for a group. Answered once
// the commit is durable. v0 commits outside group management; v1 adds the
// member, generation and a commit timestamp; v2-4 a retention time; v6 the
// leader epoch; v7 group.instance.id.

#include "broker-core/handlers/error_mapping.h"
#include "broker-core/handlers/handlers.h"
#include "broker-core/protocol/messages/offset_commit_request.h"
#include "broker-core/protocol/messages/offset_commit_response.h"

#include <spdlog/spdlog.h>

namespace geomirror::handlers {

void handle_offset_commit(const request_context& ctx, responder r) {
  auto request = ctx.decode<protocol::offset_commit_request>();
  spdlog::debug("[{} corr={}] OffsetCommit v{} group {} member '{}' generation {}", ctx.header.client_id.value_or(""),
                ctx.header.correlation_id, ctx.version(), request.group_id, request.member_id,
                request.generation_id_or_member_epoch);
  group::offset_commit_request commit;
  commit.group_id = std::move(request.group_id);
  commit.member_id = std::move(request.member_id);
  commit.group_instance_id = std::move(request.group_instance_id);
  commit.generation_id = request.generation_id_or_member_epoch;
  commit.retention_time_ms = request.retention_time_ms;
  // The response repeats the request's topics and partitions, in order.
  protocol::offset_commit_response response;
  for (auto& topic : request.topics) {
    auto& out = response.topics.emplace_back();
    out.name = topic.name;
    for (auto& p : topic.partitions) {
      out.partitions.push_back({p.partition_index, 0, {}});
      group::committed_offset value;
      value.offset = p.committed_offset;
      value.leader_epoch = p.committed_leader_epoch;
      value.metadata = p.committed_metadata.value_or("");
      value.commit_timestamp_ms = p.commit_timestamp;  // -1 (now) except in v1
      commit.offsets.emplace_back(group::topic_partition{topic.name, p.partition_index}, std::move(value));
    }
  }
  ctx.services.groups.commit_offsets(
      std::move(commit), [ctx, r, response = std::move(response)](std::vector<std::error_code> errors) mutable {
        size_t i = 0;
        for (auto& topic : response.topics) {
          for (auto& p : topic.partitions) {
            auto code = to_wire(errors[i++]);
            // v9 names a missing group; older versions call its members stale.
            if (code == protocol::error_code::group_id_not_found && ctx.version() < 9) {
              code = protocol::error_code::illegal_generation;
            }
            p.error_code = protocol::wire(code);
          }
        }
        r.respond(ctx.encode(response));
      });
}

}  // namespace geomirror::handlers

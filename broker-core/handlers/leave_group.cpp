// LeaveGroup (key 13): members leave their group, which rebalances without
// waiting for their sessions to expire. v0-2 name one member; v3+ a batch,
// possibly by group.instance.id only (KIP-345 admin removal).

#include "broker-core/handlers/error_mapping.h"
#include "broker-core/handlers/handlers.h"
#include "broker-core/protocol/messages/leave_group_request.h"
#include "broker-core/protocol/messages/leave_group_response.h"

#include <spdlog/spdlog.h>

namespace geomirror::handlers {

void handle_leave_group(const request_context& ctx, responder r) {
  auto request = ctx.decode<protocol::leave_group_request>();
  std::vector<group::member_identity> members;
  if (ctx.version() < 3) {
    members.push_back({std::move(request.member_id), std::nullopt, {}});
  } else {
    for (auto& m : request.members) {
      members.push_back({std::move(m.member_id), std::move(m.group_instance_id), m.reason.value_or("")});
    }
  }
  spdlog::debug("[{} corr={}] LeaveGroup v{} group {} ({} members)", ctx.header.client_id.value_or(""),
                ctx.header.correlation_id, ctx.version(), request.group_id, members.size());
  auto result = ctx.services.groups.leave_group(request.group_id, members);

  protocol::leave_group_response response;
  response.error_code = protocol::wire(to_wire(result.error));
  if (ctx.version() < 3) {
    // One member, no member list: its error is the top-level one (Kafka's
    // LeaveGroupResponse for v0-2).
    if (!result.error && !result.members.empty()) response.error_code = protocol::wire(to_wire(result.members[0]));
  } else {
    for (size_t i = 0; i < result.members.size(); ++i) {
      response.members.push_back({std::move(members[i].member_id), std::move(members[i].group_instance_id),
                                  protocol::wire(to_wire(result.members[i])), {}});
    }
  }
  r.respond(ctx.encode(response));
}

}  // namespace geomirror::handlers

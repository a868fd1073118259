// DescribeGroups (key 15): state, protocol and members of groups. Member
// metadata and assignments are filled only while a group is Stable, and an
// unknown group is described as Dead, as Kafka does.

#include "broker-core/handlers/authorized_operations.h"
#include "broker-core/handlers/handlers.h"
#include "broker-core/protocol/messages/describe_groups_request.h"
#include "broker-core/protocol/messages/describe_groups_response.h"

#include <spdlog/spdlog.h>

namespace geomirror::handlers {

void handle_describe_groups(const request_context& ctx, responder r) {
  auto request = ctx.decode<protocol::describe_groups_request>();
  spdlog::debug("[{} corr={}] DescribeGroups v{} ({} groups)", ctx.header.client_id.value_or(""),
                ctx.header.correlation_id, ctx.version(), request.groups.size());
  protocol::describe_groups_response response;
  for (auto& id : request.groups) {
    auto d = ctx.services.groups.describe_group(id);
    auto& out = response.groups.emplace_back();
    out.group_id = std::move(id);
    out.group_state = std::string(group::state_name(d.state));
    out.protocol_type = std::move(d.protocol_type);
    out.protocol_data = std::move(d.protocol_name);
    for (auto& m : d.members) {
      out.members.push_back({std::move(m.member_id), std::move(m.group_instance_id), std::move(m.client_id),
                             std::move(m.client_host), std::move(m.metadata), std::move(m.assignment), {}});
    }
    if (request.include_authorized_operations) out.authorized_operations = group_operations;
  }
  r.respond(ctx.encode(response));
}

}  // namespace geomirror::handlers

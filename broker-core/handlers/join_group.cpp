// JoinGroup (key 11): a member joins (or rejoins) a group; the coordinator
// parks the request until the join phase of the rebalance completes. v4+
// clients joining without a member id get MEMBER_ID_REQUIRED and the id to
// join with; v5+ may name a static member (group.instance.id).

#include "broker-core/handlers/error_mapping.h"
#include "broker-core/handlers/handlers.h"
#include "broker-core/protocol/messages/join_group_request.h"
#include "broker-core/protocol/messages/join_group_response.h"

#include <spdlog/spdlog.h>

namespace geomirror::handlers {
namespace {

// Kafka reports the client's address as InetAddress.toString(): "/ip".
std::string client_host(const std::string& peer) {
  auto colon = peer.rfind(':');
  return "/" + (colon == std::string::npos ? peer : peer.substr(0, colon));
}

}  // namespace

void handle_join_group(const request_context& ctx, responder r) {
  auto request = ctx.decode<protocol::join_group_request>();
  spdlog::debug("[{} corr={}] JoinGroup v{} group {} member '{}'", ctx.header.client_id.value_or(""),
                ctx.header.correlation_id, ctx.version(), request.group_id, request.member_id);
  group::join_request join;
  join.group_id = std::move(request.group_id);
  join.member_id = std::move(request.member_id);
  join.group_instance_id = std::move(request.group_instance_id);
  join.client_id = ctx.header.client_id.value_or("");
  join.client_host = client_host(ctx.peer);
  join.session_timeout_ms = request.session_timeout_ms;
  // v0 has no rebalance timeout: the session timeout serves as both.
  join.rebalance_timeout_ms = ctx.version() == 0 ? request.session_timeout_ms : request.rebalance_timeout_ms;
  join.protocol_type = std::move(request.protocol_type);
  for (auto& p : request.protocols) join.protocols.push_back({std::move(p.name), std::move(p.metadata)});
  join.require_known_member_id = ctx.version() >= 4;
  join.supports_skip_assignment = ctx.version() >= 9;
  join.reason = request.reason.value_or("");

  ctx.services.groups.join_group(std::move(join), [ctx, r = std::move(r)](group::join_result result) {
    protocol::join_group_response response;
    response.error_code = protocol::wire(to_wire(result.error));
    response.generation_id = result.generation_id;
    response.protocol_type = std::move(result.protocol_type);
    // Before v7 the protocol name is not nullable: "" stands for none.
    response.protocol_name = ctx.version() >= 7 ? std::move(result.protocol_name)
                                                : std::optional<std::string>(result.protocol_name.value_or(""));
    response.leader = std::move(result.leader_id);
    response.skip_assignment = result.skip_assignment;
    response.member_id = std::move(result.member_id);
    for (auto& m : result.members) {
      response.members.push_back({std::move(m.member_id), std::move(m.group_instance_id), std::move(m.metadata), {}});
    }
    r.respond(ctx.encode(response));
  });
}

}  // namespace geomirror::handlers

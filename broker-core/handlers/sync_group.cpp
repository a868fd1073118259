// SyncGroup (key 14): after a join phase the leader sends the assignment of
// every member and each member receives its own; the coordinator parks the
// request until the leader's assignment is stored.

#include "broker-core/handlers/error_mapping.h"
#include "broker-core/handlers/handlers.h"
#include "broker-core/protocol/messages/sync_group_request.h"
#include "broker-core/protocol/messages/sync_group_response.h"

#include <spdlog/spdlog.h>

namespace geomirror::handlers {

void handle_sync_group(const request_context& ctx, responder r) {
  auto request = ctx.decode<protocol::sync_group_request>();
  spdlog::debug("[{} corr={}] SyncGroup v{} group {} member {} generation {}", ctx.header.client_id.value_or(""),
                ctx.header.correlation_id, ctx.version(), request.group_id, request.member_id, request.generation_id);
  auto respond = [ctx, r](group::sync_result result) {
    protocol::sync_group_response response;
    response.error_code = protocol::wire(to_wire(result.error));
    response.protocol_type = std::move(result.protocol_type);
    response.protocol_name = std::move(result.protocol_name);
    response.assignment = std::move(result.assignment);
    r.respond(ctx.encode(response));
  };
  // KIP-559: from v5 the client names the protocol type and name it expects.
  if (ctx.version() >= 5 && (!request.protocol_type || !request.protocol_name)) {
    group::sync_result result;
    result.error = group::errc::inconsistent_group_protocol;
    respond(std::move(result));
    return;
  }
  group::sync_request sync;
  sync.group_id = std::move(request.group_id);
  sync.generation_id = request.generation_id;
  sync.member_id = std::move(request.member_id);
  sync.group_instance_id = std::move(request.group_instance_id);
  sync.protocol_type = std::move(request.protocol_type);
  sync.protocol_name = std::move(request.protocol_name);
  for (auto& a : request.assignments) sync.assignments.emplace_back(std::move(a.member_id), std::move(a.assignment));
  ctx.services.groups.sync_group(std::move(sync), std::move(respond));
}

}  // namespace geomirror::handlers

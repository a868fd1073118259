// Heartbeat (key 12): keeps a member's session alive and tells it whether a
// rebalance is under way (REBALANCE_IN_PROGRESS) or it was dropped.

#include "broker-core/handlers/error_mapping.h"
#include "broker-core/handlers/handlers.h"
#include "broker-core/protocol/messages/heartbeat_request.h"
#include "broker-core/protocol/messages/heartbeat_response.h"

#include <spdlog/spdlog.h>

namespace geomirror::handlers {

void handle_heartbeat(const request_context& ctx, responder r) {
  auto request = ctx.decode<protocol::heartbeat_request>();
  auto error = ctx.services.groups.heartbeat(request.group_id, request.member_id, request.group_instance_id,
                                             request.generation_id);
  spdlog::debug("[{} corr={}] Heartbeat v{} group {} member {} generation {}: {}", ctx.header.client_id.value_or(""),
                ctx.header.correlation_id, ctx.version(), request.group_id, request.member_id, request.generation_id,
                error ? error.message() : "ok");
  protocol::heartbeat_response response;
  response.error_code = protocol::wire(to_wire(error));
  r.respond(ctx.encode(response));
}

}  // namespace geomirror::handlers

// DeleteGroups (key 42): deletes empty groups with their committed offsets;
// groups with active members get NON_EMPTY_GROUP, unknown ones
// GROUP_ID_NOT_FOUND. Answered once the deletions are durable.

#include "broker-core/handlers/error_mapping.h"
#include "broker-core/handlers/handlers.h"
#include "broker-core/protocol/messages/delete_groups_request.h"
#include "broker-core/protocol/messages/delete_groups_response.h"

#include <spdlog/spdlog.h>

namespace geomirror::handlers {

void handle_delete_groups(const request_context& ctx, responder r) {
  auto request = ctx.decode<protocol::delete_groups_request>();
  spdlog::debug("[{} corr={}] DeleteGroups v{} ({} groups)", ctx.header.client_id.value_or(""),
                ctx.header.correlation_id, ctx.version(), request.groups_names.size());
  auto names = request.groups_names;
  ctx.services.groups.delete_groups(
      request.groups_names, [ctx, r, names = std::move(names)](std::vector<std::error_code> errors) {
        protocol::delete_groups_response response;
        for (size_t i = 0; i < names.size(); ++i) {
          response.results.push_back({names[i], protocol::wire(to_wire(errors[i])), {}});
        }
        r.respond(ctx.encode(response));
      });
}

}  // namespace geomirror::handlers

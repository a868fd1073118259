// ListGroups (key 16): every group with its protocol type; v4+ filter by
// state, v5+ by type. Every group here is a "classic" group.

#include "broker-core/handlers/handlers.h"
#include "broker-core/protocol/messages/list_groups_request.h"
#include "broker-core/protocol/messages/list_groups_response.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>

namespace geomirror::handlers {
namespace {

constexpr std::string_view classic_type = "classic";

// Filters match case-insensitively, as Kafka's coordinator compares them.
bool matches(const std::vector<std::string>& filter, std::string_view value) {
  if (filter.empty()) return true;
  return std::any_of(filter.begin(), filter.end(), [&](const std::string& f) {
    return std::equal(f.begin(), f.end(), value.begin(), value.end(), [](char a, char b) {
      return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
    });
  });
}

}  // namespace

void handle_list_groups(const request_context& ctx, responder r) {
  auto request = ctx.decode<protocol::list_groups_request>();
  spdlog::debug("[{} corr={}] ListGroups v{}", ctx.header.client_id.value_or(""), ctx.header.correlation_id,
                ctx.version());
  protocol::list_groups_response response;
  for (auto& g : ctx.services.groups.list_groups()) {
    auto state = group::state_name(g.state);
    if (!matches(request.states_filter, state) || !matches(request.types_filter, classic_type)) continue;
    response.groups.push_back({std::move(g.group_id), std::move(g.protocol_type), std::string(state),
                               std::string(classic_type), {}});
  }
  r.respond(ctx.encode(response));
}

}  // namespace geomirror::handlers

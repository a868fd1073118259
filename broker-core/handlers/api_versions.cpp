// ApiVersions (key 18): the served API ranges, from the registry's one list.

#include "broker-core/handlers/handlers.h"
#include "broker-core/handlers/registry.h"
#include "broker-core/protocol/error_code.h"
#include "broker-core/protocol/messages/api_versions_request.h"
#include "broker-core/protocol/messages/api_versions_response.h"

namespace geomirror::handlers {
namespace {

// Kafka's rule for ClientSoftwareName/Version (KIP-511):
// [a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?
bool valid_software_token(const std::string& s) {
  if (s.empty()) return false;
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); };
  if (!alnum(s.front()) || !alnum(s.back())) return false;
  for (char c : s) {
    if (!alnum(c) && c != '-' && c != '.') return false;
  }
  return true;
}

}  // namespace

void handle_api_versions(const request_context& ctx, responder r) {
  auto request = ctx.decode<protocol::api_versions_request>();
  protocol::api_versions_response response;
  if (ctx.version() >= 3 &&
      (!valid_software_token(request.client_software_name) || !valid_software_token(request.client_software_version))) {
    response.error_code = protocol::wire(protocol::error_code::invalid_request);
    r.respond(ctx.encode(response));
    return;
  }
  for (const auto& api : served_apis()) {
    response.api_keys.push_back({api.key, api.min_version, api.max_version, {}});
  }
  r.respond(ctx.encode(response));
}

}  // namespace geomirror::handlers

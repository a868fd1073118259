// FindCoordinator (key 10): a region's broker is the coordinator of every
// group and transactional id, so every lookup names this broker.

#include "broker-core/handlers/handlers.h"
#include "broker-core/protocol/error_code.h"
#include "broker-core/protocol/messages/find_coordinator_request.h"
#include "broker-core/protocol/messages/find_coordinator_response.h"

#include <fmt/format.h>

namespace geomirror::handlers {
namespace {

constexpr int8_t group_key = 0;
constexpr int8_t transaction_key = 1;

}  // namespace

void handle_find_coordinator(const request_context& ctx, responder r) {
  using protocol::error_code;
  using protocol::wire;
  auto request = ctx.decode<protocol::find_coordinator_request>();
  const auto& id = ctx.services.identity;
  const bool known_type = request.key_type == group_key || request.key_type == transaction_key;
  const std::string type_error =
      fmt::format("Coordinator key type {} is not supported (0 = group, 1 = transaction)", request.key_type);

  protocol::find_coordinator_response response;
  if (ctx.version() < 4) {
    if (known_type) {
      response.error_message = "NONE";  // what Kafka sends (Errors.NONE.message())
      response.node_id = id.node_id;
      response.host = id.advertised_host;
      response.port = id.advertised_port;
    } else {
      response.error_code = wire(error_code::invalid_request);
      response.error_message = type_error;
      response.node_id = -1;
      response.port = -1;
    }
    r.respond(ctx.encode(response));
    return;
  }
  // v4+ (KIP-699): one lookup per key.
  for (const auto& key : request.coordinator_keys) {
    protocol::find_coordinator_response::coordinator c;
    c.key = key;
    if (known_type) {
      c.node_id = id.node_id;
      c.host = id.advertised_host;
      c.port = id.advertised_port;
    } else {
      c.error_code = wire(error_code::invalid_request);
      c.error_message = type_error;
      c.node_id = -1;
      c.port = -1;
    }
    response.coordinators.push_back(std::move(c));
  }
  r.respond(ctx.encode(response));
}

}  // namespace geomirror::handlers

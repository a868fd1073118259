// InitProducerId (key 22): a fresh producer id (epoch 0) for idempotent
// producers. Transactions are not offered: a transactional id is refused.

#include "broker-core/handlers/handlers.h"
#include "broker-core/protocol/error_code.h"
#include "broker-core/protocol/messages/init_producer_id_request.h"
#include "broker-core/protocol/messages/init_producer_id_response.h"

#include <spdlog/spdlog.h>

namespace geomirror::handlers {

void handle_init_producer_id(const request_context& ctx, responder r) {
  using protocol::error_code;
  using protocol::wire;
  auto request = ctx.decode<protocol::init_producer_id_request>();
  protocol::init_producer_id_response response;
  if (request.transactional_id) {
    // The response has no message field: say it in the broker log.
    spdlog::warn("refused InitProducerId for transactional id '{}' from {}: this broker does not run transactions",
                 *request.transactional_id, ctx.peer);
    response.error_code = wire(error_code::invalid_request);
    r.respond(ctx.encode(response));
    return;
  }
  // Like Kafka, an idempotent (non-transactional) producer always gets a new
  // id, also when it asks to bump the epoch of its current one (KIP-360).
  auto id = ctx.services.producer_ids.next();
  if (!id) {
    response.error_code = wire(error_code::coordinator_not_available);
  } else {
    response.producer_id = id.value();
    response.producer_epoch = 0;
  }
  r.respond(ctx.encode(response));
}

}  // namespace geomirror::handlers

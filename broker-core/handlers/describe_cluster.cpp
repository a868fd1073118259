// DescribeCluster (key 60): cluster id, controller and brokers (KIP-700).

#include "broker-core/handlers/authorized_operations.h"
#include "broker-core/handlers/handlers.h"
#include "broker-core/protocol/error_code.h"
#include "broker-core/protocol/messages/describe_cluster_request.h"
#include "broker-core/protocol/messages/describe_cluster_response.h"

namespace geomirror::handlers {

void handle_describe_cluster(const request_context& ctx, responder r) {
  auto request = ctx.decode<protocol::describe_cluster_request>();
  const auto& id = ctx.services.identity;
  protocol::describe_cluster_response response;
  constexpr int8_t brokers_endpoint = 1;
  if (request.endpoint_type != brokers_endpoint) {
    // KIP-919: this listener serves brokers, not controllers.
    response.error_code = protocol::wire(protocol::error_code::mismatched_endpoint_type);
    response.error_message = "The request was sent to an endpoint of type BROKER, but we wanted an endpoint of type CONTROLLER";
    r.respond(ctx.encode(response));
    return;
  }
  response.cluster_id = id.cluster_id;
  response.controller_id = id.node_id;
  response.brokers.push_back({id.node_id, id.advertised_host, id.advertised_port, std::nullopt, {}});
  if (request.include_cluster_authorized_operations) response.cluster_authorized_operations = cluster_operations;
  r.respond(ctx.encode(response));
}

}  // namespace geomirror::handlers

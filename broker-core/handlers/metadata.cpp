// Metadata (key 3): this broker, and the topics asked for (or all of them),
// creating missing ones when auto.create.topics.enable allows.

#include "broker-core/handlers/authorized_operations.h"
#include "broker-core/handlers/error_mapping.h"
#include "broker-core/handlers/handlers.h"
#include "broker-core/protocol/error_code.h"
#include "broker-core/protocol/messages/metadata_request.h"
#include "broker-core/protocol/messages/metadata_response.h"

namespace geomirror::handlers {
namespace {

using protocol::error_code;
using protocol::wire;
using response_topic = protocol::metadata_response::metadata_response_topic;

response_topic describe_topic(const metadata::topic_snapshot& topic, const cluster_identity& id, bool with_operations) {
  response_topic out;
  out.name = topic.name;
  out.topic_id = topic.id;
  for (int32_t p = 0; p < topic.partition_count(); ++p) {
    protocol::metadata_response::metadata_response_partition part;
    part.partition_index = p;
    part.leader_id = id.node_id;
    part.leader_epoch = 0;
    part.replica_nodes = {id.node_id};
    part.isr_nodes = {id.node_id};
    out.partitions.push_back(std::move(part));
  }
  if (with_operations) out.topic_authorized_operations = topic_operations;
  return out;
}

response_topic topic_error(std::optional<std::string> name, protocol::uuid id, error_code code) {
  response_topic out;
  out.name = std::move(name);
  out.topic_id = id;
  out.error_code = wire(code);
  return out;
}

}  // namespace

void handle_metadata(const request_context& ctx, responder r) {
  auto request = ctx.decode<protocol::metadata_request>();
  const auto& id = ctx.services.identity;
  auto& topics = ctx.services.topics;
  bool with_operations = request.include_topic_authorized_operations;

  protocol::metadata_response response;
  response.brokers.push_back({id.node_id, id.advertised_host, id.advertised_port, std::nullopt, {}});
  response.cluster_id = id.cluster_id;
  response.controller_id = id.node_id;
  if (request.include_cluster_authorized_operations) response.cluster_authorized_operations = cluster_operations;

  // v0: an empty list means every topic; v1+: null means every topic.
  bool all_topics = !request.topics || (ctx.version() == 0 && request.topics->empty());
  if (all_topics) {
    for (const auto& t : topics.all()) response.topics.push_back(describe_topic(*t, id, with_operations));
    r.respond(ctx.encode(response));
    return;
  }

  // Auto-creation is implied below v4 and asked for explicitly from v4.
  bool may_create = ctx.services.config.auto_create_topics && (ctx.version() < 4 || request.allow_auto_topic_creation);
  for (const auto& wanted : *request.topics) {
    if (!wanted.name) {
      auto t = topics.find(wanted.topic_id);
      if (!t) {
        response.topics.push_back(topic_error(std::nullopt, wanted.topic_id, error_code::unknown_topic_id));
      } else {
        response.topics.push_back(describe_topic(*t, id, with_operations));
      }
      continue;
    }
    const std::string& name = *wanted.name;
    if (!metadata::validate_topic_name(name)) {
      response.topics.push_back(topic_error(name, {}, error_code::invalid_topic_exception));
      continue;
    }
    auto t = topics.find(name);
    if (!t && may_create) {
      auto created = topics.create_topic(name, ctx.services.config.num_partitions, {}, false);
      if (!created && created.error().code != metadata::errc::topic_exists) {
        response.topics.push_back(topic_error(name, {}, to_wire(created.error().code)));
        continue;
      }
      t = topics.find(name);
    }
    if (!t) {
      response.topics.push_back(topic_error(name, {}, error_code::unknown_topic_or_partition));
      continue;
    }
    response.topics.push_back(describe_topic(*t, id, with_operations));
  }
  r.respond(ctx.encode(response));
}

}  // namespace geomirror::handlers

// CreateTopics (key 19): validated creation, validate-only, per-topic configs.

#include "broker-core/handlers/error_mapping.h"
#include "broker-core/handlers/handlers.h"
#include "broker-core/protocol/error_code.h"
#include "broker-core/protocol/messages/create_topics_request.h"
#include "broker-core/protocol/messages/create_topics_response.h"

#include <fmt/format.h>

#include <set>

namespace geomirror::handlers {
namespace {

using protocol::error_code;
using protocol::wire;
using topic_result = protocol::create_topics_response::creatable_topic_result;

// The effective configuration of a (possibly not yet created) topic, as
// CreateTopics v5+ reports it.
void fill_configs(topic_result& out, const request_context& ctx, const config::topic_overrides& overrides) {
  out.configs.emplace();
  for (const auto& [name, value] : config::effective_topic_config(ctx.services.config.topic_defaults_, overrides)) {
    protocol::create_topics_response::creatable_topic_configs c;
    c.name = name;
    c.value = value.value;
    c.read_only = false;
    c.config_source = static_cast<int8_t>(value.source);
    c.is_sensitive = false;
    out.configs->push_back(std::move(c));
  }
}

void fail(topic_result& out, error_code code, std::string message) {
  out.error_code = wire(code);
  out.error_message = std::move(message);
}

}  // namespace

void handle_create_topics(const request_context& ctx, responder r) {
  auto request = ctx.decode<protocol::create_topics_request>();
  const auto& broker = ctx.services.config;
  const int32_t node = ctx.services.identity.node_id;
  protocol::create_topics_response response;

  std::multiset<std::string> names;
  for (const auto& t : request.topics) names.insert(t.name);

  for (const auto& topic : request.topics) {
    topic_result out;
    out.name = topic.name;
    out.error_message = std::nullopt;  // as Kafka on success (ApiError.NONE)
    if (names.count(topic.name) > 1) {
      fail(out, error_code::invalid_request, fmt::format("Create topics request from client contains multiple entries for topic {}", topic.name));
      response.topics.push_back(std::move(out));
      continue;
    }

    int32_t partitions = topic.num_partitions;
    int16_t replication = topic.replication_factor;
    if (!topic.assignments.empty()) {
      if (partitions != -1 || replication != -1) {
        fail(out, error_code::invalid_request,
             "Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the same time.");
        response.topics.push_back(std::move(out));
        continue;
      }
      std::optional<std::string> problem;
      std::set<int32_t> indexes;
      for (const auto& a : topic.assignments) {
        indexes.insert(a.partition_index);
        if (a.broker_ids != std::vector<int32_t>{node}) {
          problem = fmt::format("Partition {} is assigned to brokers other than this region's only broker ({})",
                                a.partition_index, node);
        }
      }
      if (!problem && (indexes.size() != topic.assignments.size() || *indexes.begin() != 0 ||
                       *indexes.rbegin() != static_cast<int32_t>(indexes.size()) - 1)) {
        problem = "Partitions should be a consecutive 0-based integer sequence";
      }
      if (problem) {
        fail(out, error_code::invalid_replica_assignment, *problem);
        response.topics.push_back(std::move(out));
        continue;
      }
      partitions = static_cast<int32_t>(topic.assignments.size());
      replication = 1;
    }
    if (partitions == -1) partitions = broker.num_partitions;
    if (replication == -1) replication = 1;
    if (replication <= 0) {
      fail(out, error_code::invalid_replication_factor, "Replication factor must be larger than 0, or -1 to use the default value.");
      response.topics.push_back(std::move(out));
      continue;
    }
    if (replication > 1) {
      fail(out, error_code::invalid_replication_factor,
           fmt::format("Unable to replicate the partition {} time(s): The target replication factor of {} cannot be "
                       "reached because only 1 broker(s) are registered.",
                       replication, replication));
      response.topics.push_back(std::move(out));
      continue;
    }

    config::topic_overrides overrides;
    std::optional<std::string> config_problem;
    for (const auto& c : topic.configs) {
      if (!c.value) {
        config_problem = fmt::format("Null value not supported for topic configs: {}", c.name);
        break;
      }
      overrides[c.name] = *c.value;
    }
    if (config_problem) {
      fail(out, error_code::invalid_config, *config_problem);
      response.topics.push_back(std::move(out));
      continue;
    }

    if (auto created = ctx.services.topics.create_topic(topic.name, partitions, overrides, request.validate_only);
        !created) {
      fail(out, to_wire(created.error().code), created.error().message);
      response.topics.push_back(std::move(out));
      continue;
    }
    out.num_partitions = partitions;
    out.replication_factor = replication;
    if (!request.validate_only) {
      if (auto created = ctx.services.topics.find(topic.name)) out.topic_id = created->id;
    }
    fill_configs(out, ctx, overrides);
    response.topics.push_back(std::move(out));
  }
  r.respond(ctx.encode(response));
}

}  // namespace geomirror::handlers

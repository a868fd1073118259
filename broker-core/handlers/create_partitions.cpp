// CreatePartitions (key 37): grow a topic's partition count.

#include "broker-core/handlers/error_mapping.h"
#include "broker-core/handlers/handlers.h"
#include "broker-core/protocol/error_code.h"
#include "broker-core/protocol/messages/create_partitions_request.h"
#include "broker-core/protocol/messages/create_partitions_response.h"

#include <fmt/format.h>

#include <set>

namespace geomirror::handlers {

void handle_create_partitions(const request_context& ctx, responder r) {
  using protocol::error_code;
  using protocol::wire;
  auto request = ctx.decode<protocol::create_partitions_request>();
  const int32_t node = ctx.services.identity.node_id;
  protocol::create_partitions_response response;

  std::multiset<std::string> names;
  for (const auto& t : request.topics) names.insert(t.name);

  for (const auto& topic : request.topics) {
    protocol::create_partitions_response::create_partitions_topic_result out;
    out.name = topic.name;
    auto fail = [&](error_code code, std::string message) {
      out.error_code = wire(code);
      out.error_message = std::move(message);
    };
    auto current = ctx.services.topics.find(topic.name);
    if (names.count(topic.name) > 1) {
      fail(error_code::invalid_request, "Duplicate topic in request.");
    } else if (!current) {
      fail(error_code::unknown_topic_or_partition, "The topic does not exist.");
    } else if (topic.assignments &&
               static_cast<int32_t>(topic.assignments->size()) != topic.count - current->partition_count()) {
      fail(error_code::invalid_replica_assignment,
           fmt::format("Increasing the number of partitions by {} but {} assignments provided.",
                       topic.count - current->partition_count(), topic.assignments->size()));
    } else {
      bool assignments_ok = true;
      if (topic.assignments) {
        for (const auto& a : *topic.assignments) assignments_ok &= a.broker_ids == std::vector<int32_t>{node};
      }
      if (!assignments_ok) {
        fail(error_code::invalid_replica_assignment,
             fmt::format("New partitions can only be assigned to this region's only broker ({})", node));
      } else if (auto grown = ctx.services.topics.create_partitions(topic.name, topic.count, request.validate_only);
                 !grown) {
        fail(to_wire(grown.error().code), grown.error().message);
      }
    }
    response.results.push_back(std::move(out));
  }
  r.respond(ctx.encode(response));
}

}  // namespace geomirror::handlers

// DeleteTopics (key 20): by name (v0-5) or by name or id (v6+).

#include "broker-core/handlers/error_mapping.h"
#include "broker-core/handlers/handlers.h"
#include "broker-core/protocol/error_code.h"
#include "broker-core/protocol/messages/delete_topics_request.h"
#include "broker-core/protocol/messages/delete_topics_response.h"

namespace geomirror::handlers {
namespace {

using protocol::error_code;
using protocol::wire;
using topic_result = protocol::delete_topics_response::deletable_topic_result;

topic_result delete_one(const request_context& ctx, std::optional<std::string> name, protocol::uuid id) {
  topic_result out;
  out.name = name;
  out.topic_id = id;
  std::shared_ptr<const metadata::topic_snapshot> topic;
  if (name) {
    topic = ctx.services.topics.find(*name);
    if (!topic) {
      out.error_code = wire(error_code::unknown_topic_or_partition);
      out.error_message = "This server does not host this topic-partition.";
      return out;
    }
  } else {
    topic = ctx.services.topics.find(id);
    if (!topic) {
      out.error_code = wire(error_code::unknown_topic_id);
      out.error_message = "This server does not host this topic ID.";
      return out;
    }
    out.name = topic->name;
  }
  out.topic_id = topic->id;
  if (auto deleted = ctx.services.topics.delete_topic(topic->name); !deleted) {
    out.error_code = wire(to_wire(deleted.error().code));
    out.error_message = deleted.error().message;
  }
  return out;
}

}  // namespace

void handle_delete_topics(const request_context& ctx, responder r) {
  auto request = ctx.decode<protocol::delete_topics_request>();
  protocol::delete_topics_response response;
  if (ctx.version() >= 6) {
    for (const auto& t : request.topics) response.responses.push_back(delete_one(ctx, t.name, t.topic_id));
  } else {
    for (const auto& name : request.topic_names) response.responses.push_back(delete_one(ctx, name, {}));
  }
  r.respond(ctx.encode(response));
}

}  // namespace geomirror::handlers

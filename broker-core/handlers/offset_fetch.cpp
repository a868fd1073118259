// OffsetFetch (key 9): committed offsets of a group (v0-7) or of several
// groups (v8+); a null topic list (v2+) means every partition the group has
// committed. Partitions without a commit read offset -1.

#include "broker-core/handlers/error_mapping.h"
#include "broker-core/handlers/handlers.h"
#include "broker-core/protocol/messages/offset_fetch_request.h"
#include "broker-core/protocol/messages/offset_fetch_response.h"

#include <spdlog/spdlog.h>

namespace geomirror::handlers {
namespace {

// Requested partitions of one group (nullopt: all).
template <class Topics>
std::optional<std::vector<group::topic_partition>> requested(const std::optional<std::vector<Topics>>& topics) {
  if (!topics) return std::nullopt;
  std::vector<group::topic_partition> out;
  for (const auto& t : *topics) {
    for (int32_t p : t.partition_indexes) out.push_back({t.name, p});
  }
  return out;
}

// Fills `topics` (one entry per topic, in first-seen order) from fetched
// offsets; Topic and Partition are the response's structs for the version.
template <class Topic, class Partition>
void fill(std::vector<Topic>& topics, std::vector<group::fetched_offset>& fetched) {
  for (auto& f : fetched) {
    if (topics.empty() || topics.back().name != f.partition.topic) {
      Topic t;
      t.name = f.partition.topic;
      topics.push_back(std::move(t));
    }
    Partition p;
    p.partition_index = f.partition.partition;
    p.committed_offset = f.value.offset;
    p.committed_leader_epoch = f.value.leader_epoch;
    p.metadata = std::move(f.value.metadata);
    p.error_code = protocol::wire(to_wire(f.error));
    topics.back().partitions.push_back(std::move(p));
  }
}

}  // namespace

void handle_offset_fetch(const request_context& ctx, responder r) {
  auto request = ctx.decode<protocol::offset_fetch_request>();
  auto& groups = ctx.services.groups;
  protocol::offset_fetch_response response;
  if (ctx.version() < 8) {
    spdlog::debug("[{} corr={}] OffsetFetch v{} group {}", ctx.header.client_id.value_or(""),
                  ctx.header.correlation_id, ctx.version(), request.group_id);
    auto fetched = groups.fetch_offsets(request.group_id, requested(request.topics), request.require_stable);
    fill<protocol::offset_fetch_response::offset_fetch_response_topic,
         protocol::offset_fetch_response::offset_fetch_response_partition>(response.topics, fetched);
  } else {
    for (const auto& g : request.groups) {
      spdlog::debug("[{} corr={}] OffsetFetch v{} group {}", ctx.header.client_id.value_or(""),
                    ctx.header.correlation_id, ctx.version(), g.group_id);
      auto fetched = groups.fetch_offsets(g.group_id, requested(g.topics), request.require_stable);
      auto& out = response.groups.emplace_back();
      out.group_id = g.group_id;
      fill<protocol::offset_fetch_response::offset_fetch_response_topics,
           protocol::offset_fetch_response::offset_fetch_response_partitions>(out.topics, fetched);
    }
  }
  r.respond(ctx.encode(response));
}

}  // namespace geomirror::handlers

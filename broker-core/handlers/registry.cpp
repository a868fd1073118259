#include "broker-core/handlers/registry.h"

#include "broker-core/base/endian.h"
#include "broker-core/handlers/handlers.h"
#include "broker-core/protocol/error_code.h"
#include "broker-core/protocol/messages/alter_configs_request.h"
#include "broker-core/protocol/messages/api_versions_request.h"
#include "broker-core/protocol/messages/api_versions_response.h"
#include "broker-core/protocol/messages/create_partitions_request.h"
#include "broker-core/protocol/messages/create_topics_request.h"
#include "broker-core/protocol/messages/delete_records_request.h"
#include "broker-core/protocol/messages/delete_groups_request.h"
#include "broker-core/protocol/messages/delete_topics_request.h"
#include "broker-core/protocol/messages/describe_groups_request.h"
#include "broker-core/protocol/messages/describe_cluster_request.h"
#include "broker-core/protocol/messages/describe_configs_request.h"
#include "broker-core/protocol/messages/fetch_request.h"
#include "broker-core/protocol/messages/find_coordinator_request.h"
#include "broker-core/protocol/messages/heartbeat_request.h"
#include "broker-core/protocol/messages/join_group_request.h"
#include "broker-core/protocol/messages/leave_group_request.h"
#include "broker-core/protocol/messages/list_groups_request.h"
#include "broker-core/protocol/messages/incremental_alter_configs_request.h"
#include "broker-core/protocol/messages/init_producer_id_request.h"
#include "broker-core/protocol/messages/list_offsets_request.h"
#include "broker-core/protocol/messages/metadata_request.h"
#include "broker-core/protocol/messages/offset_commit_request.h"
#include "broker-core/protocol/messages/offset_delete_request.h"
#include "broker-core/protocol/messages/offset_fetch_request.h"
#include "broker-core/protocol/messages/produce_request.h"
#include "broker-core/protocol/messages/response_header.h"
#include "broker-core/protocol/messages/sync_group_request.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <array>
#include <chrono>

namespace geomirror::handlers {
namespace {

template <class Request>
constexpr api_entry entry(handler_fn handler, std::string_view name, int16_t min_version = Request::min_version) {
  return {Request::api_key, min_version, Request::max_version, handler, name, false};
}

// An API whose handler may wait for the disk (api_entry::blocking).
template <class Request>
constexpr api_entry blocking_entry(handler_fn handler, std::string_view name) {
  return {Request::api_key, Request::min_version, Request::max_version, handler, name, true};
}

// Every version of each schema is served, except Fetch below 4, which would
// have to down-convert batches to the pre-0.11 MessageSet format. Produce
// v0-v2 are served (old message sets are up-converted): librdkafka 2.0.2
// only compresses with gzip, snappy or lz4 when the broker's Produce range
// includes v0.
const std::array apis = {
    entry<protocol::produce_request>(handle_produce, "Produce"),
    entry<protocol::fetch_request>(handle_fetch, "Fetch", 4),
    blocking_entry<protocol::list_offsets_request>(handle_list_offsets, "ListOffsets"),
    entry<protocol::metadata_request>(handle_metadata, "Metadata"),
    entry<protocol::api_versions_request>(handle_api_versions, "ApiVersions"),
    blocking_entry<protocol::create_topics_request>(handle_create_topics, "CreateTopics"),
    blocking_entry<protocol::delete_topics_request>(handle_delete_topics, "DeleteTopics"),
    entry<protocol::describe_configs_request>(handle_describe_configs, "DescribeConfigs"),
    blocking_entry<protocol::create_partitions_request>(handle_create_partitions, "CreatePartitions"),
    entry<protocol::describe_cluster_request>(handle_describe_cluster, "DescribeCluster"),
    entry<protocol::find_coordinator_request>(handle_find_coordinator, "FindCoordinator"),
    entry<protocol::offset_commit_request>(handle_offset_commit, "OffsetCommit"),
    entry<protocol::offset_fetch_request>(handle_offset_fetch, "OffsetFetch"),
    entry<protocol::join_group_request>(handle_join_group, "JoinGroup"),
    entry<protocol::heartbeat_request>(handle_heartbeat, "Heartbeat"),
    entry<protocol::leave_group_request>(handle_leave_group, "LeaveGroup"),
    entry<protocol::sync_group_request>(handle_sync_group, "SyncGroup"),
    entry<protocol::describe_groups_request>(handle_describe_groups, "DescribeGroups"),
    entry<protocol::list_groups_request>(handle_list_groups, "ListGroups"),
    entry<protocol::delete_groups_request>(handle_delete_groups, "DeleteGroups"),
    entry<protocol::offset_delete_request>(handle_offset_delete, "OffsetDelete"),
    blocking_entry<protocol::init_producer_id_request>(handle_init_producer_id, "InitProducerId"),
    blocking_entry<protocol::delete_records_request>(handle_delete_records, "DeleteRecords"),
    blocking_entry<protocol::alter_configs_request>(handle_alter_configs, "AlterConfigs"),
    blocking_entry<protocol::incremental_alter_configs_request>(handle_incremental_alter_configs,
                                                                "IncrementalAlterConfigs"),
};

net::frame_bytes encode_response_header(int16_t api_key, int16_t api_version, int32_t correlation_id) {
  protocol::response_header header;
  header.correlation_id = correlation_id;
  net::frame_bytes out;
  protocol::writer w(out);
  header.encode(w, protocol::response_header_version(api_key, api_version));
  return out;
}

// KIP-511: an ApiVersions request of a version we do not know still gets an
// answer, a v0 body with UNSUPPORTED_VERSION and our ranges, so the client
// can retry with a version we serve.
net::dispatch_result unsupported_api_versions(int32_t correlation_id) {
  protocol::api_versions_response response;
  response.error_code = protocol::wire(protocol::error_code::unsupported_version);
  for (const auto& api : apis) {
    response.api_keys.push_back({api.key, api.min_version, api.max_version, {}});
  }
  protocol::bytes body;
  protocol::writer w(body);
  response.encode(w, 0);
  return net::dispatch_result::respond(encode_response_header(protocol::api_versions_request::api_key, 0, correlation_id),
                                       std::move(body));
}

// Wraps a responder so the probe sees each request's outcome and latency.
net::respond_fn metered(net::respond_fn respond, metrics::broker_probe& probe, int16_t api_key, size_t request_bytes) {
  return [respond = std::move(respond), &probe, api_key, request_bytes,
          start = std::chrono::steady_clock::now()](net::dispatch_result r) {
    constexpr size_t size_prefix = 4;
    switch (r.what) {
      case net::dispatch_result::kind::respond:
        probe.record_request(api_key, std::chrono::steady_clock::now() - start, request_bytes + size_prefix,
                             r.size() + size_prefix);
        break;
      case net::dispatch_result::kind::no_response:
        probe.record_request(api_key, std::chrono::steady_clock::now() - start, request_bytes + size_prefix, 0);
        break;
      case net::dispatch_result::kind::close:
        probe.record_rejected(api_key);
        break;
    }
    respond(std::move(r));
  };
}

}  // namespace

std::span<const api_entry> served_apis() { return apis; }

const api_entry* find_served_api(int16_t key) {
  for (const auto& api : apis) {
    if (api.key == key) return &api;
  }
  return nullptr;
}

bool api_dispatcher::on_admin_thread(const api_entry& api) const {
  // Metadata creates the topics it is asked for when auto-creation is on.
  return api.blocking || (api.key == protocol::metadata_request::api_key && services_.config.auto_create_topics);
}

bool api_dispatcher::is_barrier(const net::request_frame& request) const {
  const api_entry* api = find_served_api(static_cast<int16_t>(base::load_be16(request.data->data())));
  return api != nullptr && on_admin_thread(*api);
}

void api_dispatcher::dispatch(const net::request_frame& request, net::respond_fn respond) {
  const auto& frame = *request.data;
  int16_t api_key = static_cast<int16_t>(base::load_be16(frame.data()));
  if (probe_ != nullptr) respond = metered(std::move(respond), *probe_, api_key, frame.size());
  int16_t api_version = static_cast<int16_t>(base::load_be16(frame.data() + 2));
  const api_entry* api = find_served_api(api_key);
  if (api == nullptr) {
    respond(net::dispatch_result::close(fmt::format("request for unknown API key {} (version {})", api_key, api_version)));
    return;
  }

  // Kafka closes the connection on a version it does not serve, except for
  // ApiVersions, which gets an answer the client can read (KIP-511).
  bool supported = api_version >= api->min_version && api_version <= api->max_version;
  if (!supported && api_key != protocol::api_versions_request::api_key) {
    respond(net::dispatch_result::close(fmt::format("{} v{} is not supported (this broker serves v{}-v{})", api->name,
                                                    api_version, api->min_version, api->max_version)));
    return;
  }

  protocol::reader reader(frame);
  protocol::request_header header;
  try {
    header.decode(reader, protocol::request_header_version(api_key, api_version));
  } catch (const protocol::decode_error& e) {
    respond(net::dispatch_result::close(fmt::format("malformed request header for {} v{}: {}", api->name, api_version, e.what())));
    return;
  }
  if (!supported) {
    respond(unsupported_api_versions(header.correlation_id));
    return;
  }

  request_context ctx{std::move(header), request.data, std::span<const uint8_t>(frame).subspan(reader.position()),
                      services_, request.peer};
  int32_t correlation_id = ctx.header.correlation_id;
  auto shared_respond = std::make_shared<net::respond_fn>(std::move(respond));
  responder r{
      [shared_respond, api_key, api_version, correlation_id](std::optional<response_body> body) {
        if (!body) {
          (*shared_respond)(net::dispatch_result::none());
          return;
        }
        (*shared_respond)(net::dispatch_result::respond(encode_response_header(api_key, api_version, correlation_id),
                                                        std::move(body->bytes), std::move(body->splices)));
      },
      [shared_respond](std::string reason) { (*shared_respond)(net::dispatch_result::close(std::move(reason))); }};
  auto run = [api, api_version, correlation_id, ctx = std::move(ctx), r = std::move(r), shared_respond]() mutable {
    try {
      api->handler(ctx, std::move(r));
    } catch (const protocol::decode_error& e) {
      (*shared_respond)(net::dispatch_result::close(
          fmt::format("malformed {} v{} request (correlation id {}, client {}): {}", api->name, api_version,
                      correlation_id, ctx.header.client_id.value_or("(null)"), e.what())));
    } catch (const std::exception& e) {
      spdlog::error("{} v{} handler failed (correlation id {}, client {} at {}): {}", api->name, api_version,
                    correlation_id, ctx.header.client_id.value_or("(null)"), ctx.peer, e.what());
      (*shared_respond)(net::dispatch_result::close(fmt::format("internal error while handling {}", api->name)));
    }
  };
  if (on_admin_thread(*api)) {
    services_.admin.post(std::move(run));
  } else {
    run();
  }
}

}  // namespace geomirror::handlers

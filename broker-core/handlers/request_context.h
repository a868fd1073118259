#pragma once
// What a request handler gets: the parsed request header, the body bytes
// (kept alive by the shared frame), the broker's services, and how to answer.

#include "broker-core/base/scheduler.h"
#include "broker-core/config/broker_config.h"
#include "broker-core/group/group_coordinator.h"
#include "broker-core/metadata/producer_ids.h"
#include "broker-core/metadata/topic_registry.h"
#include "broker-core/metrics/broker_probe.h"
#include "broker-core/net/dispatcher.h"
#include "broker-core/protocol/messages/request_header.h"
#include "broker-core/protocol/wire.h"
#include "broker-core/storage/worker_pool.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>

namespace geomirror::handlers {

// Who this broker is, as clients must see it (Metadata, DescribeCluster).
struct cluster_identity {
  std::string cluster_id;
  int32_t node_id = 0;
  std::string advertised_host;
  int32_t advertised_port = 0;
};

// The long-lived parts of the broker that handlers use. Outlives every request.
struct broker_services {
  metadata::topic_registry& topics;
  const config::broker_config& config;
  base::scheduler& timers;
  cluster_identity identity;
  group::group_coordinator& groups;
  metadata::producer_id_allocator& producer_ids;
  // Storage threads for work that may wait for the disk (cold reads).
  storage::worker_pool& io;
  // The thread that runs blocking handlers (api_entry::blocking), in order.
  storage::worker_pool& admin;
  metrics::broker_probe* probe = nullptr;  // may be null (no metrics)
};

struct request_context {
  protocol::request_header header;
  std::shared_ptr<const net::frame_bytes> frame;  // owns `body`
  std::span<const uint8_t> body;
  broker_services& services;
  std::string peer;

  int16_t version() const { return header.request_api_version; }

  // Decodes the body as `Request` at this request's version; throws
  // protocol::decode_error on malformed input (the connection is closed).
  template <class Request>
  Request decode() const {
    protocol::reader reader(body);
    Request request;
    request.decode(reader, version());
    return request;
  }

  // Encodes a response body at this request's version.
  template <class Response>
  protocol::bytes encode(const Response& response) const {
    protocol::bytes out;
    protocol::writer writer(out);
    response.encode(writer, version());
    return out;
  }
};

// An encoded response body, with the file slices (record data of a Fetch)
// that the network layer sends from the page cache at their places.
struct response_body {
  response_body(protocol::bytes b) : bytes(std::move(b)) {}  // NOLINT: implicit, most bodies have no slices
  response_body(protocol::bytes b, base::splice_list s) : bytes(std::move(b)), splices(std::move(s)) {}

  protocol::bytes bytes;
  base::splice_list splices;
};

// A handler answers exactly once: with a response body, with nullopt when the
// protocol wants no response (acks=0 produce), or by throwing decode_error
// synchronously. It may answer later, from any thread.
using body_responder = std::function<void(std::optional<response_body>)>;
// A handler may also ask for the connection to be closed (acks=0 produce errors).
using close_connection = std::function<void(std::string reason)>;

struct responder {
  body_responder respond;
  close_connection close;
};

using handler_fn = void (*)(const request_context& ctx, responder r);

}  // namespace geomirror::handlers

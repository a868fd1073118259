#pragma once
// A minimal blocking Kafka client for tests: sends one request of any
// generated message type at a chosen version and decodes the response. Used
// where no real client sends a request or an edge case (exact versions,
// duplicate batches, protocol errors).

#include "broker-core/protocol/messages/request_header.h"
#include "broker-core/protocol/messages/response_header.h"
#include "broker-core/protocol/wire.h"

#include <cstdint>
#include <string>

namespace geomirror::testing {

class raw_client {
 public:
  // Connects to 127.0.0.1:`port`; throws std::runtime_error on failure.
  explicit raw_client(uint16_t port);
  ~raw_client();
  raw_client(const raw_client&) = delete;
  raw_client& operator=(const raw_client&) = delete;

  template <class Response, class Request>
  Response call(const Request& request, int16_t version) {
    auto body = exchange(frame_of(request, version));
    protocol::reader r(body);
    protocol::response_header response_header;
    response_header.decode(r, protocol::response_header_version(Request::api_key, version));
    if (response_header.correlation_id != correlation_id_) throw std::runtime_error("correlation id mismatch");
    Response response;
    response.decode(r, version);
    return response;
  }

  // Sends a frame and returns the response frame (without the size prefix).
  protocol::bytes exchange(const protocol::bytes& frame);
  // The same into `body`, whose memory is reused from call to call (for
  // benchmarks that read large responses).
  void exchange_into(const protocol::bytes& frame, protocol::bytes& body);

  // Encodes a request frame (header with a new correlation id, then the body).
  template <class Request>
  protocol::bytes frame_of(const Request& request, int16_t version) {
    protocol::bytes frame;
    protocol::writer w(frame);
    protocol::request_header header;
    header.request_api_key = Request::api_key;
    header.request_api_version = version;
    header.correlation_id = ++correlation_id_;
    header.client_id = "raw-test-client";
    header.encode(w, protocol::request_header_version(Request::api_key, version));
    request.encode(w, version);
    return frame;
  }

 private:
  int fd_ = -1;
  int32_t correlation_id_ = 0;
};

}  // namespace geomirror::testing

#pragma once
// What the network layer asks of the request layer: turn one request frame
// into a response frame (or none, or a reason to close the connection).
// The network layer knows framing, ordering and sockets; it knows nothing of
// Kafka APIs. Nothing here includes Asio, so handlers stay cheap to compile.

#include "broker-core/base/file_slice.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace geomirror::net {

using frame_bytes = std::vector<uint8_t>;

// One received request frame (without its 4-byte size prefix). The buffer is
// shared so asynchronous handlers may keep views into it until they respond.
struct request_frame {
  std::shared_ptr<const frame_bytes> data;
  std::string peer;        // "ip:port" of the client, for logs
  uint64_t connection_id;  // unique per connection, for logs
};

// The outcome of one request. A response is written as
// [int32 size][header][body], with the file slices of `splices` sent from
// the page cache (sendfile) at their places in the body; header and body are
// kept apart to avoid a copy.
struct dispatch_result {
  enum class kind { respond, no_response, close } what = kind::respond;
  frame_bytes header;
  frame_bytes body;
  base::splice_list splices;
  std::string close_reason;  // kind::close: logged as a warning with the peer

  // Bytes of the response after its size prefix.
  size_t size() const {
    size_t n = header.size() + body.size();
    for (const auto& s : splices) n += s.slice.length;
    return n;
  }

  static dispatch_result respond(frame_bytes header, frame_bytes body, base::splice_list splices = {}) {
    return {kind::respond, std::move(header), std::move(body), std::move(splices), {}};
  }
  static dispatch_result none() { return {kind::no_response, {}, {}, {}, {}}; }
  static dispatch_result close(std::string reason) { return {kind::close, {}, {}, {}, std::move(reason)}; }
};

// Called exactly once per request, from any thread.
using respond_fn = std::function<void(dispatch_result)>;

class dispatcher {
 public:
  virtual ~dispatcher() = default;
  // Called on the connection's strand in arrival order: work done before
  // this returns (such as appending a batch) happens in request order.
  virtual void dispatch(const request_frame& request, respond_fn respond) = 0;
  // True for a request that must run alone, as Kafka runs every request: the
  // connection dispatches it once all earlier ones are answered and reads the
  // next one only after it is answered (requests whose handler works off the
  // network threads keep their place in the connection's order that way).
  virtual bool is_barrier(const request_frame& /*request*/) const { return false; }
};

}  // namespace geomirror::net

#pragma once
// The broker's TCP server: accepts connections, reads size-prefixed request
// frames, hands them to a dispatcher and writes responses back in request
// order (clients pipeline requests). Runs an io_context on several threads;
// each connection lives on its own strand.

#include "broker-core/base/scheduler.h"
#include "broker-core/net/dispatcher.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace geomirror::net {

// Memory (docs/configuration.md, "Memory"): request frames are read into
// memory taken from one budget of queued_max_request_bytes, as their bytes
// arrive (a frame that announces 100 MiB and trickles holds only what came),
// and given back when the request is answered. Each connection also stops
// reading while its requests hold max_request_bytes or more, or when
// max_inflight_per_connection requests wait for answers. A connection that
// waits for budget longer than budget_wait_ms with a request half read is
// closed, so half-read requests cannot hold the budget forever.
struct server_options {
  std::string host = "127.0.0.1";
  uint16_t port = 9092;          // 0: pick a free port (see bound_port())
  int32_t max_request_bytes = 100 * 1024 * 1024;
  size_t queued_max_request_bytes = size_t{512} << 20;
  int64_t connections_max_idle_ms = 600'000;  // -1: never close idle connections
  int64_t budget_wait_ms = 30'000;
  int threads = 0;               // 0: one per CPU core
  size_t max_inflight_per_connection = 64;  // pipelined requests before reading pauses
};

class server {
 public:
  server(server_options options, dispatcher& dispatcher);
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  // Binds and listens; throws std::system_error if the address is unusable.
  void listen();
  uint16_t bound_port() const;

  // Runs the network threads until stop() or SIGINT/SIGTERM; returns then.
  void run();
  // Stops accepting, closes connections, ends run(). Safe from any thread.
  void stop();

  base::scheduler& timers();
  // Bytes of request memory taken from the budget right now, and open
  // connections (for metrics and tests).
  size_t request_memory_in_use() const;
  size_t connection_count() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace geomirror::net

#pragma once
// The broker's TCP server: accepts connections, reads size-prefixed request
// frames, hands them to a dispatcher and writes responses back in request
// order (clients pipeline requests). Runs an io_context on several threads;
// each connection lives on its own strand.

#include "broker-core/net/dispatcher.h"
#include "broker-core/net/scheduler.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace geomirror::net {

struct server_options {
  std::string host = "127.0.0.1";
  uint16_t port = 9092;          // 0: pick a free port (see bound_port())
  int32_t max_request_bytes = 100 * 1024 * 1024;
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

  scheduler& timers();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace geomirror::net

#pragma once
// The one list of served APIs and version ranges (ApiVersions is built from
// it, so what is advertised is what is implemented), and the dispatcher that
// routes request frames to handlers.

#include "broker-core/handlers/request_context.h"
#include "broker-core/metrics/broker_probe.h"
#include "broker-core/net/dispatcher.h"

#include <span>

namespace geomirror::handlers {

struct api_entry {
  int16_t key;
  int16_t min_version;
  int16_t max_version;
  handler_fn handler;
  std::string_view name;
  // The handler does file or database work (fsyncs, SQLite commits, file
  // creation and deletion, index lookups on cold data): it runs on the admin
  // thread, in arrival order, never on a network thread.
  bool blocking = false;
};

std::span<const api_entry> served_apis();
const api_entry* find_served_api(int16_t key);

// Parses request headers, applies Kafka's rules for unknown APIs and
// versions, runs the handler and frames its answer with the response header.
class api_dispatcher : public net::dispatcher {
 public:
  // `probe` (may be null) counts every request and its latency.
  api_dispatcher(broker_services& services, metrics::broker_probe* probe) : services_(services), probe_(probe) {}
  void dispatch(const net::request_frame& request, net::respond_fn respond) override;
  // What runs on the admin thread runs alone on its connection, in order.
  bool is_barrier(const net::request_frame& request) const override;

 private:
  // Blocking handlers, and Metadata while it may create topics, run on the
  // admin thread.
  bool on_admin_thread(const api_entry& api) const;

  broker_services& services_;
  metrics::broker_probe* probe_;
};

}  // namespace geomirror::handlers

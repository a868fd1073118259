#pragma once
// A whole broker core: configuration, data dir lock, metadata, partition
// logs, request handlers and the network server, started in that order and
// stopped in reverse. main() parses flags into broker_options and runs it.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace geomirror::app {

struct host_port {
  std::string host;
  uint16_t port = 0;
};

// Parses "HOST:PORT" or "[IPv6]:PORT"; throws std::invalid_argument with a
// message naming `what` (e.g. "--listen").
host_port parse_host_port(const std::string& text, const std::string& what);

struct broker_options {
  host_port listen{"127.0.0.1", 9092};
  std::optional<host_port> advertised;    // default: the listen address (with the bound port)
  std::filesystem::path data_dir;
  std::optional<std::string> cluster_id;  // default: the one stored in the data dir, else a new random id
  std::optional<std::filesystem::path> config_file;
  std::optional<host_port> metrics_listen;  // Prometheus /metrics endpoint; none by default
};

// Runs the broker until SIGINT/SIGTERM. Returns the process exit code; throws
// config::config_error / std::runtime_error when it cannot start.
int run_broker(const broker_options& options);

}  // namespace geomirror::app

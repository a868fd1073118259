#include "broker-core/app/broker_app.h"

#include "broker-core/app/data_dir_lock.h"
#include "broker-core/config/broker_config.h"
#include "broker-core/handlers/registry.h"
#include "broker-core/metadata/metadata_store.h"
#include "broker-core/metadata/topic_registry.h"
#include "broker-core/net/server.h"
#include "broker-core/protocol/wire.h"
#include "broker-core/storage/log_manager.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <charconv>
#include <stdexcept>

#include <unistd.h>

namespace geomirror::app {
namespace {

constexpr const char* cluster_id_setting = "cluster.id";

// The cluster id is fixed at the data dir's first start; a different
// --cluster-id later means the wrong data dir, so refuse it.
std::string resolve_cluster_id(metadata::metadata_store& store, const std::optional<std::string>& wanted,
                               const std::filesystem::path& data_dir) {
  auto stored = store.get_setting(cluster_id_setting);
  if (!stored) throw std::runtime_error("cannot read the cluster id from the metadata database");
  if (stored.value()) {
    if (wanted && *wanted != *stored.value()) {
      throw std::runtime_error(fmt::format(
          "data dir {} belongs to cluster '{}', not '{}'; pass --cluster-id {} or use another --data-dir",
          data_dir.string(), *stored.value(), *wanted, *stored.value()));
    }
    return *stored.value();
  }
  std::string id = wanted ? *wanted : protocol::uuid::random().to_string();
  if (id.empty()) throw std::runtime_error("--cluster-id must not be empty");
  if (!store.put_setting(cluster_id_setting, id)) throw std::runtime_error("cannot store the cluster id");
  return id;
}

std::string default_advertised_host(const std::string& listen_host) {
  if (listen_host != "0.0.0.0" && listen_host != "::") return listen_host;
  char name[256] = {};
  if (::gethostname(name, sizeof(name) - 1) == 0 && name[0] != '\0') return name;
  return "127.0.0.1";
}

}  // namespace

host_port parse_host_port(const std::string& text, const std::string& what) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) {
    throw std::invalid_argument(fmt::format("{} expects HOST:PORT, got '{}'", what, text));
  }
  std::string host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  unsigned port = 0;
  auto port_text = std::string_view(text).substr(colon + 1);
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc{} || end != port_text.data() + port_text.size() || port > 65535) {
    throw std::invalid_argument(fmt::format("{}: '{}' is not a port number (0-65535)", what, port_text));
  }
  return {host, static_cast<uint16_t>(port)};
}

int run_broker(const broker_options& options) {
  config::broker_config config =
      options.config_file ? config::broker_config::load(*options.config_file) : config::broker_config{};

  std::error_code ec;
  std::filesystem::create_directories(options.data_dir, ec);
  if (ec) {
    throw std::runtime_error(fmt::format("cannot create data dir {}: {}", options.data_dir.string(), ec.message()));
  }
  data_dir_lock lock(options.data_dir);

  metadata::metadata_store store(options.data_dir / "metadata.db");
  std::string cluster_id = resolve_cluster_id(store, options.cluster_id, options.data_dir);

  storage::log_manager_config storage_config;
  storage_config.data_dir = options.data_dir;
  storage_config.flusher_threads = static_cast<size_t>(config.flush_threads);
  storage_config.retention_check_interval_ms = config.retention_check_interval_ms;
  storage_config.flush_check_interval_ms = config.flush_scheduler_interval_ms;
  auto started = storage::log_manager::start(storage_config);
  if (!started) throw std::runtime_error(fmt::format("cannot start storage: {}", started.error().message()));
  auto& logs = *started.value();
  metadata::topic_registry topics(store, logs, config);
  topics.load();

  net::server_options server_options;
  server_options.host = options.listen.host;
  server_options.port = options.listen.port;
  server_options.max_request_bytes = config.max_request_bytes;
  server_options.threads = config.network_threads;

  // The dispatcher needs the scheduler of the server it serves, and the
  // server needs the dispatcher: tie them through a small forwarding object.
  struct forwarding_dispatcher : net::dispatcher {
    net::dispatcher* target = nullptr;
    void dispatch(const net::request_frame& request, net::respond_fn respond) override {
      target->dispatch(request, std::move(respond));
    }
  } forward;
  net::server server(server_options, forward);
  server.listen();
  uint16_t port = server.bound_port();

  handlers::cluster_identity identity;
  identity.cluster_id = cluster_id;
  identity.node_id = config.node_id;
  identity.advertised_host = options.advertised ? options.advertised->host : default_advertised_host(options.listen.host);
  identity.advertised_port = options.advertised ? options.advertised->port : port;
  handlers::broker_services services{topics, config, server.timers(), identity};
  handlers::api_dispatcher dispatcher(services);
  forward.target = &dispatcher;

  spdlog::info("geomirror-broker ready: listening on {}:{}, advertised as {}:{}, cluster id {}, node id {}, data dir {}",
               options.listen.host, port, identity.advertised_host, identity.advertised_port, cluster_id,
               identity.node_id, options.data_dir.string());
  server.run();

  logs.stop();
  spdlog::info("geomirror-broker stopped cleanly");
  return 0;
}

}  // namespace geomirror::app

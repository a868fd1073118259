#include "broker-core/app/broker_app.h"

#include "broker-core/app/data_dir_lock.h"
#include "broker-core/config/broker_config.h"
#include "broker-core/group/group_coordinator.h"
#include "broker-core/handlers/registry.h"
#include "broker-core/metadata/metadata_store.h"
#include "broker-core/metadata/producer_ids.h"
#include "broker-core/metadata/topic_registry.h"
#include "broker-core/metrics/broker_probe.h"
#include "broker-core/net/server.h"
#include "broker-core/protocol/wire.h"
#include "broker-core/storage/file_io.h"
#include "broker-core/storage/log_manager.h"

#include <fmt/format.h>
#include <prometheus/exposer.h>
#include <prometheus/registry.h>
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

group::coordinator_config group_settings(const config::broker_config& c) {
  group::coordinator_config g;
  g.initial_rebalance_delay_ms = c.group_initial_rebalance_delay_ms;
  g.min_session_timeout_ms = c.group_min_session_timeout_ms;
  g.max_session_timeout_ms = c.group_max_session_timeout_ms;
  g.max_size = c.group_max_size;
  g.offsets_retention_ms = int64_t{c.offsets_retention_minutes} * 60'000;
  g.offsets_retention_check_interval_ms = c.offsets_retention_check_interval_ms;
  g.offset_metadata_max_bytes = c.offset_metadata_max_bytes;
  return g;
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

  // Durably: a data dir whose own name is lost in a power cut loses everything in it.
  if (auto created = storage::create_directories_durably(options.data_dir); !created) {
    throw std::runtime_error(
        fmt::format("cannot create data dir {}: {}", options.data_dir.string(), created.error().message()));
  }
  data_dir_lock lock(options.data_dir);

  metadata::metadata_store store(options.data_dir / "metadata.db");
  std::string cluster_id = resolve_cluster_id(store, options.cluster_id, options.data_dir);

  storage::log_manager_config storage_config;
  storage_config.data_dir = options.data_dir;
  storage_config.flusher_threads = static_cast<size_t>(config.flush_threads);
  storage_config.io_threads = static_cast<size_t>(config.io_threads);
  storage_config.retention_check_interval_ms = config.retention_check_interval_ms;
  storage_config.flush_check_interval_ms = config.flush_scheduler_interval_ms;
  storage_config.cleaner_threads = static_cast<size_t>(config.cleaner_threads);
  storage_config.cleaner_backoff_ms = config.cleaner_backoff_ms;
  storage_config.cleaner_dedupe_buffer_bytes = static_cast<size_t>(config.cleaner_dedupe_buffer_bytes);
  storage_config.producer_id_expiration_ms = config.producer_id_expiration_ms;
  storage_config.producer_id_expiration_check_interval_ms = config.producer_id_expiration_check_interval_ms;
  auto started = storage::log_manager::start(storage_config);
  if (!started) throw std::runtime_error(fmt::format("cannot start storage: {}", started.error().message()));
  auto& logs = *started.value();
  metadata::topic_registry topics(store, logs, config);
  topics.load();

  net::server_options server_options;
  server_options.host = options.listen.host;
  server_options.port = options.listen.port;
  server_options.max_request_bytes = config.max_request_bytes;
  server_options.queued_max_request_bytes = static_cast<size_t>(config.queued_max_request_bytes);
  server_options.connections_max_idle_ms = config.connections_max_idle_ms;
  server_options.budget_wait_ms = config.queued_max_request_wait_ms;
  server_options.threads = config.network_threads;

  // The dispatcher needs the scheduler of the server it serves, and the
  // server needs the dispatcher: tie them through a small forwarding object.
  struct forwarding_dispatcher : net::dispatcher {
    net::dispatcher* target = nullptr;
    void dispatch(const net::request_frame& request, net::respond_fn respond) override {
      target->dispatch(request, std::move(respond));
    }
    bool is_barrier(const net::request_frame& request) const override { return target->is_barrier(request); }
  } forward;
  net::server server(server_options, forward);
  server.listen();
  uint16_t port = server.bound_port();

  handlers::cluster_identity identity;
  identity.cluster_id = cluster_id;
  identity.node_id = config.node_id;
  identity.advertised_host = options.advertised ? options.advertised->host : default_advertised_host(options.listen.host);
  identity.advertised_port = options.advertised ? options.advertised->port : port;
  // Groups and committed offsets share the metadata database (own tables,
  // own connection); a deleted topic's offsets go with it.
  group::group_coordinator groups(group_settings(config), options.data_dir / "metadata.db", server.timers(),
                                  [&topics](const std::string& topic) {
                                    auto t = topics.find(topic);
                                    return t ? t->partition_count() : -1;
                                  });
  groups.start();
  topics.add_topic_deleted_listener([&groups](const std::string& topic) { groups.on_topic_deleted(topic); });
  metadata::producer_id_allocator producer_ids(store);
  auto metrics_registry = std::make_shared<prometheus::Registry>();
  std::vector<std::pair<int16_t, std::string_view>> api_names;
  for (const auto& api : handlers::served_apis()) api_names.emplace_back(api.key, api.name);
  metrics::broker_probe probe(*metrics_registry, api_names);
  // Admin calls and other handlers that wait for the disk run here, in
  // arrival order (handlers/registry.cpp marks them).
  storage::worker_pool admin_thread(1, "gm-admin");
  handlers::broker_services services{topics, config,        server.timers(), identity, groups, producer_ids,
                                     logs.io(), admin_thread, &probe};
  auto partitions_collector = std::make_shared<metrics::partition_collector>(topics);
  std::unique_ptr<prometheus::Exposer> exposer;
  std::string metrics_note;
  if (options.metrics_listen) {
    try {
      exposer = std::make_unique<prometheus::Exposer>(
          fmt::format("{}:{}", options.metrics_listen->host, options.metrics_listen->port));
    } catch (const std::exception& e) {
      throw std::runtime_error(fmt::format("cannot serve metrics on {}:{}: {}", options.metrics_listen->host,
                                           options.metrics_listen->port, e.what()));
    }
    exposer->RegisterCollectable(metrics_registry);
    exposer->RegisterCollectable(partitions_collector);
    metrics_note = fmt::format(", metrics on http://{}:{}/metrics", options.metrics_listen->host,
                               exposer->GetListeningPorts().front());
  }
  handlers::api_dispatcher dispatcher(services, &probe);
  forward.target = &dispatcher;

  spdlog::info("geomirror-broker ready: listening on {}:{}, advertised as {}:{}, cluster id {}, node id {}, data dir {}{}",
               options.listen.host, port, identity.advertised_host, identity.advertised_port, cluster_id,
               identity.node_id, options.data_dir.string(), metrics_note);
  server.run();

  admin_thread.stop();
  groups.stop();
  logs.stop();
  spdlog::info("geomirror-broker stopped cleanly");
  return 0;
}

}  // namespace geomirror::app

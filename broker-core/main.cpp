// geomirror-broker: one region's Kafka-wire-compatible broker core.

#include "broker-core/app/broker_app.h"
#include "broker-core/config/broker_config.h"

#include <boost/program_options.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <iostream>

#include <malloc.h>
#include <sys/resource.h>

namespace po = boost::program_options;

namespace {

// Requests and fetch responses are buffers of up to a few MiB. With glibc's
// defaults each one is a fresh mmap (and its pages fault in zeroed) or grows
// and trims the heap; keeping them on a heap that is not trimmed eagerly
// halves the broker's page faults and system time under produce load.
void tune_allocator() {
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
}

// Every segment keeps its file open and every client holds a socket: raise
// the soft open-files limit to the hard one, as a broker's service unit would.
void raise_open_files_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

}  // namespace

int main(int argc, char** argv) {
  tune_allocator();
  raise_open_files_limit();
  po::options_description desc(
      "geomirror-broker: a Kafka-wire-compatible broker core for one region\n\n"
      "Usage: geomirror-broker --data-dir DIR [--listen HOST:PORT] [options]\n\nOptions");
  desc.add_options()
      ("help,h", "show this help and exit")
      ("listen", po::value<std::string>()->default_value("127.0.0.1:9092"),
       "address to accept Kafka clients on; port 0 picks a free port")
      ("advertised-listener", po::value<std::string>(),
       "HOST:PORT clients are told to connect to (default: the listen address)")
      ("data-dir", po::value<std::string>(), "directory for partition logs and metadata (required)")
      ("cluster-id", po::value<std::string>(),
       "stable cluster id reported in Metadata/DescribeCluster (default: the one stored in the data dir, or a new "
       "random id on first start)")
      ("config", po::value<std::string>(), "Kafka-style key=value file with broker settings and topic defaults")
      ("metrics-listen", po::value<std::string>(),
       "HOST:PORT to serve Prometheus metrics on (/metrics); port 0 picks a free port")
      ("log-level", po::value<std::string>()->default_value("info"),
       "trace, debug, info, warn, error, critical or off");

  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, desc), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << "geomirror-broker: " << e.what() << "\nRun 'geomirror-broker --help' for the options.\n";
    return 2;
  }
  if (vm.count("help")) {
    std::cout << desc << "\n";
    return 0;
  }
  if (!vm.count("data-dir")) {
    std::cerr << "geomirror-broker: --data-dir is required\nRun 'geomirror-broker --help' for the options.\n";
    return 2;
  }

  auto level = spdlog::level::from_str(vm["log-level"].as<std::string>());
  if (level == spdlog::level::off && vm["log-level"].as<std::string>() != "off") {
    std::cerr << "geomirror-broker: --log-level must be one of trace, debug, info, warn, error, critical, off\n";
    return 2;
  }
  spdlog::set_default_logger(spdlog::stderr_color_mt("geomirror-broker"));
  spdlog::set_level(level);
  spdlog::set_pattern("%Y-%m-%d %H:%M:%S.%e %^%l%$ %v");

  try {
    geomirror::app::broker_options options;
    options.listen = geomirror::app::parse_host_port(vm["listen"].as<std::string>(), "--listen");
    if (vm.count("advertised-listener")) {
      options.advertised =
          geomirror::app::parse_host_port(vm["advertised-listener"].as<std::string>(), "--advertised-listener");
    }
    options.data_dir = vm["data-dir"].as<std::string>();
    if (vm.count("cluster-id")) options.cluster_id = vm["cluster-id"].as<std::string>();
    if (vm.count("config")) options.config_file = vm["config"].as<std::string>();
    if (vm.count("metrics-listen")) {
      options.metrics_listen = geomirror::app::parse_host_port(vm["metrics-listen"].as<std::string>(), "--metrics-listen");
    }
    return geomirror::app::run_broker(options);
  } catch (const std::invalid_argument& e) {
    std::cerr << "geomirror-broker: " << e.what() << "\n";
    return 2;
  } catch (const geomirror::config::config_error& e) {
    spdlog::critical("bad configuration: {}", e.what());
    return 2;
  } catch (const std::exception& e) {
    spdlog::critical("cannot start: {}", e.what());
    return 1;
  }
}

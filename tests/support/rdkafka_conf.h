#pragma once
// Builds an rdkafka++ global configuration from key/value pairs, throwing
// with the key and librdkafka's reason when a value is refused. For tests and
// benchmarks that drive the broker with librdkafka.

#include <librdkafka/rdkafkacpp.h>

#include <map>
#include <memory>
#include <stdexcept>
#include <string>

namespace geomirror::testing {

inline std::unique_ptr<RdKafka::Conf> make_rdkafka_conf(const std::map<std::string, std::string>& values) {
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::string err;
  for (const auto& [k, v] : values) {
    if (conf->set(k, v, err) != RdKafka::Conf::CONF_OK) throw std::runtime_error(k + ": " + err);
  }
  return conf;
}

}  // namespace geomirror::testing

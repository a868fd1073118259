#pragma once
// One row of a configuration table: a Kafka-style key with its type, default,
// allowed values and documentation. Broker and topic configs are both tables
// of these, so validation, defaults and DescribeConfigs answers come from one
// place (librdkafka's rdkafka_conf.c table is the model).

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace geomirror::config {

// Values match DescribeConfigsResponse.ConfigType (KIP-569).
enum class config_type : int8_t {
  boolean = 1,
  string = 2,
  int32 = 3,
  int64 = 5,
  float64 = 6,
  list = 7,
};

// Values match DescribeConfigsResponse.ConfigSource.
enum class config_source : int8_t {
  unknown = 0,
  topic = 1,                 // DYNAMIC_TOPIC_CONFIG: set on the topic
  static_broker = 4,         // STATIC_BROKER_CONFIG: from the broker's --config file
  default_value = 5,         // DEFAULT_CONFIG
};

struct config_definition {
  std::string_view name;
  config_type type;
  std::string_view default_value;
  std::string_view documentation;
  int64_t min = INT64_MIN;                       // numeric types only
  int64_t max = INT64_MAX;
  std::vector<std::string_view> allowed = {};    // string/list types: the accepted values (empty = any)
  std::string_view synonym = {};                 // topic configs: the broker key that sets the default
};

// Returns an error message when `value` is not acceptable for `def`, naming
// the key, the value and what would be accepted.
std::optional<std::string> validate(const config_definition& def, std::string_view value);

// Finds a definition by name in a table.
const config_definition* find_definition(std::span<const config_definition> table, std::string_view name);

// Parsers for validated values; they assume validate() passed.
int64_t parse_int64(std::string_view value);
bool parse_bool(std::string_view value);
double parse_double(std::string_view value);
std::vector<std::string> parse_list(std::string_view value);

}  // namespace geomirror::config

#pragma once
// The topic configuration keys geomirror honours, their broker-level synonyms
// and defaults, and the resolution of a topic's effective configuration
// (topic override > broker --config file > built-in default). Only keys that
// change behaviour are accepted: an unknown or unsupported key is refused with
// INVALID_CONFIG rather than stored and ignored.

#include "broker-core/config/config_definition.h"

#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace geomirror::config {

// Every supported topic config (name, type, default, bounds, broker synonym).
std::span<const config_definition> topic_config_table();

// A value with where it came from, as DescribeConfigs reports it.
struct config_value {
  std::string value;
  config_source source = config_source::default_value;
  std::string synonym_name;   // the broker key that supplied it, when source is static_broker
};

// Topic config name -> value at broker level (built-in default or the broker
// file's synonym). Built by broker_config; complete for every table entry.
using topic_defaults = std::map<std::string, config_value, std::less<>>;

// Topic overrides as stored with the topic (already validated).
using topic_overrides = std::map<std::string, std::string, std::less<>>;

// Validates one topic override: the key must be in the table and the value
// acceptable. Returns the error message for INVALID_CONFIG.
std::optional<std::string> validate_topic_config(std::string_view key, std::string_view value);

// The value of every topic config for a topic: overrides first, then defaults.
std::map<std::string, config_value, std::less<>> effective_topic_config(const topic_defaults& defaults,
                                                                        const topic_overrides& overrides);

// Built-in defaults of every topic config (no broker file).
topic_defaults builtin_topic_defaults();

}  // namespace geomirror::config

// AlterConfigs (key 33) and IncrementalAlterConfigs (key 44): change topic
// configs at run time, validated as a whole before anything is applied.
// Broker configs are static (the --config file), so altering them is refused.

#include "broker-core/handlers/error_mapping.h"
#include "broker-core/handlers/handlers.h"
#include "broker-core/protocol/error_code.h"
#include "broker-core/protocol/messages/alter_configs_request.h"
#include "broker-core/protocol/messages/alter_configs_response.h"
#include "broker-core/protocol/messages/incremental_alter_configs_request.h"
#include "broker-core/protocol/messages/incremental_alter_configs_response.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <set>

namespace geomirror::handlers {
namespace {

using protocol::error_code;
using protocol::wire;

constexpr int8_t topic_resource = 2;
constexpr int8_t broker_resource = 4;

// The outcome of one resource: none, or a Kafka error with its message.
struct resource_outcome {
  error_code code = error_code::none;
  std::string message;
};

resource_outcome refuse_other_resources(int8_t resource_type) {
  if (resource_type == broker_resource) {
    return {error_code::invalid_request,
            "Broker configs are static in geomirror: edit the broker's --config file and restart it"};
  }
  return {error_code::invalid_request,
          fmt::format("Unsupported resource type {} (topic configs, type 2, can be altered)", resource_type)};
}

resource_outcome apply(const request_context& ctx, const std::string& topic, const config::topic_overrides& overrides,
                       bool validate_only) {
  if (auto altered = ctx.services.topics.alter_configs(topic, overrides, validate_only); !altered) {
    return {to_wire(altered.error().code), altered.error().message};
  }
  return {};
}

template <class Result>
void fill(Result& out, const resource_outcome& outcome) {
  out.error_code = wire(outcome.code);
  // As Kafka: null on success.
  out.error_message = outcome.code == error_code::none ? std::nullopt : std::optional<std::string>(outcome.message);
}

// IncrementalAlterConfigs operations (KIP-339).
enum class config_operation : int8_t { set = 0, remove = 1, append = 2, subtract = 3 };

resource_outcome incremental_overrides(
    const std::vector<protocol::incremental_alter_configs_request::alterable_config>& changes,
    const metadata::topic_snapshot& topic, const std::map<std::string, config::config_value, std::less<>>& effective,
    config::topic_overrides& out) {
  out = topic.overrides;
  std::set<std::string> seen;
  for (const auto& c : changes) {
    if (!seen.insert(c.name).second) {
      return {error_code::invalid_request, fmt::format("Error due to duplicate config keys: {}", c.name)};
    }
    const auto* def = config::find_definition(config::topic_config_table(), c.name);
    if (def == nullptr) {
      return {error_code::invalid_config, fmt::format("Unknown or unsupported topic config name: {}", c.name)};
    }
    switch (static_cast<config_operation>(c.config_operation)) {
      case config_operation::set:
        if (!c.value) return {error_code::invalid_config, fmt::format("Null value not supported for {}", c.name)};
        out[c.name] = *c.value;
        break;
      case config_operation::remove:
        out.erase(c.name);
        break;
      case config_operation::append:
      case config_operation::subtract: {
        if (def->type != config::config_type::list) {
          return {error_code::invalid_config,
                  fmt::format("Config value append/subtract is only supported for list configs, not {}", c.name)};
        }
        if (!c.value) return {error_code::invalid_config, fmt::format("Null value not supported for {}", c.name)};
        auto current = config::parse_list(effective.at(c.name).value);
        for (const auto& item : config::parse_list(*c.value)) {
          auto it = std::find(current.begin(), current.end(), item);
          if (static_cast<config_operation>(c.config_operation) == config_operation::append) {
            if (it == current.end()) current.push_back(item);
          } else if (it != current.end()) {
            current.erase(it);
          }
        }
        out[c.name] = fmt::format("{}", fmt::join(current, ","));
        break;
      }
      default:
        return {error_code::invalid_request, fmt::format("Unknown config operation {} for {}", c.config_operation, c.name)};
    }
  }
  return {};
}

}  // namespace

void handle_alter_configs(const request_context& ctx, responder r) {
  auto request = ctx.decode<protocol::alter_configs_request>();
  protocol::alter_configs_response response;
  for (const auto& resource : request.resources) {
    protocol::alter_configs_response::alter_configs_resource_response out;
    out.resource_type = resource.resource_type;
    out.resource_name = resource.resource_name;
    resource_outcome outcome;
    if (resource.resource_type != topic_resource) {
      outcome = refuse_other_resources(resource.resource_type);
    } else {
      // AlterConfigs replaces the whole set of overrides.
      config::topic_overrides overrides;
      for (const auto& c : resource.configs) {
        if (!c.value) {
          outcome = {error_code::invalid_config, fmt::format("Null value not supported for topic configs: {}", c.name)};
          break;
        }
        overrides[c.name] = *c.value;
      }
      if (outcome.code == error_code::none) outcome = apply(ctx, resource.resource_name, overrides, request.validate_only);
    }
    fill(out, outcome);
    response.responses.push_back(std::move(out));
  }
  r.respond(ctx.encode(response));
}

void handle_incremental_alter_configs(const request_context& ctx, responder r) {
  auto request = ctx.decode<protocol::incremental_alter_configs_request>();
  protocol::incremental_alter_configs_response response;
  for (const auto& resource : request.resources) {
    protocol::incremental_alter_configs_response::alter_configs_resource_response out;
    out.resource_type = resource.resource_type;
    out.resource_name = resource.resource_name;
    resource_outcome outcome;
    if (resource.resource_type != topic_resource) {
      outcome = refuse_other_resources(resource.resource_type);
    } else if (auto topic = ctx.services.topics.find(resource.resource_name); !topic) {
      outcome = {error_code::unknown_topic_or_partition, "This server does not host this topic."};
    } else {
      config::topic_overrides overrides;
      outcome = incremental_overrides(resource.configs, *topic, ctx.services.topics.describe(*topic), overrides);
      if (outcome.code == error_code::none) outcome = apply(ctx, resource.resource_name, overrides, request.validate_only);
    }
    fill(out, outcome);
    response.responses.push_back(std::move(out));
  }
  r.respond(ctx.encode(response));
}

}  // namespace geomirror::handlers

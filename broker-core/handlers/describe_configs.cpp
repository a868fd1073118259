// DescribeConfigs (key 32): effective topic configs with their sources and
// synonyms, and this broker's static configuration.

#include "broker-core/handlers/handlers.h"
#include "broker-core/protocol/error_code.h"
#include "broker-core/protocol/messages/describe_configs_request.h"
#include "broker-core/protocol/messages/describe_configs_response.h"

#include <fmt/format.h>

#include <algorithm>

namespace geomirror::handlers {
namespace {

using protocol::error_code;
using protocol::wire;
using resource_result = protocol::describe_configs_response::describe_configs_result;
using config_entry = protocol::describe_configs_response::describe_configs_resource_result;
using synonym_entry = protocol::describe_configs_response::describe_configs_synonym;

constexpr int8_t topic_resource = 2;
constexpr int8_t broker_resource = 4;

bool wanted(const std::optional<std::vector<std::string>>& keys, std::string_view name) {
  return !keys || std::find(keys->begin(), keys->end(), name) != keys->end();
}

synonym_entry synonym(std::string name, std::string value, config::config_source source) {
  synonym_entry s;
  s.name = std::move(name);
  s.value = std::move(value);
  s.source = static_cast<int8_t>(source);
  return s;
}

config_entry make_entry(std::string name, std::string value, config::config_source source, bool read_only,
                        config::config_type type, std::string_view doc, bool include_documentation) {
  config_entry e;
  e.name = std::move(name);
  e.value = std::move(value);
  e.read_only = read_only;
  e.is_default = source == config::config_source::default_value;
  e.config_source = static_cast<int8_t>(source);
  e.is_sensitive = false;
  e.config_type = static_cast<int8_t>(type);
  // As Kafka: null unless asked for.
  e.documentation = include_documentation ? std::optional<std::string>(doc) : std::nullopt;
  return e;
}

void describe_topic(const request_context& ctx, const protocol::describe_configs_request& request,
                    const protocol::describe_configs_request::describe_configs_resource& resource, resource_result& out) {
  auto topic = ctx.services.topics.find(resource.resource_name);
  if (!topic) {
    out.error_code = wire(error_code::unknown_topic_or_partition);
    out.error_message = fmt::format("Topic '{}' does not exist.", resource.resource_name);
    return;
  }
  const auto& broker = ctx.services.config;
  auto effective = ctx.services.topics.describe(*topic);
  for (const auto& def : config::topic_config_table()) {
    if (!wanted(resource.configuration_keys, def.name)) continue;
    const auto& value = effective.at(std::string(def.name));
    auto e = make_entry(std::string(def.name), value.value, value.source, false, def.type, def.documentation,
                        request.include_documentation);
    if (request.include_synonyms) {
      // Most specific first, as Kafka lists them: topic override, broker file, built-in default.
      if (value.source == config::config_source::topic) {
        e.synonyms.push_back(synonym(std::string(def.name), value.value, config::config_source::topic));
      }
      const auto& broker_value = broker.topic_defaults_.at(std::string(def.name));
      if (broker_value.source == config::config_source::static_broker) {
        e.synonyms.push_back(synonym(broker_value.synonym_name, broker_value.value, config::config_source::static_broker));
      }
      e.synonyms.push_back(synonym(std::string(def.synonym), std::string(def.default_value),
                                   config::config_source::default_value));
    }
    out.configs.push_back(std::move(e));
  }
}

void describe_broker(const request_context& ctx, const protocol::describe_configs_request& request,
                     const protocol::describe_configs_request::describe_configs_resource& resource, resource_result& out) {
  if (!resource.resource_name.empty() && resource.resource_name != std::to_string(ctx.services.identity.node_id)) {
    out.error_code = wire(error_code::invalid_request);
    out.error_message = fmt::format("Unexpected broker id, expected {} or empty string, but received {}",
                                    ctx.services.identity.node_id, resource.resource_name);
    return;
  }
  for (const auto& c : config::describe_broker_config(ctx.services.config)) {
    if (!wanted(resource.configuration_keys, c.name)) continue;
    auto e = make_entry(c.name, c.value, c.source, true, c.type, c.documentation, request.include_documentation);
    if (request.include_synonyms) e.synonyms.push_back(synonym(c.name, c.value, c.source));
    out.configs.push_back(std::move(e));
  }
}

}  // namespace

void handle_describe_configs(const request_context& ctx, responder r) {
  auto request = ctx.decode<protocol::describe_configs_request>();
  protocol::describe_configs_response response;
  for (const auto& resource : request.resources) {
    resource_result out;
    out.resource_type = resource.resource_type;
    out.resource_name = resource.resource_name;
    if (resource.resource_type == topic_resource) {
      describe_topic(ctx, request, resource, out);
    } else if (resource.resource_type == broker_resource) {
      describe_broker(ctx, request, resource, out);
    } else {
      out.error_code = wire(error_code::invalid_request);
      out.error_message = fmt::format("Unsupported resource type {} (topics are 2, brokers 4)", resource.resource_type);
    }
    response.results.push_back(std::move(out));
  }
  r.respond(ctx.encode(response));
}

}  // namespace geomirror::handlers

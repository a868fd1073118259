// request_header_version() / response_header_version() from wire.h: which
// header layout frames a given API version (Kafka's
// ApiKeys.requestHeaderVersion / responseHeaderVersion).
#include "broker-core/protocol/messages/api_catalog.h"
#include "broker-core/protocol/wire.h"

namespace geomirror::protocol {

namespace {

constexpr int16_t controlled_shutdown_key = 7;
constexpr int16_t api_versions_key = 18;

bool is_flexible(const api_descriptor* api, int16_t api_version) {
  return api != nullptr && api->first_flexible_version >= 0 && api_version >= api->first_flexible_version;
}

}  // namespace

int16_t request_header_version(int16_t api_key, int16_t api_version) noexcept {
  const api_descriptor* api = find_api(api_key);
  // ControlledShutdown v0 predates the client id.
  if (api != nullptr && api_key == controlled_shutdown_key && api_version == 0) return 0;
  return is_flexible(api, api_version) ? 2 : 1;
}

int16_t response_header_version(int16_t api_key, int16_t api_version) noexcept {
  // KIP-511: a client parses the ApiVersions response before it knows our
  // ranges, so that response always has the plain v0 header.
  if (api_key == api_versions_key) return 0;
  return is_flexible(find_api(api_key), api_version) ? 1 : 0;
}

}  // namespace geomirror::protocol

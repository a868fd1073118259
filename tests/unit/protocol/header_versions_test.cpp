// Proves the header-version rules (flexible -> request header 2 / response
// header 1; ApiVersions responses always header 0, KIP-511) and that the
// generated API catalog matches the schemas.
#include "broker-core/protocol/messages/api_catalog.h"
#include "broker-core/protocol/messages/api_versions_request.h"
#include "broker-core/protocol/messages/fetch_request.h"
#include "broker-core/protocol/messages/produce_request.h"
#include "broker-core/protocol/wire.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace geomirror::protocol {
namespace {

TEST(header_versions, follow_the_first_flexible_version) {
  // Produce: flexible from 9.
  EXPECT_EQ(request_header_version(0, 8), 1);
  EXPECT_EQ(request_header_version(0, 9), 2);
  EXPECT_EQ(response_header_version(0, 8), 0);
  EXPECT_EQ(response_header_version(0, 9), 1);
  // Metadata: flexible from 9.
  EXPECT_EQ(request_header_version(3, 0), 1);
  EXPECT_EQ(request_header_version(3, 12), 2);
  EXPECT_EQ(response_header_version(3, 4), 0);
  // DescribeCluster: flexible from 0.
  EXPECT_EQ(request_header_version(60, 0), 2);
  EXPECT_EQ(response_header_version(60, 0), 1);
}

TEST(header_versions, api_versions_responses_always_use_header_v0) {
  for (int16_t v = 0; v <= 10; ++v) {
    EXPECT_EQ(response_header_version(18, v), 0) << v;
  }
  EXPECT_EQ(request_header_version(18, 2), 1);
  EXPECT_EQ(request_header_version(18, 3), 2);
  // A version newer than we know still has a parseable (flexible) header.
  EXPECT_EQ(request_header_version(18, 99), 2);
}

TEST(header_versions, unknown_apis_get_the_classic_headers) {
  EXPECT_EQ(request_header_version(9999, 5), 1);
  EXPECT_EQ(response_header_version(9999, 5), 0);
  EXPECT_EQ(request_header_version(-1, 0), 1);
  if (find_api(7) == nullptr) {
    // ControlledShutdown v0's header v0 only applies once that API is served.
    EXPECT_EQ(request_header_version(7, 0), 1);
  } else {
    EXPECT_EQ(request_header_version(7, 0), 0);
  }
}

TEST(api_catalog, lists_every_request_schema_sorted_by_key) {
  const auto apis = all_apis();
  EXPECT_GE(apis.size(), 10U);  // the 10 APIs imported first
  EXPECT_TRUE(std::is_sorted(apis.begin(), apis.end(),
                             [](const api_descriptor& a, const api_descriptor& b) { return a.key < b.key; }));
  for (const api_descriptor& api : apis) {
    EXPECT_EQ(find_api(api.key), &api);
    EXPECT_LE(api.min_version, api.max_version) << api.name;
  }
  EXPECT_EQ(find_api(-1), nullptr);
  EXPECT_EQ(find_api(32767), nullptr);
}

TEST(api_catalog, matches_the_generated_messages) {
  const api_descriptor* produce = find_api(produce_request::api_key);
  ASSERT_NE(produce, nullptr);
  EXPECT_EQ(produce->name, "Produce");
  EXPECT_EQ(produce->min_version, produce_request::min_version);
  EXPECT_EQ(produce->max_version, produce_request::max_version);
  EXPECT_EQ(produce->first_flexible_version, 9);
  const api_descriptor* fetch = find_api(fetch_request::api_key);
  ASSERT_NE(fetch, nullptr);
  EXPECT_EQ(fetch->name, "Fetch");
  EXPECT_EQ(fetch->max_version, 17);
  const api_descriptor* api_versions = find_api(api_versions_request::api_key);
  ASSERT_NE(api_versions, nullptr);
  EXPECT_EQ(api_versions->name, "ApiVersions");
  EXPECT_EQ(api_versions->first_flexible_version, 3);
}

}  // namespace
}  // namespace geomirror::protocol

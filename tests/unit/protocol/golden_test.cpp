// Golden vectors written by hand from the Kafka protocol spec
// (../shared/kafka-protocol/README.md) for the messages clients send first
// and most: they pin the exact bytes, not just self-consistency.
#include "broker-core/protocol/messages/api_versions_request.h"
#include "broker-core/protocol/messages/api_versions_response.h"
#include "broker-core/protocol/messages/metadata_request.h"
#include "broker-core/protocol/messages/produce_request.h"
#include "broker-core/protocol/messages/request_header.h"
#include "broker-core/protocol/messages/response_header.h"

#include <gtest/gtest.h>

#include <string_view>

namespace geomirror::protocol {
namespace {

bytes operator+(bytes a, const bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

bytes text(std::string_view s) { return bytes(s.begin(), s.end()); }

TEST(golden, request_header_v1_has_a_classic_client_id) {
  request_header h;
  h.request_api_key = 18;
  h.request_api_version = 2;
  h.correlation_id = 1;
  h.client_id = "rdkafka";
  const bytes expected = bytes{0x00, 0x12, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01, 0x00, 0x07} + text("rdkafka");
  EXPECT_EQ(h.encode(1), expected);
  EXPECT_EQ(request_header::decode(expected, 1), h);

  h.client_id = std::nullopt;
  EXPECT_EQ(h.encode(1), (bytes{0x00, 0x12, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01, 0xff, 0xff}));
}

TEST(golden, request_header_v2_keeps_the_client_id_classic) {
  // ClientId has "flexibleVersions": "none": an int16 length even in the
  // flexible header v2, followed by the (empty) tagged section.
  request_header h;
  h.request_api_key = 18;
  h.request_api_version = 3;
  h.correlation_id = 0x01020304;
  h.client_id = "rdkafka";
  const bytes expected =
      bytes{0x00, 0x12, 0x00, 0x03, 0x01, 0x02, 0x03, 0x04, 0x00, 0x07} + text("rdkafka") + bytes{0x00};
  EXPECT_EQ(h.encode(2), expected);
  EXPECT_EQ(request_header::decode(expected, 2), h);
}

TEST(golden, request_header_v0_has_no_client_id) {
  request_header h;
  h.request_api_key = 7;
  h.correlation_id = 5;
  h.client_id = "ignored in v0";
  EXPECT_EQ(h.encode(0), (bytes{0x00, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05}));
}

TEST(golden, response_headers) {
  response_header h;
  h.correlation_id = 7;
  EXPECT_EQ(h.encode(0), (bytes{0, 0, 0, 7}));
  EXPECT_EQ(h.encode(1), (bytes{0, 0, 0, 7, 0}));
}

TEST(golden, api_versions_request_v3_frame_from_librdkafka) {
  // Header v2 + body v3 as librdkafka 2.0.2 sends them (without the size).
  const bytes frame = bytes{0x00, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01, 0x00, 0x07} + text("rdkafka") +
                      bytes{0x00} +                   // header tagged section
                      bytes{0x0b} + text("librdkafka") +  // compact string, length + 1
                      bytes{0x06} + text("2.0.2") + bytes{0x00};
  reader r(frame);
  request_header header;
  header.decode(r, 2);
  EXPECT_EQ(header.request_api_key, api_versions_request::api_key);
  EXPECT_EQ(header.request_api_version, 3);
  EXPECT_EQ(header.client_id, "rdkafka");
  api_versions_request body;
  body.decode(r, header.request_api_version);
  EXPECT_TRUE(r.at_end());
  EXPECT_EQ(body.client_software_name, "librdkafka");
  EXPECT_EQ(body.client_software_version, "2.0.2");

  bytes out;
  writer w(out);
  header.encode(w, 2);
  body.encode(w, 3);
  EXPECT_EQ(out, frame);
}

TEST(golden, api_versions_request_v0_to_v2_are_empty) {
  api_versions_request body;
  body.client_software_name = "dropped below v3";
  for (int16_t v = 0; v <= 2; ++v) {
    EXPECT_TRUE(body.encode(v).empty()) << v;
    EXPECT_EQ(api_versions_request::decode(bytes{}, v), api_versions_request{}) << v;
  }
}

TEST(golden, api_versions_response_v0_is_classic) {
  api_versions_response resp;
  resp.api_keys.push_back({.api_key = 18, .min_version = 0, .max_version = 3});
  resp.throttle_time_ms = 100;  // not in v0
  EXPECT_EQ(resp.encode(0), (bytes{0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x12, 0x00, 0x00, 0x00, 0x03}));
  EXPECT_EQ(resp.encode(1), (bytes{0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x12, 0x00, 0x00, 0x00, 0x03, 0x00,
                                   0x00, 0x00, 0x64}));
}

TEST(golden, api_versions_response_v3_tagged_fields_round_trip_with_unknown_tags) {
  const bytes encoded = bytes{0x00, 0x00,                                // error code
                              0x02,                                      // one api key (compact)
                              0x00, 0x12, 0x00, 0x00, 0x00, 0x04, 0x00,  // 18: 0-4, no tags
                              0x00, 0x00, 0x00, 0x00,                    // throttle time
                              0x04,                                      // four tagged fields
                              0x01, 0x08, 0, 0, 0, 0, 0, 0, 0, 0x05,     // tag 1: finalized epoch 5
                              0x03, 0x01, 0x01,                          // tag 3: zk migration ready
                              0x04, 0x02, 0xab, 0xcd,                    // tag 4: unknown
                              0xc8, 0x01, 0x00};                         // tag 200: unknown, empty
  const api_versions_response resp = api_versions_response::decode(encoded, 3);
  EXPECT_EQ(resp.finalized_features_epoch, 5);
  EXPECT_TRUE(resp.zk_migration_ready);
  EXPECT_TRUE(resp.supported_features.empty());
  ASSERT_EQ(resp.api_keys.size(), 1U);
  EXPECT_EQ(resp.api_keys[0].max_version, 4);
  EXPECT_EQ(resp.unknown_tags, (unknown_tagged_fields{{4, {0xab, 0xcd}}, {200, {}}}));
  EXPECT_EQ(resp.encode(3), encoded);

  // Defaults are not written: epoch -1 and false drop out of the section.
  api_versions_response plain = resp;
  plain.finalized_features_epoch = -1;
  plain.zk_migration_ready = false;
  plain.unknown_tags.clear();
  const bytes minimal = plain.encode(3);
  EXPECT_EQ(minimal.back(), 0x00);
  EXPECT_EQ(minimal.size(), 15U);
}

TEST(golden, api_versions_response_v3_tagged_array) {
  api_versions_response resp;
  resp.supported_features.push_back({.name = "x", .min_version = 1, .max_version = 2});
  const bytes expected{0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,   // error, no api keys, throttle
                       0x01,                                       // one tagged field
                       0x00, 0x08,                                 // tag 0, 8 bytes
                       0x02, 0x02, 'x', 0x00, 0x01, 0x00, 0x02, 0x00};
  EXPECT_EQ(resp.encode(3), expected);
  EXPECT_EQ(api_versions_response::decode(expected, 3), resp);
}

TEST(golden, tagged_values_must_be_consumed_exactly) {
  // Tag 3 (a bool) declared with two bytes.
  const bytes loose{0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x02, 0x01, 0x01};
  EXPECT_THROW((void)api_versions_response::decode(loose, 3), decode_error);
  // Tags out of order.
  const bytes unordered{0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0x01, 0x01, 0x01, 0x00};
  EXPECT_THROW((void)api_versions_response::decode(unordered, 3), decode_error);
}

TEST(golden, metadata_request_v0_empty_list_means_all_topics) {
  metadata_request req;  // topics defaults to an empty list
  EXPECT_EQ(req.encode(0), (bytes{0x00, 0x00, 0x00, 0x00}));
  req.topics = std::nullopt;
  EXPECT_THROW((void)req.encode(0), encode_error);  // null is not valid in v0
  EXPECT_THROW((void)metadata_request::decode(bytes{0xff, 0xff, 0xff, 0xff}, 0), decode_error);
}

TEST(golden, metadata_request_v1_null_means_all_and_empty_means_none) {
  metadata_request all;
  all.topics = std::nullopt;
  EXPECT_EQ(all.encode(1), (bytes{0xff, 0xff, 0xff, 0xff}));
  EXPECT_EQ(metadata_request::decode(bytes{0xff, 0xff, 0xff, 0xff}, 1).topics, std::nullopt);
  const metadata_request none = metadata_request::decode(bytes{0x00, 0x00, 0x00, 0x00}, 1);
  ASSERT_TRUE(none.topics.has_value());
  EXPECT_TRUE(none.topics->empty());
}

TEST(golden, metadata_request_v4_and_v9) {
  metadata_request req;
  req.topics = std::vector<metadata_request::metadata_request_topic>(1);
  (*req.topics)[0].name = "foo";
  req.allow_auto_topic_creation = false;
  EXPECT_EQ(req.encode(4), (bytes{0x00, 0x00, 0x00, 0x01, 0x00, 0x03, 'f', 'o', 'o', 0x00}));
  // v9 is flexible: compact array and string, tagged sections per struct.
  EXPECT_EQ(req.encode(9), (bytes{0x02, 0x04, 'f', 'o', 'o', 0x00, 0x00, 0x00, 0x00, 0x00}));
  // v10 adds the topic id and makes the name nullable.
  (*req.topics)[0].name = std::nullopt;
  const bytes v10 = req.encode(10);
  EXPECT_EQ(v10, (bytes{0x02} + bytes(16, 0x00) + bytes{0x00, 0x00, 0x00, 0x00, 0x00, 0x00}));
  EXPECT_EQ(metadata_request::decode(v10, 10), req);
  EXPECT_THROW((void)req.encode(9), encode_error);  // null name before v10
}

TEST(golden, produce_request_v3_with_records) {
  produce_request req;
  req.acks = -1;
  req.timeout_ms = 30000;
  auto& topic = req.topic_data.emplace_back();
  topic.name = "t";
  auto& partition = topic.partition_data.emplace_back();
  partition.index = 0;
  partition.records = bytes{0xde, 0xad, 0xbe, 0xef, 0x00};
  const bytes expected{0xff, 0xff,              // transactional id: null
                       0xff, 0xff,              // acks -1
                       0x00, 0x00, 0x75, 0x30,  // timeout 30000
                       0x00, 0x00, 0x00, 0x01,  // one topic
                       0x00, 0x01, 't',         // name
                       0x00, 0x00, 0x00, 0x01,  // one partition
                       0x00, 0x00, 0x00, 0x00,  // index 0
                       0x00, 0x00, 0x00, 0x05,  // records: int32 length
                       0xde, 0xad, 0xbe, 0xef, 0x00};
  EXPECT_EQ(req.encode(3), expected);
  EXPECT_EQ(produce_request::decode(expected, 3), req);
  // v0-2 have no transactional id.
  EXPECT_EQ(req.encode(2), bytes(expected.begin() + 2, expected.end()));

  // v9: compact everything, uvarint records length + 1.
  const bytes v9{0x00, 0xff, 0xff, 0x00, 0x00, 0x75, 0x30, 0x02, 0x02, 't', 0x02, 0x00, 0x00, 0x00, 0x00,
                 0x06, 0xde, 0xad, 0xbe, 0xef, 0x00, 0x00, 0x00, 0x00};
  EXPECT_EQ(req.encode(9), v9);
  EXPECT_EQ(produce_request::decode(v9, 9), req);
}

TEST(golden, decode_errors_name_message_version_and_problem) {
  const bytes truncated{0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x75, 0x30, 0x00, 0x00, 0x00, 0x09};
  try {
    (void)produce_request::decode(truncated, 3);
    FAIL() << "no decode_error";
  } catch (const decode_error& e) {
    EXPECT_STREQ(e.what(), "ProduceRequest v3: array length 9 exceeds remaining 0 bytes at offset 8");
  }
}

}  // namespace
}  // namespace geomirror::protocol

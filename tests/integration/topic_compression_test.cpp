// Issue 11 item 2 with rdkafka++: a topic with compression.type gzip,
// snappy, lz4, zstd or uncompressed recompresses batches sent with another
// codec, and an rdkafka++ consumer reads every record back in order.

#include "tests/support/broker_process.h"
#include "tests/support/raw_admin.h"
#include "tests/support/rdkafka_io.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace geomirror::testing {
namespace {

using namespace std::chrono_literals;

// (topic compression.type, the producer's codec: always another one)
const std::vector<std::pair<std::string, std::string>> cases = {
    {"gzip", "lz4"}, {"snappy", "none"}, {"lz4", "zstd"}, {"zstd", "snappy"}, {"uncompressed", "gzip"}};

TEST(TopicCompression, RdKafkaReadsEveryRecompressedCodec) {
  broker_process broker;
  broker.start();
  raw_client c(broker.port());
  for (const auto& [topic_codec, producer_codec] : cases) {
    SCOPED_TRACE(topic_codec + " topic, " + producer_codec + " producer");
    const std::string topic = "rdkafka-" + topic_codec;
    ASSERT_EQ(create_topic(c, topic, 1, {{"compression.type", topic_codec}}).error_code, 0);
    std::vector<std::string> values;
    for (int i = 0; i < 500; ++i) values.push_back("value-" + std::to_string(i) + std::string(i % 300, 'x'));
    produce_values(broker.bootstrap(), topic, values,
                   {{"compression.type", producer_codec}, {"enable.idempotence", "true"}, {"linger.ms", "5"}});
    auto consumer = assigned_consumer(broker.bootstrap(), topic, 0, "compression-cpp");
    auto got = consume_for(*consumer, 10s, [&](const consumed& s) { return s.records.size() >= values.size(); });
    consumer->close();
    EXPECT_TRUE(got.errors.empty());
    ASSERT_EQ(got.records.size(), values.size());
    for (size_t i = 0; i < values.size(); ++i) {
      EXPECT_EQ(got.records[i], std::make_pair(static_cast<int64_t>(i), values[i]));
    }
  }
  EXPECT_EQ(broker.stop(), 0);
}

}  // namespace
}  // namespace geomirror::testing

#include "broker-core/config/broker_config.h"
#include "broker-core/config/topic_config.h"

#include <gtest/gtest.h>

namespace geomirror::config {
namespace {

TEST(BrokerConfig, DefaultsWithoutFile) {
  broker_config c;
  EXPECT_EQ(c.node_id, 0);
  EXPECT_FALSE(c.auto_create_topics);
  EXPECT_EQ(c.max_request_bytes, 100 * 1024 * 1024);
  EXPECT_EQ(c.topic_defaults_.at("flush.messages").value, "1");
  EXPECT_EQ(c.topic_defaults_.at("retention.ms").source, config_source::default_value);
}

TEST(BrokerConfig, ParsesKeysCommentsAndTopicDefaults) {
  auto c = broker_config::parse(
      "# comment\n! also a comment\n\n  broker.id = 7 \nauto.create.topics.enable=TRUE\nnum.partitions=6\n"
      "log.segment.bytes=1048576\nlog.retention.hours=2\nlog.message.timestamp.type=LogAppendTime\n",
      "test.properties");
  EXPECT_EQ(c.node_id, 7);
  EXPECT_TRUE(c.auto_create_topics);
  EXPECT_EQ(c.num_partitions, 6);
  EXPECT_EQ(c.topic_defaults_.at("segment.bytes").value, "1048576");
  EXPECT_EQ(c.topic_defaults_.at("segment.bytes").source, config_source::static_broker);
  EXPECT_EQ(c.topic_defaults_.at("segment.bytes").synonym_name, "log.segment.bytes");
  EXPECT_EQ(c.topic_defaults_.at("retention.ms").value, "7200000");
  EXPECT_EQ(c.topic_defaults_.at("retention.ms").synonym_name, "log.retention.hours");
  EXPECT_EQ(c.topic_defaults_.at("message.timestamp.type").value, "LogAppendTime");
}

TEST(BrokerConfig, MillisecondKeyWinsOverHoursWhateverTheOrder) {
  auto c = broker_config::parse("log.retention.ms=1000\nlog.retention.hours=5\n", "f");
  EXPECT_EQ(c.topic_defaults_.at("retention.ms").value, "1000");
  auto d = broker_config::parse("log.retention.hours=5\nlog.retention.minutes=2\n", "f");
  EXPECT_EQ(d.topic_defaults_.at("retention.ms").value, "120000");
  auto forever = broker_config::parse("log.retention.hours=-1\n", "f");
  EXPECT_EQ(forever.topic_defaults_.at("retention.ms").value, "-1");
}

TEST(BrokerConfig, RejectsWithFileLineAndReason) {
  auto fails_with = [](std::string_view text, std::string_view message) {
    try {
      broker_config::parse(text, "b.properties");
      ADD_FAILURE() << "accepted: " << text;
    } catch (const config_error& e) {
      EXPECT_NE(std::string(e.what()).find(message), std::string::npos) << e.what();
    }
  };
  fails_with("num.partitions=0\n", "b.properties:1: Invalid value '0' for configuration num.partitions: expected at least 1");
  fails_with("\nunknown.thing=1\n", "b.properties:2: unknown broker config 'unknown.thing'");
  fails_with("log.retention.ms\n", "b.properties:1: expected key=value");
  fails_with("auto.create.topics.enable=yes\n", "expected true or false");
  fails_with("listeners=PLAINTEXT://:9092\n", "set on the command line");
  fails_with("log.cleanup.policy=compact,wipe\n", "expected a comma-separated list of [compact, delete]");
  fails_with("socket.request.max.bytes=99999999999\n", "socket.request.max.bytes");
}

TEST(TopicConfig, ValidatesKeysAndValues) {
  EXPECT_FALSE(validate_topic_config("retention.ms", "-1"));
  EXPECT_FALSE(validate_topic_config("segment.bytes", "1024"));
  EXPECT_FALSE(validate_topic_config("message.timestamp.type", "LogAppendTime"));
  EXPECT_EQ(*validate_topic_config("retention.ms", "-2"),
            "Invalid value '-2' for configuration retention.ms: expected at least -1");
  EXPECT_EQ(*validate_topic_config("no.such.key", "1"), "Unknown or unsupported topic config name: no.such.key");
  EXPECT_TRUE(validate_topic_config("segment.bytes", "4294967296"));
  EXPECT_FALSE(validate_topic_config("compression.type", "gzip"));
  EXPECT_FALSE(validate_topic_config("compression.type", "uncompressed"));
  EXPECT_TRUE(validate_topic_config("compression.type", "brotli"));
  EXPECT_TRUE(validate_topic_config("flush.messages", "0"));
}

TEST(TopicConfig, EffectiveConfigPrefersTopicThenBrokerThenDefault) {
  auto broker = broker_config::parse("log.retention.bytes=5000\n", "f");
  auto effective = effective_topic_config(broker.topic_defaults_, {{"segment.bytes", "2048"}});
  EXPECT_EQ(effective.at("segment.bytes").value, "2048");
  EXPECT_EQ(effective.at("segment.bytes").source, config_source::topic);
  EXPECT_EQ(effective.at("retention.bytes").value, "5000");
  EXPECT_EQ(effective.at("retention.bytes").source, config_source::static_broker);
  EXPECT_EQ(effective.at("cleanup.policy").value, "delete");
  EXPECT_EQ(effective.at("cleanup.policy").source, config_source::default_value);
  EXPECT_EQ(effective.size(), topic_config_table().size());
}

TEST(BrokerConfig, DescribeListsBrokerKeysAndTopicSynonyms) {
  auto c = broker_config::parse("num.partitions=4\nlog.roll.hours=1\n", "f");
  auto described = describe_broker_config(c);
  auto find = [&](std::string_view name) {
    for (const auto& d : described) {
      if (d.name == name) return d;
    }
    ADD_FAILURE() << "missing " << name;
    return described.front();
  };
  EXPECT_EQ(find("num.partitions").value, "4");
  EXPECT_EQ(find("num.partitions").source, config_source::static_broker);
  EXPECT_EQ(find("delete.topic.enable").source, config_source::default_value);
  EXPECT_EQ(find("log.roll.ms").value, "3600000");
  EXPECT_EQ(find("log.flush.interval.messages").value, "1");
}

TEST(BrokerConfig, GroupCoordinatorKeys) {
  broker_config defaults;
  EXPECT_EQ(defaults.group_initial_rebalance_delay_ms, 3000);
  EXPECT_EQ(defaults.group_min_session_timeout_ms, 6000);
  EXPECT_EQ(defaults.group_max_session_timeout_ms, 1'800'000);
  EXPECT_EQ(defaults.offsets_retention_minutes, 10080);
  EXPECT_EQ(defaults.offset_metadata_max_bytes, 4096);
  auto c = broker_config::parse(
      "group.initial.rebalance.delay.ms=0\ngroup.min.session.timeout.ms=1000\ngroup.max.session.timeout.ms=60000\n"
      "group.max.size=3\noffsets.retention.minutes=60\noffsets.retention.check.interval.ms=5000\n"
      "offset.metadata.max.bytes=10\n",
      "g.properties");
  EXPECT_EQ(c.group_initial_rebalance_delay_ms, 0);
  EXPECT_EQ(c.group_min_session_timeout_ms, 1000);
  EXPECT_EQ(c.group_max_session_timeout_ms, 60'000);
  EXPECT_EQ(c.group_max_size, 3);
  EXPECT_EQ(c.offsets_retention_minutes, 60);
  EXPECT_EQ(c.offsets_retention_check_interval_ms, 5000);
  EXPECT_EQ(c.offset_metadata_max_bytes, 10);
  EXPECT_THROW(broker_config::parse("group.max.size=0\n", "g"), config_error);
  EXPECT_THROW(broker_config::parse("offsets.retention.minutes=0\n", "g"), config_error);
  try {
    broker_config::parse("group.min.session.timeout.ms=70000\ngroup.max.session.timeout.ms=60000\n", "g.properties");
    ADD_FAILURE() << "min above max accepted";
  } catch (const config_error& e) {
    EXPECT_NE(std::string(e.what()).find("group.min.session.timeout.ms (70000) is above"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace geomirror::config

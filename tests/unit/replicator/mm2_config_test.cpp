// The MM2-format configuration: Java properties syntax, an MM2 file taken
// as it is, flow-level keys over global ones, librdkafka pass-through per
// cluster and client kind, MM2 keys accepted with a warning, and every bad
// file refused with the line named.

#include "replicator/mm2_config.h"
#include "replicator/properties.h"

#include <gtest/gtest.h>

#include <string>

namespace geomirror::replicator {
namespace {

TEST(properties, java_syntax) {
  const auto props = parse_properties(
      "# comment\n"
      "! also a comment\n"
      "\n"
      "a=1\n"
      "  b : two words  \n"
      "c three\n"
      "d = first \\\n"
      "    second\n"
      "e\\=x = \\u00e9\\t\\\\\n"
      "f=\r\n");
  ASSERT_EQ(props.size(), 6u);
  EXPECT_EQ((std::pair{props[0].key, props[0].value}), (std::pair<std::string, std::string>{"a", "1"}));
  EXPECT_EQ(props[0].line, 4);
  EXPECT_EQ(props[1].value, "two words  ");
  EXPECT_EQ(props[2].key, "c");
  EXPECT_EQ(props[2].value, "three");
  EXPECT_EQ(props[3].value, "first second");
  EXPECT_EQ(props[3].line, 7);
  EXPECT_EQ(props[4].key, "e=x");
  EXPECT_EQ(props[4].value, "\xc3\xa9\t\\");
  EXPECT_EQ(props[4].line, 9);
  EXPECT_EQ(props[5].key, "f");
  EXPECT_EQ(props[5].value, "");
}

const char* const mm2_file = R"(# an MM2 file as its users have it
clusters = east, west
east.bootstrap.servers = east-1:9092, east-2:9092
west.bootstrap.servers = west-1:9092
east->west.enabled = true
west->east.enabled = true
topics = orders.*, payments
east->west.topics = orders.*
groups.exclude = test-.*
replication.policy.class = org.apache.kafka.connect.mirror.IdentityReplicationPolicy
emit.checkpoints.interval.seconds = 10
west->east.emit.checkpoints.interval.seconds = 2
sync.group.offsets.enabled = true
tasks.max = 4
key.converter = org.apache.kafka.connect.converters.ByteArrayConverter
east.security.protocol = SASL_SSL
east.producer.linger.ms = 20
west.consumer.fetch.min.bytes = 1000
west.admin.request.timeout.ms = 5000
)";

TEST(mm2_config, takes_an_mm2_file_as_it_is) {
  const auto c = parse_mm2_config(mm2_file, "mm2.properties");
  ASSERT_EQ(c.clusters.size(), 2u);
  EXPECT_EQ(c.cluster("east").bootstrap_servers, "east-1:9092, east-2:9092");
  EXPECT_EQ(c.cluster("east").client.at("security.protocol"), "SASL_SSL");
  EXPECT_EQ(c.cluster("east").producer.at("linger.ms"), "20");
  EXPECT_EQ(c.cluster("west").consumer.at("fetch.min.bytes"), "1000");
  EXPECT_EQ(c.cluster("west").admin.at("request.timeout.ms"), "5000");
  ASSERT_EQ(c.flows.size(), 2u);
  const auto& ew = c.flows[0];
  const auto& we = c.flows[1];
  EXPECT_EQ(ew.name(), "east->west");
  EXPECT_EQ(we.name(), "west->east");
  EXPECT_TRUE(ew.topics.matches("orders.eu"));
  EXPECT_FALSE(ew.topics.matches("payments")) << "the flow-level list replaces the global one";
  EXPECT_TRUE(we.topics.matches("payments"));
  EXPECT_FALSE(we.topics.matches("xpayments")) << "patterns match whole names";
  EXPECT_TRUE(ew.topics_exclude.matches("__consumer_offsets")) << "MM2's default excludes";
  EXPECT_TRUE(ew.topics_exclude.matches("east.checkpoints.internal"));
  EXPECT_TRUE(ew.groups.matches("billing"));
  EXPECT_TRUE(ew.groups_exclude.matches("test-1"));
  EXPECT_EQ(ew.policy, naming::identity);
  EXPECT_EQ(ew.remote_topic("orders"), "orders");
  EXPECT_EQ(ew.emit_checkpoints_interval_s, 10);
  EXPECT_EQ(we.emit_checkpoints_interval_s, 2);
  EXPECT_TRUE(ew.sync_group_offsets);
  EXPECT_EQ(ew.refresh_topics_interval_s, 5) << "geomirror's default, not MM2's ten minutes";
  ASSERT_EQ(c.warnings.size(), 2u);
  EXPECT_NE(c.warnings[0].find("mm2.properties:14: MM2 key 'tasks.max'"), std::string::npos) << c.warnings[0];
}

TEST(mm2_config, defaults_to_prefixed_names_and_disabled_flows) {
  const auto c = parse_mm2_config(
      "clusters=a,b,c\na.bootstrap.servers=h:1\nb.bootstrap.servers=h:2\nc.bootstrap.servers=h:3\n"
      "a->b.enabled=true\nreplication.policy.separator=_\n",
      "f");
  ASSERT_EQ(c.flows.size(), 1u) << "only a->b is enabled";
  EXPECT_EQ(c.flows[0].remote_topic("orders"), "a_orders");
  EXPECT_TRUE(c.flows[0].provenance_headers);
  EXPECT_TRUE(c.flows[0].topics.matches("anything"));
}

// The message of the config_error `text` raises, with its line.
std::pair<int, std::string> refusal(const std::string& text) {
  try {
    parse_mm2_config(text, "bad.properties");
  } catch (const config_error& e) {
    return {e.line(), e.what()};
  }
  ADD_FAILURE() << "accepted:\n" << text;
  return {-1, ""};
}

const std::string two = "clusters = a, b\na.bootstrap.servers = h:1\nb.bootstrap.servers = h:2\n";

TEST(mm2_config, bad_files_name_the_line_and_what_to_do) {
  auto [line, what] = refusal(two + "a->c.enabled = true\n");
  EXPECT_EQ(line, 4);
  EXPECT_NE(what.find("bad.properties:4: flow a->c names cluster 'c'"), std::string::npos) << what;

  std::tie(line, what) = refusal(two + "a->b.enabled = true\na->b.topics = orders(\n");
  EXPECT_EQ(line, 5);
  EXPECT_NE(what.find("bad regular expression 'orders('"), std::string::npos) << what;

  std::tie(line, what) = refusal("clusters = a, b\na.bootstrap.servers = h:1\na->b.enabled = true\n");
  EXPECT_EQ(line, 1);
  EXPECT_NE(what.find("add b.bootstrap.servers"), std::string::npos) << what;

  std::tie(line, what) = refusal(two + "a->a.enabled = true\n");
  EXPECT_EQ(line, 4);
  EXPECT_NE(what.find("from a cluster to itself"), std::string::npos) << what;

  std::tie(line, what) = refusal(two + "a->b.enabled = true\nemit.checkpoint.enabled = true\n");
  EXPECT_EQ(line, 5);
  EXPECT_NE(what.find("unknown key 'emit.checkpoint.enabled'"), std::string::npos) << what;

  std::tie(line, what) = refusal(two + "a->b.enabled = yes\n");
  EXPECT_NE(what.find("is not a boolean"), std::string::npos) << what;

  std::tie(line, what) = refusal(two + "a->b.enabled = true\nrefresh.topics.interval.seconds = 0\n");
  EXPECT_EQ(line, 5);

  std::tie(line, what) = refusal(two + "a->b.enabled = true\nreplication.policy.class = com.example.Mine\n");
  EXPECT_NE(what.find("is not supported"), std::string::npos) << what;

  std::tie(line, what) = refusal(two);
  EXPECT_EQ(line, 0);
  EXPECT_NE(what.find("a->b.enabled = true"), std::string::npos) << what;

  std::tie(line, what) = refusal("a.bootstrap.servers = h:1\n");
  EXPECT_NE(what.find("no 'clusters' key"), std::string::npos) << what;
}

}  // namespace
}  // namespace geomirror::replicator

// Protocol-level checks against a real broker process with the test's own
// raw client (tests/support/raw_client.h): InitProducerId, idempotent
// Produce (duplicates, sequence gaps, fencing, state across kill -9),
// AlterConfigs / IncrementalAlterConfigs and DeleteRecords at exact versions.

#include "broker-core/base/clock.h"
#include "broker-core/protocol/messages/alter_configs_request.h"
#include "broker-core/protocol/messages/alter_configs_response.h"
#include "broker-core/protocol/messages/describe_configs_request.h"
#include "broker-core/protocol/messages/describe_configs_response.h"
#include "broker-core/protocol/messages/fetch_request.h"
#include "broker-core/protocol/messages/fetch_response.h"
#include "broker-core/protocol/messages/incremental_alter_configs_request.h"
#include "broker-core/protocol/messages/incremental_alter_configs_response.h"
#include "broker-core/protocol/messages/init_producer_id_request.h"
#include "broker-core/protocol/messages/init_producer_id_response.h"
#include "broker-core/protocol/messages/list_offsets_request.h"
#include "broker-core/protocol/messages/list_offsets_response.h"
#include "broker-core/protocol/messages/produce_request.h"
#include "broker-core/protocol/messages/produce_response.h"
#include "broker-core/records/record.h"
#include "tests/support/broker_process.h"
#include "tests/support/raw_admin.h"
#include "tests/support/raw_client.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace geomirror::testing {
namespace {

using namespace geomirror::protocol;

constexpr int16_t err_none = 0;
constexpr int16_t err_offset_out_of_range = 1;
constexpr int16_t err_invalid_request = 42;
constexpr int16_t err_invalid_config = 40;
constexpr int16_t err_policy_violation = 44;
constexpr int16_t err_out_of_order_sequence = 45;
constexpr int16_t err_invalid_producer_epoch = 47;

void create_topic_ok(raw_client& c, const std::string& name, int32_t partitions,
                     const std::map<std::string, std::string>& configs = {}) {
  auto result = create_topic(c, name, partitions, configs);
  ASSERT_EQ(result.error_code, err_none) << result.error_message.value_or("");
}

bytes idempotent_batch(int64_t producer_id, int16_t epoch, int32_t base_sequence, int records) {
  records::batch_builder b;
  b.set_producer(producer_id, epoch, base_sequence);
  for (int i = 0; i < records; ++i) b.add("k", "value-" + std::to_string(base_sequence + i), 1000 + i);
  return b.build();
}

produce_response::partition_produce_response produce(raw_client& c, const std::string& topic, bytes batch,
                                                      int16_t version = 9) {
  produce_request req;
  req.acks = -1;
  req.timeout_ms = 10000;
  produce_request::topic_produce_data t;
  t.name = topic;
  produce_request::partition_produce_data p;
  p.index = 0;
  p.records = std::move(batch);
  t.partition_data.push_back(std::move(p));
  req.topic_data.push_back(std::move(t));
  auto resp = c.call<produce_response>(req, version);
  return resp.responses.at(0).partition_responses.at(0);
}

int64_t list_offset(raw_client& c, const std::string& topic, int64_t timestamp) {
  list_offsets_request req;
  req.replica_id = -1;
  list_offsets_request::list_offsets_topic t;
  t.name = topic;
  list_offsets_request::list_offsets_partition p;
  p.partition_index = 0;
  p.timestamp = timestamp;
  t.partitions.push_back(p);
  req.topics.push_back(t);
  auto resp = c.call<list_offsets_response>(req, 2);
  EXPECT_EQ(resp.topics.at(0).partitions.at(0).error_code, err_none);
  return resp.topics.at(0).partitions.at(0).offset;
}

init_producer_id_response init_producer(raw_client& c, int16_t version,
                                        std::optional<std::string> transactional_id = std::nullopt) {
  init_producer_id_request req;
  req.transactional_id = transactional_id;
  req.transaction_timeout_ms = 60000;
  return c.call<init_producer_id_response>(req, version);
}

std::map<std::string, std::string> topic_configs(raw_client& c, const std::string& topic) {
  describe_configs_request req;
  describe_configs_request::describe_configs_resource r;
  r.resource_type = 2;
  r.resource_name = topic;
  r.configuration_keys = std::nullopt;  // all of them
  req.resources.push_back(r);
  auto resp = c.call<describe_configs_response>(req, 1);
  std::map<std::string, std::string> out;
  for (const auto& e : resp.results.at(0).configs) out[e.name] = e.value.value_or("");
  return out;
}

TEST(BrokerApi, InitProducerIdGivesFreshIdsNeverReusedAcrossRestart) {
  broker_process broker;
  broker.start();
  std::vector<int64_t> ids;
  {
    raw_client c(broker.port());
    for (int16_t v = 0; v <= 5; ++v) {
      auto resp = init_producer(c, v);
      ASSERT_EQ(resp.error_code, err_none) << "v" << v;
      EXPECT_EQ(resp.producer_epoch, 0);
      ids.push_back(resp.producer_id);
    }
    EXPECT_EQ(init_producer(c, 4, "txn-1").error_code, err_invalid_request);
  }
  for (size_t i = 1; i < ids.size(); ++i) EXPECT_GT(ids[i], ids[i - 1]);
  broker.kill9();
  broker.start();
  raw_client c(broker.port());
  EXPECT_GT(init_producer(c, 1).producer_id, ids.back());
}

TEST(BrokerApi, IdempotentProduceDedupsRetriesAndFencesStaleEpochs) {
  broker_process broker;
  broker.start();
  raw_client c(broker.port());
  create_topic_ok(c, "idem", 1);
  auto pid = init_producer(c, 4).producer_id;

  auto first = produce(c, "idem", idempotent_batch(pid, 0, 0, 3));
  ASSERT_EQ(first.error_code, err_none);
  EXPECT_EQ(first.base_offset, 0);
  auto retry = produce(c, "idem", idempotent_batch(pid, 0, 0, 3));
  EXPECT_EQ(retry.error_code, err_none);
  EXPECT_EQ(retry.base_offset, 0) << "a retried batch is answered with its original offset";
  auto second = produce(c, "idem", idempotent_batch(pid, 0, 3, 2), 7);
  ASSERT_EQ(second.error_code, err_none);
  EXPECT_EQ(second.base_offset, 3);
  EXPECT_EQ(list_offset(c, "idem", -1), 5) << "the duplicate must not be written";

  auto gap = produce(c, "idem", idempotent_batch(pid, 0, 10, 1), 11);
  EXPECT_EQ(gap.error_code, err_out_of_order_sequence);

  // Producer state survives kill -9: the retried batch is still recognised.
  broker.kill9();
  broker.start();
  raw_client after(broker.port());
  auto retried = produce(after, "idem", idempotent_batch(pid, 0, 3, 2));
  EXPECT_EQ(retried.error_code, err_none);
  EXPECT_EQ(retried.base_offset, 3);
  EXPECT_EQ(list_offset(after, "idem", -1), 5);

  auto bumped = produce(after, "idem", idempotent_batch(pid, 1, 0, 1));
  EXPECT_EQ(bumped.error_code, err_none);
  EXPECT_EQ(bumped.base_offset, 5);
  auto stale = produce(after, "idem", idempotent_batch(pid, 0, 5, 1));
  EXPECT_EQ(stale.error_code, err_invalid_producer_epoch);
}

TEST(BrokerApi, AlterConfigsReplacesAndValidates) {
  broker_process broker;
  broker.start();
  raw_client c(broker.port());
  create_topic_ok(c, "cfg", 1, {{"segment.bytes", "1048576"}});
  for (int16_t v = 0; v <= 2; ++v) {
    alter_configs_request req;
    alter_configs_request::alter_configs_resource r;
    r.resource_type = 2;
    r.resource_name = "cfg";
    alter_configs_request::alterable_config a;
    a.name = "retention.ms";
    a.value = std::to_string(1000 + v);
    r.configs.push_back(a);
    req.resources.push_back(r);
    auto resp = c.call<alter_configs_response>(req, v);
    ASSERT_EQ(resp.responses.at(0).error_code, err_none) << "v" << v;
    auto configs = topic_configs(c, "cfg");
    EXPECT_EQ(configs["retention.ms"], std::to_string(1000 + v));
    EXPECT_EQ(configs["segment.bytes"], "1073741824") << "AlterConfigs replaces every override";
  }
  alter_configs_request bad;
  alter_configs_request::alter_configs_resource r;
  r.resource_type = 2;
  r.resource_name = "cfg";
  alter_configs_request::alterable_config a;
  a.name = "retention.ms";
  a.value = "forever";
  r.configs.push_back(a);
  bad.resources.push_back(r);
  auto resp = c.call<alter_configs_response>(bad, 1);
  EXPECT_EQ(resp.responses.at(0).error_code, err_invalid_config);
  EXPECT_EQ(resp.responses.at(0).error_message.value_or(""),
            "Invalid value 'forever' for configuration retention.ms: expected at least -1");
  EXPECT_EQ(topic_configs(c, "cfg")["retention.ms"], "1002") << "a refused change leaves the topic as it was";

  bad.resources[0].resource_type = 4;
  bad.resources[0].resource_name = "0";
  EXPECT_EQ(c.call<alter_configs_response>(bad, 1).responses.at(0).error_code, err_invalid_request);
}

TEST(BrokerApi, IncrementalAlterConfigsOperations) {
  broker_process broker;
  broker.start();
  raw_client c(broker.port());
  create_topic_ok(c, "inc", 1, {{"retention.ms", "5000"}});
  auto change = [&](int16_t version, std::vector<std::tuple<std::string, int8_t, std::optional<std::string>>> ops,
                    bool validate_only = false) {
    incremental_alter_configs_request req;
    incremental_alter_configs_request::alter_configs_resource r;
    r.resource_type = 2;
    r.resource_name = "inc";
    for (auto& [name, op, value] : ops) {
      incremental_alter_configs_request::alterable_config a;
      a.name = name;
      a.config_operation = op;
      a.value = value;
      r.configs.push_back(a);
    }
    req.resources.push_back(r);
    req.validate_only = validate_only;
    return c.call<incremental_alter_configs_response>(req, version).responses.at(0);
  };
  EXPECT_EQ(change(0, {{"cleanup.policy", 2, "compact"}}).error_code, err_none);
  EXPECT_EQ(topic_configs(c, "inc")["cleanup.policy"], "delete,compact");
  EXPECT_EQ(topic_configs(c, "inc")["retention.ms"], "5000") << "other overrides stay";
  EXPECT_EQ(change(1, {{"cleanup.policy", 3, "delete"}, {"retention.ms", 1, std::nullopt}}).error_code, err_none);
  EXPECT_EQ(topic_configs(c, "inc")["cleanup.policy"], "compact");
  EXPECT_EQ(topic_configs(c, "inc")["retention.ms"], "604800000");
  EXPECT_EQ(change(1, {{"segment.ms", 0, "60000"}}, true).error_code, err_none);
  EXPECT_EQ(topic_configs(c, "inc")["segment.ms"], "604800000") << "validate_only changes nothing";
  auto bad = change(1, {{"retention.ms", 2, "1"}});
  EXPECT_EQ(bad.error_code, err_invalid_config);
  EXPECT_NE(bad.error_message.value_or("").find("only supported for list configs"), std::string::npos);
  EXPECT_EQ(change(1, {{"no.such.config", 0, "1"}}).error_code, err_invalid_config);
}

TEST(BrokerApi, DeleteRecordsMovesLogStart) {
  broker_process broker(std::map<std::string, std::string>{{"log.retention.check.interval.ms", "100"}});
  broker.start();
  raw_client c(broker.port());
  create_topic_ok(c, "trim", 1, {{"segment.bytes", "1024"}});
  // Current timestamps: records from 1970 would be deleted by time retention
  // (checked every 100 ms here) before DeleteRecords runs.
  const int64_t now = base::wall_clock_ms();
  for (int i = 0; i < 20; ++i) {
    records::batch_builder b;
    for (int j = 0; j < 5; ++j) b.add("k", std::string(40, 'x'), now);
    ASSERT_EQ(produce(c, "trim", b.build()).error_code, err_none);
  }
  for (int16_t v = 0; v <= 2; ++v) {
    auto part = delete_records(c, "trim", 40 + v, v);
    ASSERT_EQ(part.error_code, err_none) << "v" << v;
    EXPECT_EQ(part.low_watermark, 40 + v);
  }
  EXPECT_EQ(list_offset(c, "trim", -2), 42);

  fetch_request fetch;
  fetch.replica_id = -1;
  fetch.max_wait_ms = 0;
  fetch_request::fetch_topic ft;
  ft.topic = "trim";
  fetch_request::fetch_partition fp;
  fp.partition = 0;
  fp.fetch_offset = 10;
  fp.partition_max_bytes = 65536;
  ft.partitions.push_back(fp);
  fetch.topics.push_back(ft);
  auto fetched = c.call<fetch_response>(fetch, 11);
  const auto& out_of_range = fetched.responses.at(0).partitions.at(0);
  EXPECT_EQ(out_of_range.error_code, err_offset_out_of_range);
  // As Kafka: offsets unknown (-1) and an empty, not null, record set.
  EXPECT_EQ(out_of_range.log_start_offset, -1);
  EXPECT_EQ(out_of_range.high_watermark, -1);
  ASSERT_TRUE(out_of_range.records.has_value());
  EXPECT_TRUE(out_of_range.records->empty());

  EXPECT_EQ(delete_records(c, "trim", 101, 1).error_code, err_offset_out_of_range);
  auto to_end = delete_records(c, "trim", -1, 1);
  EXPECT_EQ(to_end.error_code, err_none);
  EXPECT_EQ(to_end.low_watermark, 100);

  create_topic_ok(c, "compacted", 1, {{"cleanup.policy", "compact"}});
  EXPECT_EQ(delete_records(c, "compacted", 0, 1).error_code, err_policy_violation);
}

}  // namespace
}  // namespace geomirror::testing

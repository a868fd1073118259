// Accepted-when 3: librdkafka from C++ (rdkafka++) — a producer with
// acks=all and a consumer with assign round-trip 1,000,000 small records
// across 12 partitions with no loss, duplicates or reordering.

#include "tests/support/broker_process.h"
#include "tests/support/rdkafka_conf.h"

#include <gtest/gtest.h>
#include <librdkafka/rdkafkacpp.h>

#include <array>
#include <chrono>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace {

constexpr int partitions = 12;
constexpr int64_t records = 1'000'000;

class delivery_counter : public RdKafka::DeliveryReportCb {
 public:
  void dr_cb(RdKafka::Message& message) override {
    if (message.err() != RdKafka::ERR_NO_ERROR) {
      ++failed;
      last_error = message.errstr();
    } else {
      ++delivered;
    }
  }
  int64_t delivered = 0;
  int64_t failed = 0;
  std::string last_error;
};


TEST(RdKafkaRoundTrip, MillionRecordsAcrossTwelvePartitions) {
  geomirror::testing::broker_process broker(
      {{"auto.create.topics.enable", "true"}, {"num.partitions", std::to_string(partitions)}});
  broker.start();
  const std::string topic_name = "million";

  delivery_counter counter;
  auto pconf = geomirror::testing::make_rdkafka_conf({{"bootstrap.servers", broker.bootstrap()},
                          {"acks", "all"},
                          {"linger.ms", "5"},
                          {"queue.buffering.max.messages", "2000000"},
                          {"message.timeout.ms", "120000"}});
  std::string err;
  ASSERT_EQ(pconf->set("dr_cb", &counter, err), RdKafka::Conf::CONF_OK) << err;
  std::unique_ptr<RdKafka::Producer> producer(RdKafka::Producer::create(pconf.get(), err));
  ASSERT_TRUE(producer) << err;

  auto start = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < records; ++i) {
    std::array<char, 8> value;
    std::memcpy(value.data(), &i, sizeof(i));
    for (;;) {
      auto rc = producer->produce(topic_name, static_cast<int32_t>(i % partitions), RdKafka::Producer::RK_MSG_COPY,
                                  value.data(), value.size(), nullptr, 0, 0, nullptr);
      if (rc == RdKafka::ERR_NO_ERROR) break;
      ASSERT_EQ(rc, RdKafka::ERR__QUEUE_FULL) << RdKafka::err2str(rc);
      producer->poll(10);
    }
    if (i % 10000 == 0) producer->poll(0);
  }
  ASSERT_EQ(producer->flush(120'000), RdKafka::ERR_NO_ERROR);
  auto produced = std::chrono::steady_clock::now();
  EXPECT_EQ(counter.failed, 0) << counter.last_error;
  EXPECT_EQ(counter.delivered, records);

  auto cconf = geomirror::testing::make_rdkafka_conf({{"bootstrap.servers", broker.bootstrap()},
                          {"group.id", "roundtrip-check"},
                          {"enable.auto.commit", "false"},
                          {"enable.partition.eof", "true"}});
  std::unique_ptr<RdKafka::KafkaConsumer> consumer(RdKafka::KafkaConsumer::create(cconf.get(), err));
  ASSERT_TRUE(consumer) << err;
  std::vector<RdKafka::TopicPartition*> assignment;
  for (int p = 0; p < partitions; ++p) {
    assignment.push_back(RdKafka::TopicPartition::create(topic_name, p, RdKafka::Topic::OFFSET_BEGINNING));
  }
  ASSERT_EQ(consumer->assign(assignment), RdKafka::ERR_NO_ERROR);
  RdKafka::TopicPartition::destroy(assignment);

  std::array<int64_t, partitions> next_value{};
  std::array<int64_t, partitions> next_offset{};
  for (int p = 0; p < partitions; ++p) next_value[p] = p;
  int64_t consumed = 0;
  int eof_partitions = 0;
  std::array<bool, partitions> at_eof{};
  auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(5);
  while ((consumed < records || eof_partitions < partitions) && std::chrono::steady_clock::now() < deadline) {
    std::unique_ptr<RdKafka::Message> m(consumer->consume(1000));
    if (m->err() == RdKafka::ERR__TIMED_OUT) continue;
    if (m->err() == RdKafka::ERR__PARTITION_EOF) {
      if (!at_eof[m->partition()]) ++eof_partitions;
      at_eof[m->partition()] = true;
      continue;
    }
    ASSERT_EQ(m->err(), RdKafka::ERR_NO_ERROR) << m->errstr();
    int p = m->partition();
    if (at_eof[p]) --eof_partitions;
    at_eof[p] = false;
    ASSERT_EQ(m->len(), 8u);
    int64_t value;
    std::memcpy(&value, m->payload(), sizeof(value));
    ASSERT_EQ(m->offset(), next_offset[p]) << "partition " << p;
    ASSERT_EQ(value, next_value[p]) << "partition " << p << " offset " << m->offset() << ": lost, duplicated or reordered";
    next_offset[p] += 1;
    next_value[p] += partitions;
    ++consumed;
  }
  auto done = std::chrono::steady_clock::now();
  consumer->close();
  EXPECT_EQ(consumed, records);
  for (int p = 0; p < partitions; ++p) EXPECT_EQ(next_offset[p], records / partitions + (p < records % partitions));
  auto ms = [](auto d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); };
  std::printf("produced %lld records in %lld ms, consumed in %lld ms\n", static_cast<long long>(records),
              static_cast<long long>(ms(produced - start)), static_cast<long long>(ms(done - produced)));
  EXPECT_EQ(broker.stop(), 0);
}

}  // namespace

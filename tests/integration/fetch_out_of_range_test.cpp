// Issue 11 item 1 with rdkafka++: a consumer assigned below the log start
// (after DeleteRecords) or above the log end gets what Kafka gives it --
// auto.offset.reset=earliest resets to the log start, latest to the log end,
// error hands ERR__AUTO_OFFSET_RESET to the application. A broker that sent
// a null record set with the error made librdkafka reject the whole Fetch
// response, so none of this happened and the consumer stalled.

#include "broker-core/protocol/messages/create_topics_request.h"
#include "broker-core/protocol/messages/create_topics_response.h"
#include "broker-core/protocol/messages/delete_records_request.h"
#include "broker-core/protocol/messages/delete_records_response.h"
#include "tests/support/broker_process.h"
#include "tests/support/raw_client.h"
#include "tests/support/rdkafka_conf.h"

#include <gtest/gtest.h>
#include <librdkafka/rdkafkacpp.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace geomirror::testing {
namespace {

using namespace geomirror::protocol;

constexpr int64_t records_produced = 10;
constexpr int64_t log_start = 5;  // DeleteRecords moves the log start here
constexpr int64_t below_log_start = 2;
constexpr int64_t above_end = 50;

struct consumed {
  std::vector<std::pair<int64_t, std::string>> records;  // (offset, value)
  std::vector<RdKafka::ErrorCode> errors;
};

class FetchOutOfRange : public ::testing::TestWithParam<std::pair<int64_t, std::string>> {
 protected:
  static void SetUpTestSuite() {
    broker_ = new broker_process();
    broker_->start();
  }
  static void TearDownTestSuite() {
    delete broker_;
    broker_ = nullptr;
  }

  // A one-partition topic holding offsets log_start..records_produced-1.
  std::string fresh_topic() {
    const std::string name = "oor-cpp-" + std::to_string(++topics_);
    raw_client c(broker_->port());
    create_topics_request create;
    create_topics_request::creatable_topic t;
    t.name = name;
    t.num_partitions = 1;
    t.replication_factor = 1;
    create.topics.push_back(t);
    auto created = c.call<create_topics_response>(create, 5);
    EXPECT_EQ(created.topics.at(0).error_code, 0);

    std::vector<std::string> values;
    for (int64_t i = 0; i < records_produced; ++i) values.push_back("r" + std::to_string(i));
    produce(name, values);

    delete_records_request del;
    del.timeout_ms = 5000;
    delete_records_request::delete_records_topic dt;
    dt.name = name;
    dt.partitions.push_back({0, log_start, {}});
    del.topics.push_back(dt);
    auto deleted = c.call<delete_records_response>(del, 1);
    const auto& p = deleted.topics.at(0).partitions.at(0);
    EXPECT_EQ(p.error_code, 0);
    EXPECT_EQ(p.low_watermark, log_start);
    return name;
  }

  void produce(const std::string& topic, const std::vector<std::string>& values) {
    std::string err;
    auto conf = make_rdkafka_conf({{"bootstrap.servers", broker_->bootstrap()}, {"acks", "all"}});
    std::unique_ptr<RdKafka::Producer> producer(RdKafka::Producer::create(conf.get(), err));
    ASSERT_TRUE(producer) << err;
    for (const auto& v : values) {
      ASSERT_EQ(producer->produce(topic, 0, RdKafka::Producer::RK_MSG_COPY, const_cast<char*>(v.data()), v.size(),
                                  nullptr, 0, 0, nullptr),
                RdKafka::ERR_NO_ERROR);
    }
    ASSERT_EQ(producer->flush(10'000), RdKafka::ERR_NO_ERROR);
  }

  std::unique_ptr<RdKafka::KafkaConsumer> consumer(const std::string& topic, int64_t start, const std::string& reset) {
    std::string err;
    auto conf = make_rdkafka_conf({{"bootstrap.servers", broker_->bootstrap()},
                                   {"group.id", "oor-cpp"},
                                   {"enable.auto.commit", "false"},
                                   {"auto.offset.reset", reset},
                                   {"fetch.wait.max.ms", "100"}});
    std::unique_ptr<RdKafka::KafkaConsumer> c(RdKafka::KafkaConsumer::create(conf.get(), err));
    EXPECT_TRUE(c) << err;
    std::vector<RdKafka::TopicPartition*> assignment{RdKafka::TopicPartition::create(topic, 0, start)};
    EXPECT_EQ(c->assign(assignment), RdKafka::ERR_NO_ERROR);
    RdKafka::TopicPartition::destroy(assignment);
    return c;
  }

  // Consumes for `seconds` or until `done` holds.
  static consumed poll(RdKafka::KafkaConsumer& c, double seconds,
                       const std::function<bool(const consumed&)>& done = [](const consumed&) { return false; }) {
    consumed out;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (std::chrono::steady_clock::now() < deadline && !done(out)) {
      std::unique_ptr<RdKafka::Message> m(c.consume(100));
      if (m->err() == RdKafka::ERR__TIMED_OUT) continue;
      if (m->err() != RdKafka::ERR_NO_ERROR) {
        out.errors.push_back(m->err());
        continue;
      }
      out.records.emplace_back(m->offset(), std::string(static_cast<const char*>(m->payload()), m->len()));
    }
    return out;
  }

  static broker_process* broker_;
  static int topics_;
};

broker_process* FetchOutOfRange::broker_ = nullptr;
int FetchOutOfRange::topics_ = 0;

TEST_P(FetchOutOfRange, ConsumerGetsWhatKafkaGives) {
  const auto& [start, reset] = GetParam();
  const std::string topic = fresh_topic();
  auto c = consumer(topic, start, reset);
  if (reset == "earliest") {
    auto got = poll(*c, 5, [](const consumed& s) { return s.records.size() >= records_produced - log_start || !s.errors.empty(); });
    EXPECT_TRUE(got.errors.empty());
    std::vector<std::pair<int64_t, std::string>> want;
    for (int64_t o = log_start; o < records_produced; ++o) want.emplace_back(o, "r" + std::to_string(o));
    EXPECT_EQ(got.records, want);
  } else if (reset == "latest") {
    auto before = poll(*c, 1);
    EXPECT_TRUE(before.records.empty() && before.errors.empty()) << "latest: nothing before new records arrive";
    produce(topic, {"new-0", "new-1"});
    auto got = poll(*c, 5, [](const consumed& s) { return s.records.size() >= 2 || !s.errors.empty(); });
    EXPECT_TRUE(got.errors.empty());
    std::vector<std::pair<int64_t, std::string>> want{{records_produced, "new-0"}, {records_produced + 1, "new-1"}};
    EXPECT_EQ(got.records, want);
  } else {
    auto got = poll(*c, 5, [](const consumed& s) { return !s.records.empty() || !s.errors.empty(); });
    EXPECT_TRUE(got.records.empty());
    ASSERT_FALSE(got.errors.empty()) << "auto.offset.reset=error must surface the out-of-range fetch";
    EXPECT_EQ(got.errors.front(), RdKafka::ERR__AUTO_OFFSET_RESET);
  }
  c->close();
}

INSTANTIATE_TEST_SUITE_P(
    BelowLogStartAndAboveEnd, FetchOutOfRange,
    ::testing::Values(std::make_pair(below_log_start, std::string("earliest")),
                      std::make_pair(below_log_start, std::string("latest")),
                      std::make_pair(below_log_start, std::string("error")),
                      std::make_pair(above_end, std::string("earliest")),
                      std::make_pair(above_end, std::string("latest")),
                      std::make_pair(above_end, std::string("error"))),
    [](const auto& info) {
      return std::string(info.param.first == below_log_start ? "Below" : "Above") + "_" + info.param.second;
    });

}  // namespace
}  // namespace geomirror::testing

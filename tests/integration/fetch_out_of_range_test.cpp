// Issue 11 item 1 with rdkafka++: a consumer assigned below the log start
// (after DeleteRecords) or above the log end gets what Kafka gives it --
// auto.offset.reset=earliest resets to the log start, latest to the log end,
// error hands ERR__AUTO_OFFSET_RESET to the application. A broker that sent
// a null record set with the error made librdkafka reject the whole Fetch
// response, so none of this happened and the consumer stalled.

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

constexpr int64_t records_produced = 10;
constexpr int64_t log_start = 5;  // DeleteRecords moves the log start here
constexpr int64_t below_log_start = 2;
constexpr int64_t above_end = 50;

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
  static std::string fresh_topic() {
    const std::string name = "oor-cpp-" + std::to_string(++topics_);
    raw_client c(broker_->port());
    EXPECT_EQ(create_topic(c, name, 1).error_code, 0);
    std::vector<std::string> values;
    for (int64_t i = 0; i < records_produced; ++i) values.push_back("r" + std::to_string(i));
    produce_values(broker_->bootstrap(), name, values, {{"acks", "all"}});
    auto deleted = delete_records(c, name, log_start);
    EXPECT_EQ(deleted.error_code, 0);
    EXPECT_EQ(deleted.low_watermark, log_start);
    return name;
  }

  static broker_process* broker_;
  static int topics_;
};

broker_process* FetchOutOfRange::broker_ = nullptr;
int FetchOutOfRange::topics_ = 0;

TEST_P(FetchOutOfRange, ConsumerGetsWhatKafkaGives) {
  const auto& [start, reset] = GetParam();
  const std::string topic = fresh_topic();
  auto c = assigned_consumer(broker_->bootstrap(), topic, start, "oor-cpp",
                             {{"auto.offset.reset", reset}, {"fetch.wait.max.ms", "100"}});
  if (reset == "earliest") {
    auto got = consume_for(*c, 5s, [](const consumed& s) {
      return s.records.size() >= records_produced - log_start || !s.errors.empty();
    });
    EXPECT_TRUE(got.errors.empty());
    std::vector<std::pair<int64_t, std::string>> want;
    for (int64_t o = log_start; o < records_produced; ++o) want.emplace_back(o, "r" + std::to_string(o));
    EXPECT_EQ(got.records, want);
  } else if (reset == "latest") {
    auto before = consume_for(*c, 1s);
    EXPECT_TRUE(before.records.empty() && before.errors.empty()) << "latest: nothing before new records arrive";
    produce_values(broker_->bootstrap(), topic, {"new-0", "new-1"});
    auto got = consume_for(*c, 5s, [](const consumed& s) { return s.records.size() >= 2 || !s.errors.empty(); });
    EXPECT_TRUE(got.errors.empty());
    std::vector<std::pair<int64_t, std::string>> want{{records_produced, "new-0"}, {records_produced + 1, "new-1"}};
    EXPECT_EQ(got.records, want);
  } else {
    auto got = consume_for(*c, 5s, [](const consumed& s) { return !s.records.empty() || !s.errors.empty(); });
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

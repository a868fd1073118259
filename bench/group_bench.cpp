// Consumer-group round trip of one geomirror broker core, measured with
// librdkafka: produce N records (acks=-1), then a group of C consumers
// (subscribe, the broker's group coordinator, client-side assignment)
// consumes them all, committing as it goes. Prints
//   - rebalance time: from subscribe until the group owns every partition,
//     and for one more member joining the running group until the
//     partitions are spread over all members again;
//   - consume throughput of the group, commits included.
// With --at-once it measures only the first rebalance instead ("consumers
// subscribe at once -> assigned"): the consumers (created beforehand, so
// they have found the coordinator) subscribe at the same moment to a new
// group, --runs times; it prints the seconds from subscribe until every one
// owns partitions and together they own all (min, median, max, each run).
//
//   group_bench [--partitions 12] [--records 200000] [--record-size 1024]
//               [--consumers 3] [--assignor range|roundrobin|cooperative-sticky]
//               [--commit-every 1000] [--initial-rebalance-delay-ms 100]
//               [--at-once] [--runs 5] [--bootstrap HOST:PORT] [--json]
// Without --bootstrap it starts its own broker ($GEOMIRROR_BROKER, a fresh
// data dir under $GEOMIRROR_BENCH_DIR or /tmp) with
// group.initial.rebalance.delay.ms set as given. Kafka's default, 3000,
// makes the first rebalance of a new group take at least 3 s: the first
// generation forms once no member has arrived for that long (Kafka's own
// coordinator waits a second 3 s when members arrive during the first).
// With 0 it forms at once; when a member that was not yet handed its id
// arrives just after, librdkafka rejoins the larger group no sooner than its
// 1 s join interval allows (1-2 s).

#include "bench/bench_broker.h"
#include "bench/bench_util.h"
#include "tests/support/broker_process.h"
#include "tests/support/rdkafka_conf.h"

#include <librdkafka/rdkafkacpp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

namespace {

using clock_type = std::chrono::steady_clock;

struct options {
  int partitions = 12;
  int64_t records = 200'000;
  size_t record_size = 1024;
  int consumers = 3;
  std::string assignor = "range";
  int64_t commit_every = 1000;
  int initial_delay_ms = 100;
  bool at_once = false;
  int runs = 5;
  std::string bootstrap;
  bool json = false;
};

options parse(int argc, char** argv) {
  options o;
  geomirror::bench::option_parser("group_bench")
      .number("--partitions", o.partitions)
      .number("--records", o.records)
      .number("--record-size", o.record_size)
      .number("--consumers", o.consumers)
      .text("--assignor", o.assignor)
      .number("--commit-every", o.commit_every)
      .number("--initial-rebalance-delay-ms", o.initial_delay_ms)
      .flag("--at-once", o.at_once)
      .number("--runs", o.runs)
      .text("--bootstrap", o.bootstrap)
      .flag("--json", o.json)
      .parse(argc, argv);
  if (o.partitions < 1 || o.records < 1 || o.record_size < 8 || o.consumers < 1 || o.commit_every < 1 || o.runs < 1) {
    throw std::invalid_argument("values must be positive");
  }
  return o;
}

class delivery_counter : public RdKafka::DeliveryReportCb {
 public:
  void dr_cb(RdKafka::Message& m) override {
    if (m.err() != RdKafka::ERR_NO_ERROR) ++failed;
  }
  int64_t failed = 0;
};

// One group member: a KafkaConsumer on its own thread that counts what it
// consumes, commits every `commit_every` records (asynchronously, then
// synchronously on revoke and at the end) and tracks how many partitions it
// owns.
class member : public RdKafka::RebalanceCb {
 public:
  // Subscribes at once unless `subscribe_now` is false (then subscribe()).
  member(const options& o, const std::string& topic, const std::string& group, int index,
         std::atomic<int64_t>& consumed, bool subscribe_now = true)
      : topic_(topic), commit_every_(o.commit_every), consumed_(consumed) {
    auto conf = geomirror::testing::make_rdkafka_conf({{"bootstrap.servers", o.bootstrap},
                           {"group.id", group},
                           {"client.id", "group-bench-" + std::to_string(index)},
                           {"partition.assignment.strategy", o.assignor},
                           {"enable.auto.commit", "false"},
                           {"auto.offset.reset", "earliest"},
                           {"session.timeout.ms", "10000"},
                           {"heartbeat.interval.ms", "500"},
                           {"fetch.max.bytes", "52428800"},
                           {"max.partition.fetch.bytes", "10485760"}});
    std::string err;
    if (conf->set("rebalance_cb", static_cast<RdKafka::RebalanceCb*>(this), err) != RdKafka::Conf::CONF_OK) {
      throw std::runtime_error(err);
    }
    consumer_.reset(RdKafka::KafkaConsumer::create(conf.get(), err));
    if (!consumer_) throw std::runtime_error("cannot create consumer: " + err);
    if (subscribe_now) subscribe();
  }

  void subscribe() {
    if (auto rc = consumer_->subscribe({topic_}); rc != RdKafka::ERR_NO_ERROR) {
      throw std::runtime_error("subscribe failed: " + RdKafka::err2str(rc));
    }
    thread_ = std::thread([this] { run(); });
  }

  ~member() { stop(); }

  void stop() {
    if (!thread_.joinable()) return;
    running_ = false;
    thread_.join();
    consumer_->commitSync();
    consumer_->close();
  }

  int owned() const { return owned_.load(); }
  int64_t commits() const { return commits_.load(); }

  void rebalance_cb(RdKafka::KafkaConsumer* consumer, RdKafka::ErrorCode err,
                    std::vector<RdKafka::TopicPartition*>& partitions) override {
    const bool cooperative = consumer->rebalance_protocol() == "COOPERATIVE";
    if (err == RdKafka::ERR__ASSIGN_PARTITIONS) {
      if (cooperative) delete consumer->incremental_assign(partitions);
      else consumer->assign(partitions);
    } else {
      // Hand over what was processed before giving partitions up.
      if (since_commit_ > 0) consumer->commitSync();
      since_commit_ = 0;
      if (cooperative) delete consumer->incremental_unassign(partitions);
      else consumer->unassign();
    }
    std::vector<RdKafka::TopicPartition*> now;
    consumer->assignment(now);
    owned_ = static_cast<int>(now.size());
    RdKafka::TopicPartition::destroy(now);
  }

 private:
  void run() {
    while (running_) {
      std::unique_ptr<RdKafka::Message> m(consumer_->consume(100));
      if (m->err() != RdKafka::ERR_NO_ERROR) continue;
      consumed_.fetch_add(1);
      if (++since_commit_ >= commit_every_) {
        consumer_->commitAsync();
        ++commits_;
        since_commit_ = 0;
      }
    }
  }

  std::string topic_;
  int64_t commit_every_;
  std::atomic<int64_t>& consumed_;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
  std::thread thread_;
  std::atomic<bool> running_{true};
  std::atomic<int> owned_{0};
  std::atomic<int64_t> commits_{0};
  int64_t since_commit_ = 0;  // the consumer's thread only (rebalance_cb runs inside consume)
};

// Waits until every member owns at least one partition and together they
// own all of them; returns the seconds it took, or a negative value on timeout.
double wait_spread(const std::vector<std::unique_ptr<member>>& members, int partitions, clock_type::time_point from) {
  auto deadline = from + std::chrono::seconds(120);
  while (clock_type::now() < deadline) {
    int total = 0;
    bool everyone = true;
    for (const auto& m : members) {
      total += m->owned();
      everyone = everyone && m->owned() > 0;
    }
    if (total == partitions && (everyone || static_cast<int>(members.size()) > partitions)) {
      return std::chrono::duration<double>(clock_type::now() - from).count();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return -1;
}

// --at-once: `o.runs` times, a new group of `o.consumers` members subscribes
// at the same moment; returns 0 when every run was assigned.
int run_at_once(const options& o, const std::string& topic) {
  std::vector<double> took;
  std::atomic<int64_t> consumed{0};
  for (int run = 0; run < o.runs; ++run) {
    const std::string group = "group-bench-at-once-" + std::to_string(::getpid()) + "-" + std::to_string(run);
    std::vector<std::unique_ptr<member>> members;
    for (int i = 0; i < o.consumers; ++i) {
      members.push_back(std::make_unique<member>(o, topic, group, i, consumed, false));
    }
    // librdkafka looks the coordinator up as soon as a consumer exists: let
    // that happen, so the time measured is the group's.
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    auto start = clock_type::now();
    for (auto& m : members) m->subscribe();
    took.push_back(wait_spread(members, o.partitions, start));
    for (auto& m : members) m->stop();
  }
  auto sorted = took;
  std::sort(sorted.begin(), sorted.end());
  const bool all_assigned = sorted.front() >= 0;
  const double median = sorted[sorted.size() / 2];
  if (o.json) {
    std::printf("{\"partitions\":%d,\"consumers\":%d,\"assignor\":\"%s\",\"initial_rebalance_delay_ms\":%d,"
                "\"runs\":%d,\"at_once_assigned_ms\":[",
                o.partitions, o.consumers, o.assignor.c_str(), o.initial_delay_ms, o.runs);
    for (size_t i = 0; i < took.size(); ++i) std::printf("%s%.1f", i ? "," : "", took[i] * 1000);
    std::printf("]}\n");
  } else {
    std::printf("  %d consumers subscribe at once -> assigned (%d partitions, %s, "
                "group.initial.rebalance.delay.ms=%d): min %.3f s, median %.3f s, max %.3f s over %d runs (",
                o.consumers, o.partitions, o.assignor.c_str(), o.initial_delay_ms, sorted.front(), median,
                sorted.back(), o.runs);
    for (size_t i = 0; i < took.size(); ++i) std::printf("%s%.3f", i ? " " : "", took[i]);
    std::printf(")\n");
  }
  return all_assigned ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  try {
    o = parse(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "group_bench: %s\n", e.what());
    return 2;
  }

  std::optional<geomirror::testing::broker_process> broker;
  geomirror::bench::start_own_broker(broker,
                                     {{"auto.create.topics.enable", "true"},
                                      {"num.partitions", std::to_string(o.partitions)},
                                      {"group.initial.rebalance.delay.ms", std::to_string(o.initial_delay_ms)}},
                                     "group-bench", o.bootstrap);
  const std::string topic = "group-bench-" + std::to_string(o.partitions) + "p-" + std::to_string(::getpid());
  const std::string group = "group-bench-" + std::to_string(::getpid());
  if (o.at_once) {
    // A topic for the group to split (the broker creates it on the
    // producer's Metadata request); nothing is produced.
    delivery_counter unused;
    geomirror::bench::make_producer(o.bootstrap, "-1", unused, topic).reset();
    int rc = run_at_once(o, topic);
    if (broker) broker->stop();
    return rc;
  }

  // Produce.
  delivery_counter deliveries;
  auto producer = geomirror::bench::make_producer(o.bootstrap, "-1", deliveries, topic);
  double produce_s = geomirror::bench::produce_indexed(*producer, topic, o.partitions, o.records, o.record_size);
  producer.reset();

  // The group: subscribe, wait for the first assignment, consume everything.
  std::atomic<int64_t> consumed{0};
  std::vector<std::unique_ptr<member>> members;
  auto subscribe_start = clock_type::now();
  for (int i = 0; i < o.consumers; ++i) members.push_back(std::make_unique<member>(o, topic, group, i, consumed));
  double initial_rebalance_s = wait_spread(members, o.partitions, subscribe_start);
  auto consume_deadline = clock_type::now() + std::chrono::minutes(10);
  while (consumed.load() < o.records && clock_type::now() < consume_deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  double group_consume_s = std::chrono::duration<double>(clock_type::now() - subscribe_start).count();
  double assigned_consume_s = group_consume_s - initial_rebalance_s;

  // One more member joins the running group.
  auto join_start = clock_type::now();
  members.push_back(std::make_unique<member>(o, topic, group, o.consumers, consumed));
  double join_rebalance_s = wait_spread(members, o.partitions, join_start);

  int64_t commits = 0;
  for (auto& m : members) {
    m->stop();
    commits += m->commits();
  }
  members.clear();

  const double mb = static_cast<double>(o.records) * static_cast<double>(o.record_size) / 1e6;
  const int64_t got = consumed.load();
  if (o.json) {
    std::printf(
        "{\"partitions\":%d,\"records\":%lld,\"record_size\":%zu,\"consumers\":%d,\"assignor\":\"%s\","
        "\"initial_rebalance_delay_ms\":%d,\"produce_records_s\":%.0f,\"consumed\":%lld,\"commits\":%lld,"
        "\"group_consume_records_s\":%.0f,\"group_consume_mb_s\":%.1f,\"assigned_consume_records_s\":%.0f,"
        "\"rebalance_subscribe_ms\":%.1f,\"rebalance_join_ms\":%.1f}\n",
        o.partitions, static_cast<long long>(o.records), o.record_size, o.consumers, o.assignor.c_str(),
        o.initial_delay_ms, static_cast<double>(o.records) / produce_s, static_cast<long long>(got),
        static_cast<long long>(commits), static_cast<double>(got) / group_consume_s, mb / group_consume_s,
        static_cast<double>(got) / assigned_consume_s, initial_rebalance_s * 1000, join_rebalance_s * 1000);
  } else {
    std::printf("partitions=%d records=%lld record_size=%zu consumers=%d assignor=%s "
                "group.initial.rebalance.delay.ms=%d\n",
                o.partitions, static_cast<long long>(o.records), o.record_size, o.consumers, o.assignor.c_str(),
                o.initial_delay_ms);
    std::printf("  produce:   %10.0f records/s (acks=-1)\n", static_cast<double>(o.records) / produce_s);
    std::printf("  group:     %10.0f records/s %8.1f MB/s from subscribe to the last record, %lld commits, "
                "%lld records\n",
                static_cast<double>(got) / group_consume_s, mb / group_consume_s, static_cast<long long>(commits),
                static_cast<long long>(got));
    std::printf("             %10.0f records/s once every partition was assigned\n",
                static_cast<double>(got) / assigned_consume_s);
    std::printf("  rebalance: %8.1f ms from subscribe to every partition assigned (%d members)\n",
                initial_rebalance_s * 1000, o.consumers);
    std::printf("  rebalance: %8.1f ms for a member joining the running group (%d members)\n",
                join_rebalance_s * 1000, o.consumers + 1);
  }
  if (broker) broker->stop();
  return deliveries.failed == 0 && got == o.records && initial_rebalance_s >= 0 && join_rebalance_s >= 0 ? 0 : 1;
}

// Produce latency of one geomirror broker core while segments roll and a
// consumer catches up on cold data: an acks=-1 producer sends 1 KiB records
// at a fixed rate to a topic whose segments roll every --segment-mb MiB,
// while a librdkafka consumer reads a second topic of --cold-mb MiB from
// offset 0 after its files were dropped from the page cache. Prints the
// produce latency percentiles, the segments rolled, and the consumer's MB/s.
// A broker that rolls (several fdatasyncs) and reads cold data on its
// network threads shows it in the p99.
//
//   roll_latency_bench [--rate 10000] [--seconds 10] [--partitions 4]
//                      [--segment-mb 4] [--cold-mb 400] [--json]
// It starts its own broker ($GEOMIRROR_BROKER, data dir under
// $GEOMIRROR_BENCH_DIR or /tmp).

#include "bench/bench_broker.h"
#include "bench/bench_util.h"
#include "tests/support/broker_process.h"
#include "tests/support/rdkafka_conf.h"

#include <librdkafka/rdkafkacpp.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

namespace {

using clock_type = std::chrono::steady_clock;

struct options {
  int64_t rate = 10'000;
  int seconds = 10;
  int partitions = 4;
  int segment_mb = 4;
  int cold_mb = 400;
  bool json = false;
};

options parse(int argc, char** argv) {
  options o;
  geomirror::bench::option_parser("roll_latency_bench")
      .number("--rate", o.rate)
      .number("--seconds", o.seconds)
      .number("--partitions", o.partitions)
      .number("--segment-mb", o.segment_mb)
      .number("--cold-mb", o.cold_mb)
      .flag("--json", o.json)
      .parse(argc, argv);
  if (o.rate < 1 || o.seconds < 1 || o.partitions < 1 || o.segment_mb < 1 || o.cold_mb < 0) {
    throw std::invalid_argument("values must be positive");
  }
  return o;
}

class latency_recorder : public RdKafka::DeliveryReportCb {
 public:
  void dr_cb(RdKafka::Message& m) override {
    if (m.err() != RdKafka::ERR_NO_ERROR) {
      ++failed;
      return;
    }
    int64_t sent_ns;
    std::memcpy(&sent_ns, m.payload(), sizeof(sent_ns));
    const int64_t now_ns = clock_type::now().time_since_epoch().count();
    latencies_us.push_back((now_ns - sent_ns) / 1000);
  }
  std::vector<int64_t> latencies_us;
  int64_t failed = 0;
};

void evict(const std::filesystem::path& dir) {
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (e.path().extension() != ".log") continue;
    int fd = ::open(e.path().c_str(), O_RDONLY);
    if (fd < 0) continue;
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    ::close(fd);
  }
}

size_t count_segments(const std::filesystem::path& dir, const std::string& topic) {
  size_t n = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (e.path().extension() == ".log" && e.path().parent_path().filename().string().rfind(topic + "-", 0) == 0) ++n;
  }
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  try {
    o = parse(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "roll_latency_bench: %s\n", e.what());
    return 2;
  }
  std::optional<geomirror::testing::broker_process> broker;
  std::string bootstrap;
  geomirror::bench::start_own_broker(broker,
                                     {{"auto.create.topics.enable", "true"},
                                      {"num.partitions", std::to_string(o.partitions)},
                                      {"log.segment.bytes", std::to_string(o.segment_mb << 20)}},
                                     "rolls", bootstrap);
  const std::string hot = "hot", cold = "cold";

  // The cold topic: written, then dropped from the page cache.
  if (o.cold_mb > 0) {
    latency_recorder ignored;
    auto filler = geomirror::bench::make_producer(bootstrap, "-1", ignored, cold);
    geomirror::bench::produce_indexed(*filler, cold, 1, int64_t{o.cold_mb} * 1024, 1024);
    evict(broker->data_dir());
  }
  const size_t segments_before = count_segments(broker->data_dir(), hot);

  std::atomic<bool> stop{false};
  std::atomic<uint64_t> cold_bytes{0};
  std::thread consumer_thread([&] {
    if (o.cold_mb == 0) return;
    auto conf = geomirror::testing::make_rdkafka_conf(
        {{"bootstrap.servers", bootstrap}, {"group.id", "catch-up"}, {"enable.auto.commit", "false"}});
    std::string err;
    std::unique_ptr<RdKafka::KafkaConsumer> c(RdKafka::KafkaConsumer::create(conf.get(), err));
    std::vector<RdKafka::TopicPartition*> a{RdKafka::TopicPartition::create(cold, 0, RdKafka::Topic::OFFSET_BEGINNING)};
    c->assign(a);
    RdKafka::TopicPartition::destroy(a);
    while (!stop) {
      std::unique_ptr<RdKafka::Message> m(c->consume(100));
      if (m->err() == RdKafka::ERR_NO_ERROR) cold_bytes += m->len();
    }
    c->close();
  });

  latency_recorder recorder;
  auto pconf = geomirror::testing::make_rdkafka_conf({{"bootstrap.servers", bootstrap},
                                                      {"acks", "-1"},
                                                      {"linger.ms", "1"},
                                                      {"message.timeout.ms", "60000"}});
  std::string err;
  pconf->set("dr_cb", &recorder, err);
  std::unique_ptr<RdKafka::Producer> producer(RdKafka::Producer::create(pconf.get(), err));
  std::vector<char> payload(1024, 'r');
  const int64_t total = o.rate * o.seconds;
  const auto start = clock_type::now();
  for (int64_t i = 0; i < total; ++i) {
    const auto due = start + std::chrono::nanoseconds(i * 1'000'000'000 / o.rate);
    while (clock_type::now() < due) producer->poll(0);
    const int64_t sent_ns = clock_type::now().time_since_epoch().count();
    std::memcpy(payload.data(), &sent_ns, sizeof(sent_ns));
    producer->produce(hot, static_cast<int32_t>(i % o.partitions), RdKafka::Producer::RK_MSG_COPY, payload.data(),
                      payload.size(), nullptr, 0, 0, nullptr);
    producer->poll(0);
  }
  producer->flush(60'000);
  const double elapsed = std::chrono::duration<double>(clock_type::now() - start).count();
  producer.reset();
  stop = true;
  consumer_thread.join();
  const size_t rolled = count_segments(broker->data_dir(), hot) - segments_before;
  const double cold_mb_s = static_cast<double>(cold_bytes.load()) / 1e6 / elapsed;

  using geomirror::bench::percentile_ms;
  const double p50 = percentile_ms(recorder.latencies_us, 50), p99 = percentile_ms(recorder.latencies_us, 99),
               p999 = percentile_ms(recorder.latencies_us, 99.9), max = percentile_ms(recorder.latencies_us, 100);
  if (o.json) {
    std::printf("{\"rate\":%lld,\"seconds\":%d,\"partitions\":%d,\"segment_mb\":%d,\"segments_rolled\":%zu,"
                "\"produce_latency_ms\":{\"p50\":%.2f,\"p99\":%.2f,\"p999\":%.2f,\"max\":%.2f},\"failed\":%lld,"
                "\"cold_consume_mb_s\":%.1f}\n",
                static_cast<long long>(o.rate), o.seconds, o.partitions, o.segment_mb, rolled, p50, p99, p999, max,
                static_cast<long long>(recorder.failed), cold_mb_s);
  } else {
    std::printf("acks=-1 produce at %lld records/s for %d s over %d partitions, segments rolled: %zu, "
                "cold catch-up consumer: %.1f MB/s\n",
                static_cast<long long>(o.rate), o.seconds, o.partitions, rolled, cold_mb_s);
    std::printf("  produce latency p50 %.2f ms  p99 %.2f ms  p99.9 %.2f ms  max %.2f ms  failed %lld\n", p50, p99,
                p999, max, static_cast<long long>(recorder.failed));
  }
  if (broker) broker->stop();
  return recorder.failed == 0 ? 0 : 1;
}

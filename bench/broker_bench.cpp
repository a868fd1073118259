// Produce/consume throughput of one geomirror broker core, measured with
// librdkafka: 1 KiB records (by default), acks=-1, N partitions. Prints MB/s,
// records/s and produce latency percentiles (human text, or --json). Then a
// catch-up read of everything with plain Fetch v11 requests whose records are
// not parsed: the rate the broker serves at, which librdkafka's per-message
// work hides (it caps a consumer thread at about 0.5 M records/s).
//
//   broker_bench [--partitions 12] [--records 200000] [--record-size 1024]
//                [--acks -1] [--bootstrap HOST:PORT] [--json]
// Without --bootstrap it starts its own broker ($GEOMIRROR_BROKER, a fresh
// data dir under $GEOMIRROR_BENCH_DIR or /tmp).

#include "bench/bench_broker.h"
#include "bench/bench_util.h"
#include "broker-core/base/endian.h"
#include "broker-core/protocol/messages/fetch_request.h"
#include "broker-core/records/record_batch.h"
#include "tests/support/broker_process.h"
#include "tests/support/raw_client.h"
#include "tests/support/rdkafka_conf.h"

#include <librdkafka/rdkafkacpp.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <unistd.h>

namespace {

using clock_type = std::chrono::steady_clock;

struct options {
  int partitions = 12;
  int64_t records = 200'000;
  size_t record_size = 1024;
  std::string acks = "-1";
  std::string bootstrap;
  bool json = false;
};

options parse(int argc, char** argv) {
  options o;
  geomirror::bench::option_parser("broker_bench")
      .number("--partitions", o.partitions)
      .number("--records", o.records)
      .number("--record-size", o.record_size)
      .text("--acks", o.acks)
      .text("--bootstrap", o.bootstrap)
      .flag("--json", o.json)
      .parse(argc, argv);
  if (o.partitions < 1 || o.records < 1 || o.record_size < 8) throw std::invalid_argument("values must be positive");
  return o;
}

// Records when each message was handed to librdkafka (payload carries its
// index) and computes the delivery latency when the ack arrives.
class latency_recorder : public RdKafka::DeliveryReportCb {
 public:
  explicit latency_recorder(int64_t n) : sent_at(static_cast<size_t>(n)) { latencies_us.reserve(static_cast<size_t>(n)); }
  void dr_cb(RdKafka::Message& m) override {
    if (m.err() != RdKafka::ERR_NO_ERROR) {
      ++failed;
      return;
    }
    int64_t index;
    std::memcpy(&index, m.payload(), sizeof(index));
    latencies_us.push_back(
        std::chrono::duration_cast<std::chrono::microseconds>(clock_type::now() - sent_at[static_cast<size_t>(index)])
            .count());
  }
  std::vector<clock_type::time_point> sent_at;
  std::vector<int64_t> latencies_us;
  int64_t failed = 0;
};

// Reads every partition of `topic` from offset 0 to its high watermark with
// Fetch v11 (50 MB responses, 8 MB per partition); returns (bytes, seconds).
// Reads a Fetch v11 response in place: per partition its error, high
// watermark and record bytes (a view into `body`).
struct fetched_partition {
  int32_t partition;
  int16_t error;
  int64_t high_watermark;
  geomirror::records::bytes_view records;
};

std::vector<fetched_partition> parse_fetch_v11(const geomirror::protocol::bytes& body) {
  using geomirror::base::load_be16;
  using geomirror::base::load_be32;
  using geomirror::base::load_be64;
  size_t at = 0;
  auto need = [&](size_t n) {
    if (at + n > body.size()) throw std::runtime_error("short Fetch response");
    const uint8_t* p = body.data() + at;
    at += n;
    return p;
  };
  need(4);  // correlation id (v11 responses have the classic header)
  need(4);  // throttle time
  if (const auto error = static_cast<int16_t>(load_be16(need(2))); error != 0) {
    throw std::runtime_error("Fetch failed as a whole: error " + std::to_string(error));
  }
  need(4);  // session id
  std::vector<fetched_partition> out;
  for (auto topics = static_cast<int32_t>(load_be32(need(4))); topics > 0; --topics) {
    need(load_be16(need(2)));  // topic name
    for (auto partitions = static_cast<int32_t>(load_be32(need(4))); partitions > 0; --partitions) {
      fetched_partition f{};
      f.partition = static_cast<int32_t>(load_be32(need(4)));
      f.error = static_cast<int16_t>(load_be16(need(2)));
      f.high_watermark = static_cast<int64_t>(load_be64(need(8)));
      need(16);  // last stable offset, log start offset
      if (const auto aborted = static_cast<int32_t>(load_be32(need(4))); aborted > 0) need(16 * size_t(aborted));
      need(4);  // preferred read replica
      const auto size = static_cast<int32_t>(load_be32(need(4)));
      if (size > 0) f.records = {need(static_cast<size_t>(size)), static_cast<size_t>(size)};
      out.push_back(f);
    }
  }
  return out;
}

// Catch-up read of every partition from offset 0 with Fetch v11 (50 MB per
// response, 8 MB per partition): the rate the broker serves at. Like
// iperf3's receiver, the client reads each response into one reused buffer
// and parses only the headers (partition fields, batch lengths), so the
// figure is the broker's, not the client's copies.
std::pair<uint64_t, double> raw_catch_up(const std::string& bootstrap, const std::string& topic, int partitions) {
  using namespace geomirror::protocol;
  const auto port = static_cast<uint16_t>(std::stoi(bootstrap.substr(bootstrap.rfind(':') + 1)));
  geomirror::testing::raw_client c(port);
  std::vector<int64_t> next(static_cast<size_t>(partitions), 0);
  std::vector<int64_t> end(static_cast<size_t>(partitions), -1);
  uint64_t bytes = 0;
  geomirror::protocol::bytes body;
  const auto start = clock_type::now();
  while (true) {
    fetch_request req;
    req.replica_id = -1;
    req.max_wait_ms = 0;
    req.max_bytes = 50 << 20;
    fetch_request::fetch_topic t;
    t.topic = topic;
    for (int p = 0; p < partitions; ++p) {
      if (end[static_cast<size_t>(p)] >= 0 && next[static_cast<size_t>(p)] >= end[static_cast<size_t>(p)]) continue;
      fetch_request::fetch_partition fp;
      fp.partition = p;
      fp.fetch_offset = next[static_cast<size_t>(p)];
      fp.partition_max_bytes = 8 << 20;
      t.partitions.push_back(fp);
    }
    if (t.partitions.empty()) break;
    req.topics.push_back(std::move(t));
    c.exchange_into(c.frame_of(req, 11), body);
    for (const auto& part : parse_fetch_v11(body)) {
      if (part.error != 0) throw std::runtime_error("raw fetch error " + std::to_string(part.error));
      bytes += part.records.size();
      end[static_cast<size_t>(part.partition)] = part.high_watermark;
      geomirror::records::for_each_batch(part.records, [&](const geomirror::records::batch_view& b) {
        next[static_cast<size_t>(part.partition)] = b.header.next_offset();
        return true;
      });
    }
  }
  return {bytes, std::chrono::duration<double>(clock_type::now() - start).count()};
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  try {
    o = parse(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "broker_bench: %s\n", e.what());
    return 2;
  }

  std::optional<geomirror::testing::broker_process> broker;
  geomirror::bench::start_own_broker(broker,
                                     {{"auto.create.topics.enable", "true"},
                                      {"num.partitions", std::to_string(o.partitions)}},
                                     "bench", o.bootstrap);
  const std::string topic = "bench-" + std::to_string(o.partitions) + "p-" + std::to_string(::getpid());

  latency_recorder recorder(o.records);
  auto producer = geomirror::bench::make_producer(o.bootstrap, o.acks, recorder, topic);
  double produce_s = geomirror::bench::produce_indexed(
      *producer, topic, o.partitions, o.records, o.record_size,
      [&](int64_t i) { recorder.sent_at[static_cast<size_t>(i)] = clock_type::now(); });

  auto cconf = geomirror::testing::make_rdkafka_conf({{"bootstrap.servers", o.bootstrap},
                          {"group.id", "bench"},
                          {"enable.auto.commit", "false"}});
  std::string err;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer(RdKafka::KafkaConsumer::create(cconf.get(), err));
  std::vector<RdKafka::TopicPartition*> assignment;
  for (int p = 0; p < o.partitions; ++p) {
    assignment.push_back(RdKafka::TopicPartition::create(topic, p, RdKafka::Topic::OFFSET_BEGINNING));
  }
  consumer->assign(assignment);
  RdKafka::TopicPartition::destroy(assignment);
  int64_t consumed = 0;
  auto consume_start = clock_type::now();
  auto deadline = consume_start + std::chrono::minutes(10);
  while (consumed < o.records && clock_type::now() < deadline) {
    std::unique_ptr<RdKafka::Message> m(consumer->consume(1000));
    if (m->err() == RdKafka::ERR_NO_ERROR) ++consumed;
  }
  double consume_s = std::chrono::duration<double>(clock_type::now() - consume_start).count();
  consumer->close();
  consumer.reset();
  producer.reset();
  const auto [raw_bytes, raw_s] = raw_catch_up(o.bootstrap, topic, o.partitions);
  const double raw_mb_s = static_cast<double>(raw_bytes) / 1e6 / raw_s;

  double mb = static_cast<double>(o.records) * static_cast<double>(o.record_size) / 1e6;
  using geomirror::bench::percentile_ms;
  const double p50 = percentile_ms(recorder.latencies_us, 50), p99 = percentile_ms(recorder.latencies_us, 99),
               p999 = percentile_ms(recorder.latencies_us, 99.9);
  if (o.json) {
    std::printf(
        "{\"partitions\":%d,\"records\":%lld,\"record_size\":%zu,\"acks\":\"%s\",\"failed\":%lld,"
        "\"produce_mb_s\":%.1f,\"produce_records_s\":%.0f,\"produce_latency_ms\":{\"p50\":%.2f,\"p99\":%.2f,"
        "\"p999\":%.2f},\"consumed\":%lld,\"consume_mb_s\":%.1f,\"consume_records_s\":%.0f,"
        "\"catch_up_fetch_mb_s\":%.1f}\n",
        o.partitions, static_cast<long long>(o.records), o.record_size, o.acks.c_str(),
        static_cast<long long>(recorder.failed), mb / produce_s, static_cast<double>(o.records) / produce_s, p50, p99,
        p999, static_cast<long long>(consumed), mb / consume_s, static_cast<double>(consumed) / consume_s, raw_mb_s);
  } else {
    std::printf("partitions=%d records=%lld record_size=%zu acks=%s\n", o.partitions,
                static_cast<long long>(o.records), o.record_size, o.acks.c_str());
    std::printf("  produce: %8.1f MB/s %10.0f records/s  latency p50 %.2f ms p99 %.2f ms p99.9 %.2f ms  failed %lld\n",
                mb / produce_s, static_cast<double>(o.records) / produce_s, p50, p99, p999,
                static_cast<long long>(recorder.failed));
    std::printf("  consume: %8.1f MB/s %10.0f records/s  (%lld records)\n", mb / consume_s,
                static_cast<double>(consumed) / consume_s, static_cast<long long>(consumed));
    std::printf("  catch-up Fetch (records not parsed): %8.1f MB/s  (%.0f MB)\n", raw_mb_s,
                static_cast<double>(raw_bytes) / 1e6);
  }
  if (broker) broker->stop();
  return recorder.failed == 0 && consumed == o.records ? 0 : 1;
}

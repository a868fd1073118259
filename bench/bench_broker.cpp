#include "bench/bench_broker.h"

#include "tests/support/rdkafka_conf.h"

#include <chrono>
#include <cstdlib>
#include <algorithm>
#include <cstring>
#include <vector>
#include <filesystem>
#include <stdexcept>

#include <unistd.h>

namespace geomirror::bench {

void start_own_broker(std::optional<testing::broker_process>& broker, const std::map<std::string, std::string>& config,
                      const std::string& dir_prefix, std::string& bootstrap) {
  if (!bootstrap.empty()) return;
  std::filesystem::path dir;
  if (const char* base = std::getenv("GEOMIRROR_BENCH_DIR")) {
    std::string pattern = (std::filesystem::path(base) / (dir_prefix + "-XXXXXX")).string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed under " + std::string(base));
    dir = pattern;
  }
  broker.emplace(config, dir);
  broker->start();
  bootstrap = broker->bootstrap();
}

std::unique_ptr<RdKafka::Producer> make_producer(const std::string& bootstrap, const std::string& acks,
                                                 RdKafka::DeliveryReportCb& delivery_reports, const std::string& topic) {
  auto conf = testing::make_rdkafka_conf({{"bootstrap.servers", bootstrap},
                                          {"acks", acks},
                                          {"linger.ms", "5"},
                                          {"batch.size", "1000000"},
                                          {"queue.buffering.max.messages", "1000000"},
                                          {"queue.buffering.max.kbytes", "1048576"},
                                          {"message.timeout.ms", "300000"}});
  std::string err;
  if (conf->set("dr_cb", &delivery_reports, err) != RdKafka::Conf::CONF_OK) throw std::runtime_error(err);
  std::unique_ptr<RdKafka::Producer> producer(RdKafka::Producer::create(conf.get(), err));
  if (!producer) throw std::runtime_error("cannot create a producer: " + err);
  std::unique_ptr<RdKafka::Topic> t(RdKafka::Topic::create(producer.get(), topic, nullptr, err));
  RdKafka::Metadata* md = nullptr;
  producer->metadata(false, t.get(), &md, 10000);
  delete md;
  return producer;
}

double produce_indexed(RdKafka::Producer& producer, const std::string& topic, int partitions, int64_t records,
                       size_t record_size, const std::function<void(int64_t)>& before_send) {
  std::vector<char> payload(std::max<size_t>(record_size, sizeof(int64_t)), 'x');
  const auto start = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < records; ++i) {
    std::memcpy(payload.data(), &i, sizeof(i));
    if (before_send) before_send(i);
    for (;;) {
      auto rc = producer.produce(topic, static_cast<int32_t>(i % partitions), RdKafka::Producer::RK_MSG_COPY,
                                 payload.data(), payload.size(), nullptr, 0, 0, nullptr);
      if (rc == RdKafka::ERR_NO_ERROR) break;
      if (rc != RdKafka::ERR__QUEUE_FULL) throw std::runtime_error("produce failed: " + RdKafka::err2str(rc));
      producer.poll(1);
    }
    producer.poll(0);
  }
  producer.flush(600'000);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace geomirror::bench

#include "bench/bench_broker.h"

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

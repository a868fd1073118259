#include "tests/support/rdkafka_io.h"

#include "tests/support/rdkafka_conf.h"

#include <stdexcept>

namespace geomirror::testing {

void produce_values(const std::string& bootstrap, const std::string& topic, const std::vector<std::string>& values,
                    const std::map<std::string, std::string>& conf) {
  auto settings = conf;
  settings["bootstrap.servers"] = bootstrap;
  auto c = make_rdkafka_conf(settings);
  std::string err;
  std::unique_ptr<RdKafka::Producer> producer(RdKafka::Producer::create(c.get(), err));
  if (!producer) throw std::runtime_error("producer: " + err);
  for (size_t i = 0; i < values.size(); ++i) {
    const std::string key = "k" + std::to_string(i);
    auto rc = producer->produce(topic, 0, RdKafka::Producer::RK_MSG_COPY, const_cast<char*>(values[i].data()),
                                values[i].size(), key.data(), key.size(), 0, nullptr);
    if (rc != RdKafka::ERR_NO_ERROR) throw std::runtime_error("produce: " + RdKafka::err2str(rc));
  }
  if (auto rc = producer->flush(20'000); rc != RdKafka::ERR_NO_ERROR) {
    throw std::runtime_error("flush: " + RdKafka::err2str(rc));
  }
}

std::unique_ptr<RdKafka::KafkaConsumer> assigned_consumer(const std::string& bootstrap, const std::string& topic,
                                                          int64_t offset, const std::string& group,
                                                          const std::map<std::string, std::string>& conf) {
  auto settings = conf;
  settings["bootstrap.servers"] = bootstrap;
  settings["group.id"] = group;
  settings["enable.auto.commit"] = "false";
  auto c = make_rdkafka_conf(settings);
  std::string err;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer(RdKafka::KafkaConsumer::create(c.get(), err));
  if (!consumer) throw std::runtime_error("consumer: " + err);
  std::vector<RdKafka::TopicPartition*> assignment{RdKafka::TopicPartition::create(topic, 0, offset)};
  auto rc = consumer->assign(assignment);
  RdKafka::TopicPartition::destroy(assignment);
  if (rc != RdKafka::ERR_NO_ERROR) throw std::runtime_error("assign: " + RdKafka::err2str(rc));
  return consumer;
}

consumed consume_for(RdKafka::KafkaConsumer& c, std::chrono::milliseconds timeout,
                     const std::function<bool(const consumed&)>& done) {
  consumed out;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline && !done(out)) {
    std::unique_ptr<RdKafka::Message> m(c.consume(100));
    if (m->err() == RdKafka::ERR__TIMED_OUT || m->err() == RdKafka::ERR__PARTITION_EOF) continue;
    if (m->err() != RdKafka::ERR_NO_ERROR) {
      out.errors.push_back(m->err());
      continue;
    }
    out.records.emplace_back(m->offset(), std::string(static_cast<const char*>(m->payload()), m->len()));
  }
  return out;
}

}  // namespace geomirror::testing

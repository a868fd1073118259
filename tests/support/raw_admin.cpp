#include "tests/support/raw_admin.h"

#include "broker-core/protocol/messages/create_topics_request.h"
#include "broker-core/protocol/messages/delete_records_request.h"

namespace geomirror::testing {

protocol::create_topics_response::creatable_topic_result create_topic(
    raw_client& c, const std::string& name, int32_t partitions, const std::map<std::string, std::string>& configs) {
  protocol::create_topics_request req;
  protocol::create_topics_request::creatable_topic t;
  t.name = name;
  t.num_partitions = partitions;
  t.replication_factor = 1;
  for (const auto& [k, v] : configs) {
    protocol::create_topics_request::creatable_topic_config cfg;
    cfg.name = k;
    cfg.value = v;
    t.configs.push_back(cfg);
  }
  req.topics.push_back(t);
  return c.call<protocol::create_topics_response>(req, 5).topics.at(0);
}

protocol::delete_records_response::delete_records_partition_result delete_records(raw_client& c,
                                                                                  const std::string& topic,
                                                                                  int64_t offset, int16_t version) {
  protocol::delete_records_request req;
  req.timeout_ms = 5000;
  protocol::delete_records_request::delete_records_topic t;
  t.name = topic;
  protocol::delete_records_request::delete_records_partition p;
  p.partition_index = 0;
  p.offset = offset;
  t.partitions.push_back(p);
  req.topics.push_back(t);
  return c.call<protocol::delete_records_response>(req, version).topics.at(0).partitions.at(0);
}

}  // namespace geomirror::testing

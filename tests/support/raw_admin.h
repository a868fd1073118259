#pragma once
// Admin requests sent with raw_client at exact versions, for tests that need
// a topic or a trimmed log without an admin client: CreateTopics v5 and
// DeleteRecords. Callers check the returned results.

#include "broker-core/protocol/messages/create_topics_response.h"
#include "broker-core/protocol/messages/delete_records_response.h"
#include "tests/support/raw_client.h"

#include <cstdint>
#include <map>
#include <string>

namespace geomirror::testing {

protocol::create_topics_response::creatable_topic_result create_topic(
    raw_client& c, const std::string& name, int32_t partitions, const std::map<std::string, std::string>& configs = {});

// DeleteRecords of partition 0 up to `offset` (-1: the high watermark).
protocol::delete_records_response::delete_records_partition_result delete_records(raw_client& c,
                                                                                  const std::string& topic,
                                                                                  int64_t offset, int16_t version = 1);

}  // namespace geomirror::testing

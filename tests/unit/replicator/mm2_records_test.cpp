// MM2's checkpoint and heartbeat layouts: the exact bytes MirrorMaker 2
// writes (worked out from its Struct schemas), round trips, and refusal of
// other versions and truncated records.

#include "replicator/mm2_records.h"

#include <gtest/gtest.h>

namespace geomirror::replicator {
namespace {

record_bytes bytes_of(std::initializer_list<int> v) {
  record_bytes out;
  for (int b : v) out.push_back(static_cast<uint8_t>(b));
  return out;
}

const checkpoint sample{"grp", "orders", 3, translator::source_offset(258), translator::target_offset(0x0102030405LL),
                        "m"};

TEST(mm2_records, checkpoint_bytes_are_mm2s) {
  EXPECT_EQ(checkpoint_key(sample), bytes_of({0, 3, 'g', 'r', 'p', 0, 6, 'o', 'r', 'd', 'e', 'r', 's', 0, 0, 0, 3}));
  EXPECT_EQ(checkpoint_value(sample), bytes_of({0, 0,                               // version 0
                                                0, 0, 0, 0, 0, 0, 1, 2,             // upstreamOffset 258
                                                0, 0, 0, 1, 2, 3, 4, 5,             // offset
                                                0, 1, 'm'}));                       // metadata
  EXPECT_EQ(decode_checkpoint(checkpoint_key(sample), checkpoint_value(sample)), sample);
}

TEST(mm2_records, heartbeat_bytes_are_mm2s) {
  const heartbeat h{"east", "west", 1'700'000'000'123};
  EXPECT_EQ(heartbeat_key(h), bytes_of({0, 4, 'e', 'a', 's', 't', 0, 4, 'w', 'e', 's', 't'}));
  EXPECT_EQ(heartbeat_value(h), bytes_of({0, 0, 0, 0, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x7b}));
  EXPECT_EQ(decode_heartbeat(heartbeat_key(h), heartbeat_value(h)), h);
}

TEST(mm2_records, other_versions_and_short_records_are_refused) {
  auto value = checkpoint_value(sample);
  value[1] = 1;  // version 1: MM2 knows none
  EXPECT_FALSE(decode_checkpoint(checkpoint_key(sample), value));
  auto key = checkpoint_key(sample);
  key.pop_back();
  EXPECT_FALSE(decode_checkpoint(key, checkpoint_value(sample))) << "partition cut short";
  auto negative = bytes_of({0xff, 0xff});
  EXPECT_FALSE(decode_heartbeat(negative, heartbeat_value({"a", "b", 1}))) << "a negative string length";
  EXPECT_FALSE(decode_heartbeat(heartbeat_key({"a", "b", 1}), bytes_of({0, 0, 1}))) << "timestamp cut short";
}

TEST(mm2_records, empty_metadata_and_long_names) {
  checkpoint c = sample;
  c.metadata = "";
  c.group = std::string(300, 'g');
  EXPECT_EQ(decode_checkpoint(checkpoint_key(c), checkpoint_value(c)), c);
  c.group = std::string(40'000, 'g');
  EXPECT_THROW(checkpoint_key(c), std::length_error) << "longer than Kafka's STRING allows";
}

}  // namespace
}  // namespace geomirror::replicator

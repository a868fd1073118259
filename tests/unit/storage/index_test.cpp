// Sparse offset/time indexes (lookups, encoding, consistency checks) and the
// file name helpers.

#include "broker-core/storage/file_names.h"
#include "broker-core/storage/offset_index.h"
#include "broker-core/storage/time_index.h"

#include <gtest/gtest.h>

namespace geomirror::storage {
namespace {

TEST(offset_index, floor_lookup_and_round_trip) {
  offset_index idx;
  EXPECT_FALSE(idx.floor(5));
  idx.append(10, 4096);
  idx.append(20, 8200);
  idx.append(35, 12300);
  EXPECT_FALSE(idx.floor(9));
  EXPECT_EQ(idx.floor(10)->position, 4096);
  EXPECT_EQ(idx.floor(19)->position, 4096);
  EXPECT_EQ(idx.floor(20)->position, 8200);
  EXPECT_EQ(idx.floor(1000)->position, 12300);
  auto bytes = idx.encode();
  ASSERT_EQ(bytes.size(), 24u);
  EXPECT_EQ(bytes[3], 10);  // big-endian
  auto back = offset_index::decode(bytes, 20'000);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->size(), 3u);
  EXPECT_EQ(back->entries()[2].position, 12300);
  EXPECT_EQ(idx.encode(2).size(), 8u);
  // Inconsistent files.
  EXPECT_FALSE(offset_index::decode(bytes, 12300));  // position beyond the log
  EXPECT_FALSE(offset_index::decode(records::bytes_view(bytes).first(23), 20'000));
  auto swapped = bytes;
  std::swap_ranges(swapped.begin(), swapped.begin() + 8, swapped.begin() + 8);
  EXPECT_FALSE(offset_index::decode(swapped, 20'000));
  EXPECT_TRUE(offset_index::decode({}, 0));
}

TEST(time_index, running_max_entries) {
  time_index idx;
  EXPECT_TRUE(idx.maybe_append(100, 0));
  EXPECT_FALSE(idx.maybe_append(100, 5));
  EXPECT_FALSE(idx.maybe_append(50, 5));
  EXPECT_TRUE(idx.maybe_append(200, 7));
  EXPECT_FALSE(idx.last_below(100));
  EXPECT_EQ(idx.last_below(101)->relative_offset, 0);
  EXPECT_EQ(idx.last_below(200)->relative_offset, 0);
  EXPECT_EQ(idx.last_below(201)->relative_offset, 7);
  EXPECT_EQ(idx.last()->timestamp, 200);
  auto bytes = idx.encode();
  ASSERT_EQ(bytes.size(), 24u);
  auto back = time_index::decode(bytes, 7);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->entries()[1].timestamp, 200);
  EXPECT_FALSE(time_index::decode(bytes, 6));  // offset past the segment
  EXPECT_FALSE(time_index::decode(records::bytes_view(bytes).first(13), 7));
}

TEST(file_names, segments_and_partition_dirs) {
  EXPECT_EQ(segment_stem(42), "00000000000000000042");
  EXPECT_EQ(segment_log_path("/d", 7).filename(), "00000000000000000007.log");
  auto p = parse_segment_file_name("00000000000000001234.timeindex");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->first, 1234);
  EXPECT_EQ(p->second, segment_file_kind::time_index);
  EXPECT_FALSE(parse_segment_file_name("0000000000000000123.log"));
  EXPECT_FALSE(parse_segment_file_name("0000000000000000123x.log"));
  EXPECT_FALSE(parse_segment_file_name("00000000000000000000.log.cannotrecover"));
  EXPECT_FALSE(parse_segment_file_name("99999999999999999999.log"));  // > INT64_MAX

  EXPECT_EQ(partition_dir_name("a-b", 3), "a-b-3");
  auto d = parse_partition_dir_name("my-topic-12");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->first, "my-topic");
  EXPECT_EQ(d->second, 12);
  EXPECT_FALSE(parse_partition_dir_name("topic"));
  EXPECT_FALSE(parse_partition_dir_name("topic-"));
  EXPECT_FALSE(parse_partition_dir_name("-3"));
  EXPECT_FALSE(parse_partition_dir_name("topic-x"));
  EXPECT_FALSE(parse_partition_dir_name("topic-99999999999"));
  EXPECT_FALSE(parse_partition_dir_name("bad name-1"));
  EXPECT_TRUE(valid_topic_name("a.b_c-D9"));
  EXPECT_FALSE(valid_topic_name(".."));
  EXPECT_FALSE(valid_topic_name(std::string(250, 'a')));
}

}  // namespace
}  // namespace geomirror::storage

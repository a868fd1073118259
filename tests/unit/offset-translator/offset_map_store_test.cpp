// The SQLite store of the offset maps: what was flushed survives a reopen
// (what was not is gone, as after a crash), extended intervals are rewritten
// in place, maps are kept apart per flow, topic and partition, and a map
// without gaps costs one row however many records it covers.

#include "offset-translator/offset_map_store.h"

#include <gtest/gtest.h>

#include <stdlib.h>

#include <filesystem>
#include <stdexcept>
#include <string>

namespace geomirror::translator {
namespace {

class temp_dir {
 public:
  temp_dir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "offset-map-test-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~temp_dir() { std::filesystem::remove_all(path_); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

const partition_key orders0{"east->west", "orders", 0};
const partition_key orders1{"east->west", "orders", 1};
const partition_key other_flow{"west->east", "orders", 0};

TEST(offset_map_store, flushed_maps_survive_a_reopen_and_unflushed_ones_do_not) {
  temp_dir dir;
  const auto file = dir.path() / "offsets.db";
  {
    offset_map_store store(file);
    auto& m = store.map(orders0);
    for (int64_t s = 0; s < 100; ++s) m.record(source_offset(s), target_offset(s + 1000));
    m.record(source_offset(150), target_offset(1100));
    store.map(orders1).record(source_offset(7), target_offset(0));
    store.map(other_flow).record(source_offset(3), target_offset(3));
    store.flush();
    // After the flush: the last interval grows and a new one opens, then the process dies.
    m.record(source_offset(151), target_offset(1101));
    m.record(source_offset(300), target_offset(1200));
  }
  offset_map_store reopened(file);
  ASSERT_EQ(reopened.maps().size(), 3u);
  const auto& m = reopened.map(orders0);
  ASSERT_EQ(m.intervals().size(), 2u);
  EXPECT_EQ(m.intervals()[0], (interval{source_offset(0), target_offset(1000), 100}));
  EXPECT_EQ(m.intervals()[1], (interval{source_offset(150), target_offset(1100), 1})) << "as of the flush";
  EXPECT_EQ(reopened.map(orders1).intervals().at(0), (interval{source_offset(7), target_offset(0), 1}));
  EXPECT_EQ(reopened.map(other_flow).intervals().at(0), (interval{source_offset(3), target_offset(3), 1}));
}

TEST(offset_map_store, an_extended_interval_is_rewritten_in_place) {
  temp_dir dir;
  const auto file = dir.path() / "offsets.db";
  {
    offset_map_store store(file);
    auto& m = store.map(orders0);
    for (int64_t round = 0; round < 50; ++round) {
      for (int64_t i = 0; i < 20'000; ++i) {
        const int64_t s = round * 20'000 + i;
        m.record(source_offset(s), target_offset(s));
      }
      store.flush();
    }
  }
  offset_map_store reopened(file);
  const auto& m = reopened.map(orders0);
  ASSERT_EQ(m.intervals().size(), 1u) << "a million records without gaps, flushed 50 times: one row";
  EXPECT_EQ(m.intervals()[0].length, 1'000'000);
  EXPECT_LT(std::filesystem::file_size(file), 64u * 1024) << "the map grows with gaps, not records";
}

TEST(offset_map_store, erase_forgets_one_map) {
  temp_dir dir;
  const auto file = dir.path() / "offsets.db";
  {
    offset_map_store store(file);
    store.map(orders0).record(source_offset(0), target_offset(0));
    store.map(orders1).record(source_offset(0), target_offset(0));
    store.flush();
    store.erase(orders0);
    EXPECT_TRUE(store.map(orders0).intervals().empty());
  }
  offset_map_store reopened(file);
  EXPECT_TRUE(reopened.map(orders0).intervals().empty());
  EXPECT_EQ(reopened.map(orders1).intervals().size(), 1u);
}

TEST(offset_map_store, an_unusable_file_is_a_clear_error) {
  temp_dir dir;
  try {
    offset_map_store store(dir.path() / "missing-dir" / "offsets.db");
    FAIL() << "opened a file in a directory that does not exist";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("missing-dir/offsets.db"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace geomirror::translator

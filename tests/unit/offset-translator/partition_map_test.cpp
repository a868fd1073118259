// The interval map of one partition: runs of consecutive offsets are one
// interval, gaps on either side (source compaction, a restart, other writers
// on the target) open a new one, and translation of a committed offset is
// exact: the target offset of the first replicated record at or after it.

#include "offset-translator/partition_map.h"

#include <gtest/gtest.h>

#include <type_traits>
#include <vector>

namespace geomirror::translator {
namespace {

static_assert(!std::is_convertible_v<source_offset, target_offset>, "offsets of the two sides never mix");
static_assert(!std::is_convertible_v<int64_t, source_offset>, "a bare number is not an offset");

source_offset src(int64_t v) { return source_offset(v); }
target_offset tgt(int64_t v) { return target_offset(v); }

// Records source offsets [from, to) landing on the target from `at` on.
void replicate(partition_map& m, int64_t from, int64_t to, int64_t at) {
  for (int64_t s = from; s < to; ++s) m.record(src(s), tgt(at + (s - from)));
}

int64_t translated(const partition_map& m, int64_t s) { return m.translate(src(s)).value().offset.value(); }

TEST(partition_map, consecutive_records_are_one_interval) {
  partition_map m;
  EXPECT_FALSE(m.translate(src(0))) << "nothing replicated yet";
  EXPECT_EQ(m.record(src(0), tgt(0)), record_outcome::new_interval);
  EXPECT_EQ(m.record(src(1), tgt(1)), record_outcome::extended);
  replicate(m, 2, 1'000'000, 2);
  ASSERT_EQ(m.intervals().size(), 1u) << "a million records without gaps: one row";
  EXPECT_EQ(m.intervals()[0], (interval{src(0), tgt(0), 1'000'000}));
  EXPECT_EQ(translated(m, 0), 0);
  EXPECT_EQ(translated(m, 123'456), 123'456);
  EXPECT_EQ(m.source_end(), src(1'000'000));
  EXPECT_EQ(m.target_end(), tgt(1'000'000));
}

TEST(partition_map, source_compaction_gaps_map_to_the_next_record_that_exists) {
  // The source was compacted: offsets 10..19 and 30..34 are gone, so the
  // target holds 0..9, 20..29, 35..39 at 100..124.
  partition_map m;
  replicate(m, 0, 10, 100);
  replicate(m, 20, 30, 110);
  replicate(m, 35, 40, 120);
  ASSERT_EQ(m.intervals().size(), 3u);
  EXPECT_EQ(translated(m, 0), 100);
  EXPECT_EQ(translated(m, 9), 109);
  EXPECT_EQ(translated(m, 10), 110) << "committed inside the gap: the next record is source 20";
  EXPECT_EQ(translated(m, 15), 110);
  EXPECT_EQ(translated(m, 20), 110);
  EXPECT_EQ(translated(m, 29), 119);
  EXPECT_EQ(translated(m, 30), 120);
  EXPECT_EQ(translated(m, 34), 120);
  EXPECT_EQ(translated(m, 39), 124);
  EXPECT_TRUE(m.translate(src(39))->exact);
}

TEST(partition_map, other_writers_and_restarts_open_target_gaps) {
  // Records of another writer sit at target 5..7 (active-active, identity
  // naming); a restart resumed source 10 at target 20.
  partition_map m;
  replicate(m, 0, 5, 0);
  replicate(m, 5, 10, 8);
  replicate(m, 10, 15, 20);
  ASSERT_EQ(m.intervals().size(), 3u);
  EXPECT_EQ(m.intervals()[1], (interval{src(5), tgt(8), 5}));
  EXPECT_EQ(translated(m, 4), 4);
  EXPECT_EQ(translated(m, 5), 8) << "a consumer resuming at source 5 must not re-read the other writer's records";
  EXPECT_EQ(translated(m, 10), 20);
  EXPECT_EQ(translated(m, 14), 24);
}

TEST(partition_map, before_the_first_replicated_record) {
  // Replication started at source 50 (the source's log start then).
  partition_map m;
  replicate(m, 50, 60, 0);
  EXPECT_EQ(translated(m, 0), 0);
  EXPECT_EQ(translated(m, 50), 0);
  EXPECT_TRUE(m.translate(src(0))->exact);
}

TEST(partition_map, past_the_replicated_end_is_the_target_end_for_now) {
  partition_map m;
  replicate(m, 0, 10, 40);
  auto at_end = m.translate(src(10)).value();
  EXPECT_EQ(at_end.offset, tgt(50));
  EXPECT_TRUE(at_end.exact) << "every record below 10 is on the target";
  auto ahead = m.translate(src(25)).value();
  EXPECT_EQ(ahead.offset, tgt(50));
  EXPECT_FALSE(ahead.exact) << "records 10..24 may still come";
}

TEST(partition_map, records_at_or_below_what_it_holds_are_refused) {
  partition_map m;
  replicate(m, 0, 10, 0);
  EXPECT_EQ(m.record(src(9), tgt(10)), record_outcome::out_of_order) << "source offset repeated";
  EXPECT_EQ(m.record(src(10), tgt(9)), record_outcome::out_of_order) << "target offset went back";
  EXPECT_EQ(m.record(src(3), tgt(3)), record_outcome::out_of_order);
  ASSERT_EQ(m.intervals().size(), 1u);
  EXPECT_EQ(m.intervals()[0], (interval{src(0), tgt(0), 10}));
}

TEST(partition_map, tracks_what_changed_since_it_was_persisted) {
  partition_map m({{src(0), tgt(0), 5}, {src(9), tgt(5), 2}});
  EXPECT_EQ(m.first_unpersisted(), 2u) << "restored intervals are stored already";
  m.record(src(11), tgt(7));
  EXPECT_EQ(m.first_unpersisted(), 1u) << "the last interval grew";
  m.record(src(20), tgt(8));
  EXPECT_EQ(m.first_unpersisted(), 1u);
  m.mark_persisted();
  EXPECT_EQ(m.first_unpersisted(), 3u);
}

}  // namespace
}  // namespace geomirror::translator

// Idempotent producer state: duplicates within the last five batches are
// answered with their original offsets and not written; older epochs are
// fenced; a new epoch starts at sequence 0; sequences wrap after INT32_MAX;
// unknown producers are accepted at any sequence. The state survives close
// and reopen (snapshot), a crash (snapshot plus replay of the tail, or a full
// replay), corrupt or stray snapshots, and is dropped by expiry and when the
// log start offset passes a producer's last batch.

#include "broker-core/records/record.h"
#include "broker-core/storage/errc.h"
#include "broker-core/storage/file_names.h"
#include "broker-core/storage/log_manager.h"
#include "broker-core/storage/partition_log.h"
#include "broker-core/storage/producer_state.h"
#include "tests/unit/storage/storage_test_util.h"

#include <gtest/gtest.h>

#include <fstream>

namespace geomirror::storage::test {
namespace {

namespace fs = std::filesystem;

records::bytes pbatch(int64_t pid, int16_t epoch, int32_t seq, int count, int64_t ts = 1000) {
  records::batch_builder b;
  b.set_producer(pid, epoch, seq);
  for (int i = 0; i < count; ++i) b.add("k" + std::to_string(i), "v" + std::to_string(seq), ts + i);
  return b.build();
}

// append() rewrites the batch in place, so it takes a mutable buffer.
result<append_info> try_append(partition_log& log, records::bytes b, int64_t now_ms) {
  return log.append_and_wait(b, now_ms);
}

std::set<int64_t> snapshot_files(const fs::path& dir) {
  std::set<int64_t> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (auto o = parse_producer_snapshot_file_name(e.path().filename().string())) out.insert(*o);
  }
  return out;
}

void expect_same_batches(const producer_entry& a, const producer_entry& b) {
  EXPECT_EQ(a.epoch, b.epoch);
  ASSERT_EQ(a.count, b.count);
  for (uint8_t i = 0; i < a.count; ++i) EXPECT_EQ(a.batches[i], b.batches[i]) << "batch " << int(i);
}

class producer_state_test : public ::testing::Test {
 protected:
  fs::path pdir() const { return dir_.path() / "t-0"; }

  std::shared_ptr<partition_log> open(const log_config& c = log_config{},
                                      const fs::path& data = {}) {
    auto log = partition_log::open(data.empty() ? dir_.path() : data, "t", 0, c, flusher_);
    EXPECT_TRUE(log) << log.error().message();
    return log ? log.value() : nullptr;
  }

  // Appends and returns the info (expects success).
  static append_info put(partition_log& log, records::bytes b, int64_t now = 1000) {
    auto r = log.append_and_wait(b, now);
    EXPECT_TRUE(r) << r.error().message();
    return r ? r.value() : append_info{};
  }

  static std::error_code refused(partition_log& log, records::bytes b) {
    const int64_t end = log.log_end_offset();
    auto r = log.append_and_wait(b, 1000);
    EXPECT_FALSE(r);
    EXPECT_EQ(log.log_end_offset(), end);
    return r ? std::error_code{} : r.error();
  }

  temp_dir dir_;
  flusher flusher_{2};
};

TEST_F(producer_state_test, duplicates_within_the_last_five_batches_get_their_original_offsets) {
  auto log = open();
  put(*log, make_batch(3, 500));  // a non-idempotent batch first: offsets 0..2
  std::vector<append_info> infos;
  for (int i = 0; i < 6; ++i) infos.push_back(put(*log, pbatch(7, 0, 2 * i, 2)));  // seqs 0..11
  EXPECT_EQ(infos[0].base_offset, 3);
  EXPECT_EQ(infos[5].last_offset, 14);
  const int64_t end = log->log_end_offset();
  ASSERT_EQ(end, 15);

  // Batches 2..6 (sequences 2..11) are remembered.
  for (int i = 1; i < 6; ++i) {
    auto dup = try_append(*log, pbatch(7, 0, 2 * i, 2), 2000);
    ASSERT_TRUE(dup) << "batch " << i << ": " << dup.error().message();
    EXPECT_TRUE(dup.value().duplicate);
    EXPECT_EQ(dup.value().base_offset, infos[static_cast<size_t>(i)].base_offset);
    EXPECT_EQ(dup.value().last_offset, infos[static_cast<size_t>(i)].last_offset);
    EXPECT_EQ(dup.value().log_append_time_ms, -1);
  }
  EXPECT_EQ(log->log_end_offset(), end);
  EXPECT_FALSE(infos[5].duplicate);
  // The first batch fell out of the window: its retry is out of order.
  EXPECT_EQ(refused(*log, pbatch(7, 0, 0, 2)), make_error_code(errc::out_of_order_sequence));
  // Same first sequence, different length: not the cached batch.
  EXPECT_EQ(refused(*log, pbatch(7, 0, 10, 3)), make_error_code(errc::out_of_order_sequence));
  // A gap.
  EXPECT_EQ(refused(*log, pbatch(7, 0, 13, 1)), make_error_code(errc::out_of_order_sequence));
  // The next sequence goes on.
  auto next = put(*log, pbatch(7, 0, 12, 1));
  EXPECT_EQ(next.base_offset, end);
  EXPECT_FALSE(next.duplicate);
  // Nothing was written twice.
  ASSERT_TRUE(log->flush());
  EXPECT_EQ(read_all(*log).size(), 16u);
}

TEST_F(producer_state_test, duplicates_of_log_append_time_topics_return_the_original_time) {
  log_config c;
  c.log_append_time = true;
  auto log = open(c);
  auto first = put(*log, pbatch(3, 0, 0, 2), 5555);
  EXPECT_EQ(first.log_append_time_ms, 5555);
  auto dup = try_append(*log, pbatch(3, 0, 0, 2), 9999);
  ASSERT_TRUE(dup);
  EXPECT_TRUE(dup.value().duplicate);
  EXPECT_EQ(dup.value().log_append_time_ms, 5555);
  EXPECT_EQ(dup.value().base_offset, first.base_offset);
}

TEST_F(producer_state_test, older_epochs_are_fenced_and_a_new_epoch_starts_at_zero) {
  auto log = open();
  put(*log, pbatch(11, 5, 0, 3));
  put(*log, pbatch(11, 5, 3, 1));
  EXPECT_EQ(refused(*log, pbatch(11, 4, 4, 1)), make_error_code(errc::invalid_producer_epoch));
  EXPECT_EQ(refused(*log, pbatch(11, 4, 0, 1)), make_error_code(errc::invalid_producer_epoch));
  // A bumped epoch must restart at sequence 0.
  EXPECT_EQ(refused(*log, pbatch(11, 6, 4, 1)), make_error_code(errc::out_of_order_sequence));
  put(*log, pbatch(11, 6, 0, 2));
  auto st = log->producer_state(11);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->epoch, 6);
  EXPECT_EQ(st->count, 1);  // the old epoch's batches are forgotten
  // The old epoch is now fenced, even for what was a duplicate before.
  EXPECT_EQ(refused(*log, pbatch(11, 5, 3, 1)), make_error_code(errc::invalid_producer_epoch));
  put(*log, pbatch(11, 6, 2, 1));
}

TEST_F(producer_state_test, sequences_wrap_after_int32_max) {
  auto log = open();
  // Unknown producer: any sequence; this batch ends exactly at INT32_MAX.
  put(*log, pbatch(21, 0, INT32_MAX - 1, 2));
  auto st = log->producer_state(21);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->last().last_sequence, INT32_MAX);
  EXPECT_EQ(refused(*log, pbatch(21, 0, 1, 1)), make_error_code(errc::out_of_order_sequence));
  put(*log, pbatch(21, 0, 0, 1));  // after INT32_MAX comes 0
  // A batch that wraps inside: INT32_MAX is not next, 1 is.
  put(*log, pbatch(21, 0, 1, 2));
  auto w = try_append(*log, pbatch(22, 0, INT32_MAX, 3), 1000);  // other producer wraps mid-batch
  ASSERT_TRUE(w);
  st = log->producer_state(22);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->last().first_sequence, INT32_MAX);
  EXPECT_EQ(st->last().last_sequence, 1);
  auto dup = try_append(*log, pbatch(22, 0, INT32_MAX, 3), 1000);
  ASSERT_TRUE(dup);
  EXPECT_TRUE(dup.value().duplicate);
  EXPECT_EQ(dup.value().base_offset, w.value().base_offset);
  put(*log, pbatch(22, 0, 2, 1));
}

TEST_F(producer_state_test, unknown_producers_are_accepted_at_any_sequence) {
  auto log = open();
  put(*log, pbatch(31, 0, 1000, 2));
  put(*log, pbatch(32, 9, 77, 1));
  EXPECT_EQ(log->producer_count(), 2u);
  // Non-idempotent batches (no producer id, or no sequence) are not tracked.
  put(*log, make_batch(2, 100));
  records::batch_builder no_seq;
  no_seq.set_producer(33, 0, -1).add("k", "v", 1);
  put(*log, no_seq.build());
  put(*log, no_seq.build());
  EXPECT_EQ(log->producer_count(), 2u);
  EXPECT_FALSE(log->producer_state(33));
}

TEST_F(producer_state_test, state_survives_close_and_reopen) {
  std::vector<append_info> infos;
  {
    auto log = open();
    for (int i = 0; i < 4; ++i) infos.push_back(put(*log, pbatch(41, 2, i * 3, 3)));
    put(*log, pbatch(42, 0, 50, 1));
    log->close();
  }
  EXPECT_EQ(snapshot_files(pdir()), (std::set<int64_t>{13}));  // written at close
  auto log = open();
  EXPECT_EQ(log->producer_count(), 2u);
  auto dup = try_append(*log, pbatch(41, 2, 6, 3), 1000);
  ASSERT_TRUE(dup);
  EXPECT_TRUE(dup.value().duplicate);
  EXPECT_EQ(dup.value().base_offset, infos[2].base_offset);
  EXPECT_EQ(refused(*log, pbatch(41, 1, 12, 1)), make_error_code(errc::invalid_producer_epoch));
  EXPECT_EQ(put(*log, pbatch(41, 2, 12, 1)).base_offset, 13);
  EXPECT_EQ(put(*log, pbatch(42, 0, 51, 1)).base_offset, 14);
}

TEST_F(producer_state_test, state_survives_a_crash_by_replaying_the_tail) {
  log_config c = small_segments(700);
  auto log = open(c);
  std::map<int64_t, append_info> last;
  for (int i = 0; i < 40; ++i) {
    const int64_t pid = 100 + i % 3;
    const int32_t seq = (i / 3) * 2;
    last[pid] = append_durable(*log, pbatch(pid, 1, seq, 2), 1000 + i);
  }
  ASSERT_GT(log->segment_count(), 3u);
  // Snapshots exist for the last two segments only (taken at the rolls).
  const auto snaps = snapshot_files(pdir());
  ASSERT_FALSE(snaps.empty());
  EXPECT_LE(snaps.size(), 2u);
  EXPECT_LT(*snaps.rbegin(), log->log_end_offset());  // the tail has no snapshot

  // kill -9: copy the directory while the log is open (everything is synced).
  temp_dir crashed;
  fs::copy(pdir(), crashed.path() / "t-0", fs::copy_options::recursive);
  temp_dir replay_all;  // and a copy without any snapshot: full replay
  fs::copy(pdir(), replay_all.path() / "t-0", fs::copy_options::recursive);
  for (int64_t o : snapshot_files(replay_all.path() / "t-0")) {
    fs::remove(producer_snapshot_path(replay_all.path() / "t-0", o));
  }

  for (const fs::path& data : {crashed.path(), replay_all.path()}) {
    SCOPED_TRACE(data.string());
    auto reopened = open(c, data);
    ASSERT_EQ(reopened->producer_count(), 3u);
    for (int64_t pid = 100; pid < 103; ++pid) {
      auto want = log->producer_state(pid);
      auto got = reopened->producer_state(pid);
      ASSERT_TRUE(want && got);
      expect_same_batches(*want, *got);
    }
    // The last batch of each producer is a duplicate; the next one goes on.
    for (const auto& [pid, info] : last) {
      const auto st = reopened->producer_state(pid).value();
      auto dup = try_append(*reopened, pbatch(pid, 1, st.last().first_sequence, 2), 5000);
      ASSERT_TRUE(dup);
      EXPECT_TRUE(dup.value().duplicate);
      EXPECT_EQ(dup.value().base_offset, info.base_offset);
      EXPECT_TRUE(try_append(*reopened, pbatch(pid, 1, st.last().last_sequence + 1, 1), 5000));
    }
    reopened->close();
  }
}

TEST_F(producer_state_test, corrupt_and_stray_snapshots_are_removed_and_the_log_replayed) {
  log_config c = small_segments(600);
  std::vector<append_info> infos;
  {
    auto log = open(c);
    for (int i = 0; i < 20; ++i) infos.push_back(append_durable(*log, pbatch(55, 0, i, 1), 1000));
    log->close();
  }
  auto snaps = snapshot_files(pdir());
  ASSERT_GE(snaps.size(), 2u);
  const int64_t newest = *snaps.rbegin();
  {
    std::fstream f(producer_snapshot_path(pdir(), newest), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(20);
    f.put('\x7f');
  }
  // A snapshot beyond the log end (e.g. after a torn tail) is not trusted.
  fs::copy_file(producer_snapshot_path(pdir(), newest), producer_snapshot_path(pdir(), 1000));
  auto log = open(c);
  EXPECT_FALSE(fs::exists(producer_snapshot_path(pdir(), newest)));
  EXPECT_FALSE(fs::exists(producer_snapshot_path(pdir(), 1000)));
  auto dup = try_append(*log, pbatch(55, 0, 19, 1), 1000);
  ASSERT_TRUE(dup);
  EXPECT_TRUE(dup.value().duplicate);
  EXPECT_EQ(dup.value().base_offset, infos.back().base_offset);
  dup = try_append(*log, pbatch(55, 0, 15, 1), 1000);
  ASSERT_TRUE(dup);
  EXPECT_TRUE(dup.value().duplicate);
  EXPECT_EQ(refused(*log, pbatch(55, 0, 14, 1)), make_error_code(errc::out_of_order_sequence));
  EXPECT_FALSE(put(*log, pbatch(55, 0, 20, 1)).duplicate);
}

TEST_F(producer_state_test, snapshot_codec_rejects_damage) {
  producer_state_table t;
  records::batch_header h;
  h.producer_id = 9;
  h.producer_epoch = 3;
  for (int i = 0; i < 7; ++i) {
    h.base_offset = i * 10;
    h.base_sequence = i * 2;
    h.last_offset_delta = 1;
    h.max_timestamp = 100 + i;
    t.on_append(h, 50);
  }
  const auto bytes = t.encode_snapshot(100);
  auto back = producer_state_table::decode_snapshot(bytes, 100);
  ASSERT_TRUE(back);
  ASSERT_EQ(back.value().size(), 1u);
  expect_same_batches(*back.value().find(9), *t.find(9));
  EXPECT_EQ(back.value().find(9)->count, 5);
  EXPECT_FALSE(producer_state_table::decode_snapshot(bytes, 99));  // names another offset
  EXPECT_FALSE(producer_state_table::decode_snapshot(bytes, 61));  // batches reach it
  for (size_t i = 0; i < bytes.size(); i += 7) {
    auto damaged = bytes;
    damaged[i] ^= 0x10;
    EXPECT_FALSE(producer_state_table::decode_snapshot(damaged, 100)) << "byte " << i;
  }
  EXPECT_FALSE(producer_state_table::decode_snapshot(
      records::bytes_view(bytes).first(bytes.size() - 1), 100));
}

TEST_F(producer_state_test, idle_producers_expire) {
  auto log = open();
  put(*log, pbatch(61, 0, 5, 1, 1'000), 1'000);
  put(*log, pbatch(62, 0, 5, 1, 1'000), 50'000);  // appended later: wall time counts
  EXPECT_EQ(log->remove_expired_producers(10'999, 10'000), 0u);
  EXPECT_EQ(log->remove_expired_producers(11'000, 10'000), 1u);
  EXPECT_FALSE(log->producer_state(61));
  EXPECT_TRUE(log->producer_state(62));
  // Forgotten: accepted at any sequence again.
  EXPECT_FALSE(put(*log, pbatch(61, 0, 0, 1, 55'000), 55'000).duplicate);
  EXPECT_EQ(log->remove_expired_producers(60'000, 10'000), 1u);  // 62
  EXPECT_EQ(log->producer_count(), 1u);
  EXPECT_TRUE(log->producer_state(61));
}

TEST_F(producer_state_test, log_manager_expires_producers_of_every_log) {
  log_manager_config mc;
  mc.data_dir = dir_.path();
  mc.background_thread = false;
  mc.producer_id_expiration_ms = 1'000;
  auto mgr = log_manager::start(mc).value();
  auto a = mgr->create("a", 0, {}).value();
  auto b = mgr->create("b", 0, {}).value();
  put(*a, pbatch(1, 0, 0, 1, 100), 100);
  put(*b, pbatch(2, 0, 0, 1, 100), 100);
  put(*b, pbatch(3, 0, 0, 1, 100), 5'000);
  EXPECT_EQ(mgr->expire_producers(5'000), 2u);
  EXPECT_EQ(a->producer_count(), 0u);
  EXPECT_EQ(b->producer_count(), 1u);
}

TEST_F(producer_state_test, moving_the_log_start_past_a_producer_drops_it) {
  log_config c = small_segments(250);  // the two producer batches fill the first segment
  c.retention_ms = 10'000;
  auto log = open(c);
  append_durable(*log, pbatch(71, 0, 0, 2, 1'000), 1'000);  // offsets 0..1
  append_durable(*log, pbatch(72, 0, 0, 2, 1'000), 1'000);  // 2..3
  for (int i = 0; i < 12; ++i) append_durable(*log, make_batch(2, 100'000, 0, records::compression_codec::none, 30), 100'000);
  append_durable(*log, pbatch(73, 0, 0, 2, 100'000), 100'000);
  ASSERT_TRUE(log->advance_log_start_offset(2));
  EXPECT_FALSE(log->producer_state(71));
  EXPECT_TRUE(log->producer_state(72));
  EXPECT_GT(log->apply_retention(100'500), 0u);  // deletes the old segment(s)
  EXPECT_GT(log->log_start_offset(), 3);
  EXPECT_FALSE(log->producer_state(72));
  EXPECT_TRUE(log->producer_state(73));
  log->close();
  // Also after a reopen, whatever the snapshots held.
  auto reopened = open(c);
  EXPECT_FALSE(reopened->producer_state(71));
  EXPECT_FALSE(reopened->producer_state(72));
  EXPECT_TRUE(reopened->producer_state(73));
}

}  // namespace
}  // namespace geomirror::storage::test

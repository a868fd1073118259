// The group store (SQLite tables, group commit, ordering), the consumer
// protocol decoding and the bookkeeping of commits in flight.

#include "tests/unit/group/group_test_util.h"

#include "broker-core/group/consumer_protocol.h"
#include "broker-core/group/errc.h"
#include "broker-core/group/group_metadata.h"
#include "broker-core/group/group_store.h"

#include <atomic>

namespace geomirror::group::testing {
namespace {

std::error_code wait_write(const std::function<void(group_store::write_callback)>& op) {
  auto p = std::make_shared<std::promise<std::error_code>>();
  auto f = p->get_future();
  op([p](std::error_code ec) { p->set_value(ec); });
  return await(f);
}

stored_group sample_group() {
  stored_group g;
  g.group_id = "g";
  g.protocol_type = "consumer";
  g.generation = 7;
  g.protocol_name = "cooperative-sticky";
  g.leader = "m1";
  g.state = group_state::stable;
  g.state_timestamp_ms = 1234;
  g.members.push_back({"m1", std::nullopt, "c1", "/10.0.0.1", 10'000, 30'000,
                       {{"cooperative-sticky", {1, 2}}, {"range", {}}}, {9, 9, 9}});
  g.members.push_back({"m0", std::string("instance-0"), "c0", "/10.0.0.2", 45'000, 300'000, {{"range", {3}}}, {}});
  return g;
}

TEST(GroupStore, RoundTrip) {
  temp_dir dir;
  {
    group_store store(dir.path() / "metadata.db");
    EXPECT_FALSE(wait_write([&](auto cb) { store.store_group(sample_group(), cb); }));
    committed_offset a{100, 2, "meta", 55, std::nullopt};
    committed_offset b{200, -1, "", 66, 99};
    EXPECT_FALSE(wait_write([&](auto cb) {
      store.store_offsets("g", {{{"orders", 0}, a}, {{"orders", 1}, b}, {{"audit", 0}, a}}, cb);
    }));
    EXPECT_FALSE(wait_write([&](auto cb) { store.store_offsets("h", {{{"audit", 0}, b}}, cb); }));
    EXPECT_FALSE(wait_write([&](auto cb) { store.delete_offsets("g", {{"orders", 1}}, cb); }));
    EXPECT_FALSE(wait_write([&](auto cb) { store.delete_topic_offsets("audit", cb); }));
    EXPECT_FALSE(wait_write([&](auto cb) { store.store_offsets("x", {{{"orders", 3}, a}}, cb); }));
    auto other = sample_group();
    other.group_id = "x";
    EXPECT_FALSE(wait_write([&](auto cb) { store.store_group(other, cb); }));
    EXPECT_FALSE(wait_write([&](auto cb) { store.delete_group("x", cb); }));
  }
  group_store store(dir.path() / "metadata.db");
  auto loaded = store.load();
  ASSERT_TRUE(loaded);
  ASSERT_EQ(loaded.value().groups.size(), 1u);
  EXPECT_EQ(loaded.value().groups[0], sample_group()) << "members keep their order, protocols and bytes";
  ASSERT_EQ(loaded.value().offsets.size(), 1u);
  EXPECT_EQ(loaded.value().offsets[0].group_id, "g");
  auto& offsets = loaded.value().offsets[0].offsets;
  ASSERT_EQ(offsets.size(), 1u);
  EXPECT_EQ(offsets.at({"orders", 0}), (committed_offset{100, 2, "meta", 55, std::nullopt}));
}

TEST(GroupStore, RewritingAGroupReplacesItsMembers) {
  temp_dir dir;
  group_store store(dir.path() / "metadata.db");
  EXPECT_FALSE(wait_write([&](auto cb) { store.store_group(sample_group(), cb); }));
  auto g = sample_group();
  g.members.pop_back();
  g.state = group_state::preparing_rebalance;
  EXPECT_FALSE(wait_write([&](auto cb) { store.store_group(g, cb); }));
  auto loaded = store.load();
  ASSERT_TRUE(loaded);
  EXPECT_EQ(loaded.value().groups.at(0), g);
}

TEST(GroupStore, GroupCommitAndOrder) {
  temp_dir dir;
  group_store store(dir.path() / "metadata.db");
  constexpr int writes = 500;
  std::atomic<int> done{0};
  std::atomic<int> out_of_order{0};
  for (int i = 0; i < writes; ++i) {
    store.store_offsets("g", {{{"orders", 0}, committed_offset{i, -1, "", 0, std::nullopt}}},
                        [&, i](std::error_code ec) {
                          EXPECT_FALSE(ec);
                          if (done.fetch_add(1) != i) ++out_of_order;
                        });
  }
  store.stop();
  EXPECT_EQ(done.load(), writes);
  EXPECT_EQ(out_of_order.load(), 0) << "callbacks run in queue order";
  EXPECT_LT(store.transactions(), static_cast<uint64_t>(writes)) << "writes queued together share a transaction";
  // The last write wins, and a stopped store refuses writes.
  EXPECT_EQ(store.load().value().offsets.at(0).offsets.at({"orders", 0}).offset, writes - 1);
  EXPECT_EQ(wait_write([&](auto cb) { store.delete_group("g", cb); }), errc::storage);
}

TEST(ConsumerProtocol, SubscriptionTopicsOfEveryVersion) {
  for (int16_t v = 0; v <= 3; ++v) {
    auto topics = subscription_topics(subscription({"orders", "audit"}, v));
    ASSERT_TRUE(topics) << "version " << v;
    EXPECT_EQ(*topics, (std::vector<std::string>{"orders", "audit"}));
  }
  // A future version still starts with the version-0 fields.
  EXPECT_TRUE(subscription_topics(subscription({"orders"}, 9)));
  EXPECT_FALSE(subscription_topics(protocol::bytes{0, 0, 0}));
  EXPECT_FALSE(subscription_topics(protocol::bytes{}));
  EXPECT_FALSE(subscription_topics(protocol::bytes{0xff, 0xff, 0, 0, 0, 0}));
}

TEST(GroupMetadata, CommitsOvertakenByARemovalStayRemoved) {
  group_metadata g("g", 0);
  topic_partition tp{"orders", 0};
  committed_offset first{1, -1, "", 0, std::nullopt};
  committed_offset second{2, -1, "", 0, std::nullopt};
  auto s1 = g.begin_commit(tp);
  EXPECT_TRUE(g.has_pending_commit(tp));
  g.remove_offsets({tp});  // e.g. OffsetDelete while the commit is written
  auto s2 = g.begin_commit(tp);
  g.end_commit(tp, s1, &first);
  EXPECT_EQ(g.offsets.count(tp), 0u) << "the first commit was overtaken by the removal";
  g.end_commit(tp, s2, &second);
  EXPECT_EQ(g.offsets.at(tp).offset, 2);
  EXPECT_FALSE(g.has_pending_commit(tp));
  auto s3 = g.begin_commit(tp);
  g.end_commit(tp, s3, nullptr);  // a failed write changes nothing
  EXPECT_EQ(g.offsets.at(tp).offset, 2);
}

TEST(GroupMetadata, SelectProtocolByVote) {
  group_metadata g("g", 0);
  auto member = [](std::string id, std::vector<std::string> protocols) {
    member_metadata m;
    m.member_id = std::move(id);
    m.protocol_type = "consumer";
    for (auto& p : protocols) m.protocols.push_back({p, {}});
    return m;
  };
  g.add(member("a", {"roundrobin", "range"}));
  g.add(member("b", {"range", "roundrobin", "cooperative-sticky"}));
  g.add(member("c", {"range"}));
  EXPECT_EQ(g.select_protocol(), "range") << "roundrobin is not supported by c";
  g.transition_to(group_state::preparing_rebalance, 0);  // an empty group accepts any protocol
  EXPECT_TRUE(g.supports_protocols("consumer", {{"range", {}}}));
  EXPECT_FALSE(g.supports_protocols("consumer", {{"cooperative-sticky", {}}}));
  EXPECT_EQ(g.leader(), "a");
  g.remove("a");
  EXPECT_TRUE(g.leader() == "b" || g.leader() == "c");
}

}  // namespace
}  // namespace geomirror::group::testing

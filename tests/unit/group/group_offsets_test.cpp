// Committed offsets and the admin calls: commit validation (generations,
// members, simple commits), fetch, OffsetDelete, DeleteGroups, offsets of
// deleted topics, retention, and everything surviving a restart.

#include "tests/unit/group/group_test_util.h"

#include "broker-core/group/errc.h"

#include <thread>

namespace geomirror::group::testing {
namespace {

using offsets = coordinator_fixture;

TEST_F(offsets, SimpleCommitsOutsideGroupManagement) {
  auto errors = commit("simple", "", -1, {{{"orders", 0}, 42}, {{"orders", 9}, 1}, {{"nope", 0}, 1}}, "checkpoint");
  EXPECT_FALSE(errors.at(0));
  EXPECT_EQ(errors.at(1), errc::unknown_topic_or_partition);
  EXPECT_EQ(errors.at(2), errc::unknown_topic_or_partition);
  EXPECT_EQ(fetch("simple", "orders", 0), 42);
  EXPECT_EQ(fetch("simple", "orders", 1), -1) << "nothing committed";
  EXPECT_EQ(fetch("unknown-group", "orders", 0), -1);

  auto all = coordinator->fetch_offsets("simple", std::nullopt, false);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].partition, (topic_partition{"orders", 0}));
  EXPECT_EQ(all[0].value.metadata, "checkpoint");
  EXPECT_EQ(all[0].value.commit_timestamp_ms, timers.now_ms());
  EXPECT_TRUE(coordinator->fetch_offsets("unknown-group", std::nullopt, false).empty());
  // Only unknown partitions: no group is created for them.
  EXPECT_EQ(commit("ghost", "", -1, {{{"nope", 0}, 1}}).at(0), errc::unknown_topic_or_partition);
  EXPECT_EQ(coordinator->list_groups().size(), 1u);

  std::string big(config.offset_metadata_max_bytes + 1, 'x');
  EXPECT_EQ(commit("simple", "", -1, {{{"orders", 0}, 43}}, big).at(0), errc::offset_metadata_too_large);
  EXPECT_EQ(fetch("simple", "orders", 0), 42);
}

TEST_F(offsets, MemberCommitsAreChecked) {
  auto [member, generation] = stable_single_member("g");
  EXPECT_FALSE(commit("g", member, generation, {{{"orders", 1}, 100}}).at(0));
  EXPECT_EQ(fetch("g", "orders", 1), 100);
  EXPECT_EQ(commit("g", member, generation - 1, {{{"orders", 1}, 5}}).at(0), errc::illegal_generation);
  EXPECT_EQ(commit("g", "stranger", generation, {{{"orders", 1}, 5}}).at(0), errc::unknown_member_id);
  EXPECT_EQ(commit("g", "", -1, {{{"orders", 1}, 5}}).at(0), errc::unknown_member_id)
      << "simple commits only while the group has no members";
  EXPECT_EQ(commit("other", member, 3, {{{"orders", 1}, 5}}).at(0), errc::group_id_not_found)
      << "a generation of a group this coordinator does not know";
  EXPECT_EQ(commit("other", "someone", -1, {{{"orders", 1}, 5}}).at(0), errc::unknown_member_id);
  EXPECT_EQ(fetch("g", "orders", 1), 100);
  EXPECT_TRUE(coordinator->fetch_offsets("other", std::nullopt, false).empty()) << "refused commits create nothing";

  // CompletingRebalance: REBALANCE_IN_PROGRESS until the assignment arrives.
  auto rejoin = join("g", member);
  auto r = await(rejoin);
  ASSERT_EQ(r.generation_id, generation + 1);
  EXPECT_EQ(commit("g", member, r.generation_id, {{{"orders", 1}, 5}}).at(0), errc::rebalance_in_progress);
  // PreparingRebalance: the previous generation may still commit.
  auto second = await(join("g", ""));
  auto second_join = join("g", second.member_id);
  EXPECT_EQ(coordinator->describe_group("g").state, group_state::preparing_rebalance);
  EXPECT_FALSE(commit("g", member, r.generation_id, {{{"orders", 1}, 7}}).at(0));
  EXPECT_EQ(fetch("g", "orders", 1), 7);
  EXPECT_FALSE(is_ready(second_join)) << "the rebalance waits for the first member to rejoin";
}

TEST_F(offsets, OffsetsAndMembershipSurviveARestart) {
  auto ja = join("g", "", {"orders"}, std::nullopt, false);
  auto jb = join("g", "", {"orders"}, std::string("instance-b"), false);
  timers.advance(200);
  auto ra = await(ja);
  auto rb = await(jb);
  auto sb = sync("g", rb.member_id, 1);
  await(sync("g", ra.member_id, 1,
             {{ra.member_id, assignment("orders", {0, 1, 2})}, {rb.member_id, assignment("orders", {3, 4, 5})}}));
  await(sb);
  {
    offset_commit_request r;
    r.group_id = "g";
    r.member_id = ra.member_id;
    r.generation_id = 1;
    committed_offset c;
    c.offset = 1234;
    c.leader_epoch = 3;
    c.metadata = "meta";
    c.commit_timestamp_ms = 777;  // OffsetCommit v1 sets its own timestamp
    r.offsets.emplace_back(topic_partition{"orders", 2}, c);
    auto p = std::make_shared<std::promise<std::vector<std::error_code>>>();
    auto f = p->get_future();
    coordinator->commit_offsets(r, [p](auto e) { p->set_value(e); });
    EXPECT_FALSE(await(f).at(0));
  }
  EXPECT_FALSE(commit("simple", "", -1, {{{"audit", 0}, 9}}).at(0));

  restart();

  auto d = coordinator->describe_group("g");
  EXPECT_EQ(d.state, group_state::stable);
  EXPECT_EQ(d.protocol_name, "range");
  ASSERT_EQ(d.members.size(), 2u);
  for (const auto& m : d.members) {
    if (m.member_id == rb.member_id) {
      EXPECT_EQ(m.group_instance_id, "instance-b");
      EXPECT_EQ(m.assignment, assignment("orders", {3, 4, 5}));
    } else {
      EXPECT_EQ(m.member_id, ra.member_id);
      EXPECT_EQ(m.assignment, assignment("orders", {0, 1, 2}));
    }
    EXPECT_EQ(m.metadata, subscription({"orders"}));
  }
  // Members that keep heartbeating carry on with their generation.
  EXPECT_FALSE(coordinator->heartbeat("g", ra.member_id, std::nullopt, 1));
  EXPECT_FALSE(coordinator->heartbeat("g", rb.member_id, std::string("instance-b"), 1));
  EXPECT_EQ(await(sync("g", rb.member_id, 1)).assignment, assignment("orders", {3, 4, 5}));
  auto all = coordinator->fetch_offsets("g", std::nullopt, false);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].value.offset, 1234);
  EXPECT_EQ(all[0].value.leader_epoch, 3);
  EXPECT_EQ(all[0].value.metadata, "meta");
  EXPECT_EQ(all[0].value.commit_timestamp_ms, 777);
  EXPECT_EQ(fetch("simple", "audit", 0), 9);

  // Fresh session timers: a member that stops heartbeating is evicted.
  for (int i = 0; i < 4; ++i) {
    timers.advance(3000);
    EXPECT_NE(coordinator->heartbeat("g", ra.member_id, std::nullopt, 1), errc::unknown_member_id)
        << "the member that heartbeats stays";
  }
  EXPECT_EQ(coordinator->heartbeat("g", rb.member_id, std::string("instance-b"), 1), errc::unknown_member_id);
}

TEST_F(offsets, AGroupStoppedMidRebalanceRebalancesAfterRestart) {
  auto ja = join("g", "", {"orders"}, std::nullopt, false);
  auto jb = join("g", "", {"orders"}, std::nullopt, false);
  timers.advance(200);
  auto ra = await(ja);
  auto rb = await(jb);
  auto sb = sync("g", rb.member_id, 1);
  await(sync("g", ra.member_id, 1));
  await(sb);
  // b leaves: the group, now rebalancing, is written with a alone.
  EXPECT_FALSE(coordinator->leave_group("g", {{rb.member_id, std::nullopt, ""}}).members.at(0));
  restart();
  auto d = coordinator->describe_group("g");
  EXPECT_EQ(d.state, group_state::preparing_rebalance);
  ASSERT_EQ(d.members.size(), 1u);
  EXPECT_EQ(coordinator->heartbeat("g", ra.member_id, std::nullopt, 1), errc::rebalance_in_progress);
  auto r = await(join("g", ra.member_id, {"orders"}, std::nullopt, false));
  EXPECT_EQ(r.generation_id, 2);
  EXPECT_EQ(r.members.size(), 1u);
}

TEST_F(offsets, OffsetDelete) {
  auto delete_offsets = [&](const std::string& group, std::vector<topic_partition> tps) {
    auto p = std::make_shared<std::promise<offset_delete_result>>();
    auto f = p->get_future();
    coordinator->delete_offsets(group, tps, [p](offset_delete_result r) { p->set_value(std::move(r)); });
    return await(f);
  };
  EXPECT_EQ(delete_offsets("", {}).error, errc::invalid_group_id);
  EXPECT_EQ(delete_offsets("nope", {{"orders", 0}}).error, errc::group_id_not_found);

  // An active consumer group subscribed to "orders" only.
  auto [member, generation] = stable_single_member("g");
  EXPECT_FALSE(commit("g", member, generation, {{{"orders", 0}, 10}, {{"audit", 0}, 20}}).at(1));
  auto r = delete_offsets("g", {{"orders", 0}, {"audit", 0}, {"gone", 0}});
  EXPECT_FALSE(r.error);
  EXPECT_EQ(r.partitions.at(0), errc::group_subscribed_to_topic);
  EXPECT_FALSE(r.partitions.at(1));
  EXPECT_EQ(r.partitions.at(2), errc::unknown_topic_or_partition);
  EXPECT_EQ(fetch("g", "orders", 0), 10);
  EXPECT_EQ(fetch("g", "audit", 0), -1);

  // A non-consumer group with members: NON_EMPTY_GROUP.
  join_request connect;
  connect.group_id = "workers";
  connect.client_id = "connect";
  connect.session_timeout_ms = 10'000;
  connect.rebalance_timeout_ms = 10'000;
  connect.protocol_type = "connect";
  connect.protocols = {{"sessioned", {1, 2, 3}}};
  auto jc = join(connect);
  timers.advance(100);
  ASSERT_FALSE(await(jc).error);
  EXPECT_EQ(delete_offsets("workers", {{"orders", 0}}).error, errc::non_empty_group);

  // Once the group is empty everything may go, and with the last offset the
  // group itself.
  EXPECT_FALSE(coordinator->leave_group("g", {{member, std::nullopt, ""}}).members.at(0));
  r = delete_offsets("g", {{"orders", 0}});
  EXPECT_FALSE(r.partitions.at(0));
  EXPECT_EQ(fetch("g", "orders", 0), -1);
  EXPECT_EQ(coordinator->describe_group("g").state, group_state::dead);
  restart();
  EXPECT_EQ(coordinator->describe_group("g").state, group_state::dead);
}

TEST_F(offsets, DeleteGroups) {
  auto delete_groups = [&](std::vector<std::string> ids) {
    auto p = std::make_shared<std::promise<std::vector<std::error_code>>>();
    auto f = p->get_future();
    coordinator->delete_groups(ids, [p](std::vector<std::error_code> e) { p->set_value(std::move(e)); });
    return await(f);
  };
  auto [member, generation] = stable_single_member("active");
  EXPECT_FALSE(commit("active", member, generation, {{{"orders", 0}, 1}}).at(0));
  EXPECT_FALSE(commit("idle", "", -1, {{{"orders", 0}, 2}, {{"orders", 1}, 3}}).at(0));
  auto errors = delete_groups({"active", "idle", "nope"});
  EXPECT_EQ(errors.at(0), errc::non_empty_group);
  EXPECT_FALSE(errors.at(1));
  EXPECT_EQ(errors.at(2), errc::group_id_not_found);
  EXPECT_EQ(fetch("idle", "orders", 0), -1);
  EXPECT_EQ(coordinator->describe_group("idle").state, group_state::dead);
  EXPECT_EQ(fetch("active", "orders", 0), 1);
  restart();
  EXPECT_EQ(fetch("idle", "orders", 1), -1) << "deleted from the store too";
  EXPECT_EQ(fetch("active", "orders", 0), 1);
  // The name is free again.
  EXPECT_FALSE(commit("idle", "", -1, {{{"orders", 0}, 4}}).at(0));
  EXPECT_EQ(fetch("idle", "orders", 0), 4);
}

TEST_F(offsets, OffsetsOfADeletedTopicAreDropped) {
  EXPECT_FALSE(commit("a", "", -1, {{{"orders", 0}, 1}, {{"audit", 0}, 2}}).at(0));
  EXPECT_FALSE(commit("b", "", -1, {{{"audit", 0}, 3}}).at(0));
  delete_topic("audit");
  EXPECT_EQ(fetch("a", "audit", 0), -1);
  EXPECT_EQ(fetch("a", "orders", 0), 1);
  EXPECT_EQ(coordinator->describe_group("b").state, group_state::dead) << "its only offsets are gone";
  // A topic of the same name, created again, starts without offsets.
  {
    std::lock_guard lock(topics_mu);
    topics["audit"] = 1;
  }
  restart();
  EXPECT_EQ(fetch("a", "audit", 0), -1);
  EXPECT_EQ(fetch("b", "audit", 0), -1);
  EXPECT_EQ(fetch("a", "orders", 0), 1);
}

TEST_F(offsets, OffsetsOfTopicsDeletedWhileStoppedAreDroppedAtStart) {
  EXPECT_FALSE(commit("a", "", -1, {{{"orders", 0}, 1}, {{"audit", 0}, 2}}).at(0));
  coordinator.reset();
  {
    std::lock_guard lock(topics_mu);
    topics.erase("audit");
  }
  open();
  EXPECT_EQ(coordinator->fetch_offsets("a", std::nullopt, false).size(), 1u);
  {
    std::lock_guard lock(topics_mu);
    topics["audit"] = 1;
  }
  restart();
  EXPECT_EQ(fetch("a", "audit", 0), -1);
}

TEST_F(offsets, Retention) {
  config.offsets_retention_ms = 60'000;
  restart();
  // A simple group: offsets expire a retention after their commit.
  EXPECT_FALSE(commit("simple", "", -1, {{{"orders", 0}, 1}}).at(0));
  timers.advance(30'000);
  EXPECT_FALSE(commit("simple", "", -1, {{{"orders", 1}, 2}}).at(0));
  // An explicit retention time (OffsetCommit v2-4) wins.
  EXPECT_FALSE(commit("explicit", "", -1, {{{"orders", 0}, 3}}, "", 5'000).at(0));
  timers.advance(30'000);
  coordinator->expire_offsets();
  EXPECT_EQ(fetch("simple", "orders", 0), -1);
  EXPECT_EQ(fetch("simple", "orders", 1), 2);
  EXPECT_EQ(coordinator->describe_group("explicit").state, group_state::dead);

  // A consumer group's offsets are kept while it has members, and expire a
  // retention after it became empty.
  auto [member, generation] = stable_single_member("g");
  EXPECT_FALSE(commit("g", member, generation, {{{"orders", 0}, 5}}).at(0));
  for (int i = 0; i < 30; ++i) {
    timers.advance(3000);
    ASSERT_FALSE(coordinator->heartbeat("g", member, std::nullopt, generation));
  }
  coordinator->expire_offsets();
  EXPECT_EQ(fetch("g", "orders", 0), 5) << "subscribed topic of a stable group";
  EXPECT_FALSE(coordinator->leave_group("g", {{member, std::nullopt, ""}}).members.at(0));
  timers.advance(59'000);
  coordinator->expire_offsets();
  EXPECT_EQ(fetch("g", "orders", 0), 5);
  timers.advance(1'000);
  coordinator->expire_offsets();
  EXPECT_EQ(fetch("g", "orders", 0), -1);
  EXPECT_EQ(coordinator->describe_group("g").state, group_state::dead);
  restart();
  EXPECT_EQ(fetch("simple", "orders", 0), -1);
  EXPECT_EQ(fetch("simple", "orders", 1), -1) << "expired by an earlier pass, and gone from the store";
}

TEST_F(offsets, PeriodicRetentionCheck) {
  config.offsets_retention_ms = 1000;
  config.offsets_retention_check_interval_ms = 5000;
  restart();
  EXPECT_FALSE(commit("simple", "", -1, {{{"orders", 0}, 1}}).at(0));
  timers.advance(4999);
  EXPECT_EQ(fetch("simple", "orders", 0), 1);
  timers.advance(1);
  EXPECT_EQ(fetch("simple", "orders", 0), -1);
}

TEST_F(offsets, ConcurrentCommitsAndHeartbeats) {
  auto [member, generation] = stable_single_member("g");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        auto e = commit("g", member, generation, {{{"orders", t}, i}});
        ASSERT_FALSE(e.at(0)) << e.at(0).message();
        ASSERT_FALSE(coordinator->heartbeat("g", member, std::nullopt, generation));
        for (const auto& fetched : coordinator->fetch_offsets("g", std::nullopt, true))
          ASSERT_FALSE(fetched.error) << fetched.error.message();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int t = 0; t < 4; ++t) EXPECT_EQ(fetch("g", "orders", t), 199);
  restart();
  for (int t = 0; t < 4; ++t) EXPECT_EQ(fetch("g", "orders", t), 199);
}

}  // namespace
}  // namespace geomirror::group::testing

// The classic group state machine: joins (MEMBER_ID_REQUIRED, initial delay,
// leader election), syncs, heartbeats per state, session and rebalance
// timeouts, cooperative-sticky's rejoin rules, static membership, leaves and
// the errors Kafka answers with.

#include "tests/unit/group/group_test_util.h"

#include "broker-core/group/errc.h"

#include <atomic>
#include <thread>

namespace geomirror::group::testing {
namespace {

using membership = coordinator_fixture;

TEST_F(membership, MemberIdRequiredRoundTrip) {
  auto first = join("g", "");
  auto required = await(first);
  EXPECT_EQ(required.error, errc::member_id_required);
  EXPECT_EQ(required.member_id.rfind("client-", 0), 0u) << required.member_id;
  EXPECT_EQ(required.member_id.size(), std::string("client-").size() + 36);
  EXPECT_EQ(required.generation_id, -1);

  auto joined = join("g", required.member_id);
  EXPECT_FALSE(is_ready(joined)) << "parked for the initial rebalance delay";
  EXPECT_EQ(coordinator->describe_group("g").state, group_state::preparing_rebalance);
  timers.advance(config.initial_rebalance_delay_ms);
  auto r = await(joined);
  EXPECT_FALSE(r.error);
  EXPECT_EQ(r.generation_id, 1);
  EXPECT_EQ(r.member_id, required.member_id);
  EXPECT_EQ(r.leader_id, required.member_id);
  EXPECT_EQ(r.protocol_name, "range");
  EXPECT_EQ(r.protocol_type, "consumer");
  ASSERT_EQ(r.members.size(), 1u);
  EXPECT_EQ(r.members[0].metadata, subscription({"orders"}));
  EXPECT_EQ(coordinator->describe_group("g").state, group_state::completing_rebalance);
}

TEST_F(membership, PendingMemberExpiresAfterSessionTimeout) {
  auto first = join("g", "");
  auto required = await(first);
  timers.advance(10'000);  // the session timeout passes without a rejoin
  auto late = join("g", required.member_id);
  EXPECT_EQ(await(late).error, errc::unknown_member_id);
}

TEST_F(membership, TwoMembersShareAGeneration) {
  auto a = join("g", "a-placeholder", {"orders"}, std::nullopt, false);  // unknown id, v3: refused
  EXPECT_EQ(await(a).error, errc::unknown_member_id);

  // v3 clients join directly with an empty member id.
  auto ja = join("g", "", {"orders"}, std::nullopt, false);
  timers.advance(50);
  auto jb = join("g", "", {"orders", "audit"}, std::nullopt, false);
  timers.advance(99);  // the second member moved the end to one delay after it arrived
  EXPECT_FALSE(is_ready(ja));
  timers.advance(1);
  auto ra = await(ja);
  auto rb = await(jb);
  ASSERT_FALSE(ra.error);
  ASSERT_FALSE(rb.error);
  EXPECT_EQ(ra.generation_id, 1);
  EXPECT_EQ(rb.generation_id, 1);
  EXPECT_EQ(ra.leader_id, ra.member_id) << "the first joiner leads";
  EXPECT_EQ(rb.leader_id, ra.member_id);
  EXPECT_EQ(ra.members.size(), 2u) << "the leader sees every member's metadata";
  EXPECT_TRUE(rb.members.empty());

  auto follower = sync("g", rb.member_id, 1);
  EXPECT_FALSE(is_ready(follower)) << "parked until the leader's assignment";
  auto leader = sync("g", ra.member_id, 1,
                     {{ra.member_id, assignment("orders", {0, 1, 2})}, {rb.member_id, assignment("orders", {3, 4, 5})}});
  auto sa = await(leader);
  auto sb = await(follower);
  EXPECT_FALSE(sa.error);
  EXPECT_EQ(sa.assignment, assignment("orders", {0, 1, 2}));
  EXPECT_EQ(sb.assignment, assignment("orders", {3, 4, 5}));
  EXPECT_EQ(sb.protocol_name, "range");

  auto d = coordinator->describe_group("g");
  EXPECT_EQ(d.state, group_state::stable);
  EXPECT_EQ(d.protocol_type, "consumer");
  EXPECT_EQ(d.protocol_name, "range");
  ASSERT_EQ(d.members.size(), 2u);
  for (const auto& m : d.members) {
    EXPECT_EQ(m.client_id, "client");
    EXPECT_EQ(m.client_host, "/127.0.0.1");
    EXPECT_FALSE(m.metadata.empty());
    EXPECT_FALSE(m.assignment.empty());
  }
  // A stable member syncing again gets its assignment at once.
  EXPECT_EQ(await(sync("g", rb.member_id, 1)).assignment, assignment("orders", {3, 4, 5}));
}

// Issue 11: members that subscribe together get their ids
// (MEMBER_ID_REQUIRED) and join with them within a moment; the first
// generation forms one delay later, not two (where Kafka re-arms its delay
// because the second member came in during the first).
TEST_F(membership, MembersJoiningTogetherShareOneInitialDelay) {
  auto a = await(join("g", ""));
  auto b = await(join("g", ""));
  ASSERT_EQ(a.error, errc::member_id_required);
  ASSERT_EQ(b.error, errc::member_id_required);
  auto ja = join("g", a.member_id);
  timers.advance(1);
  auto jb = join("g", b.member_id);
  timers.advance(config.initial_rebalance_delay_ms - 1);
  EXPECT_FALSE(is_ready(ja)) << "one delay after the last member arrived, not after the first";
  timers.advance(1);
  auto ra = await(ja);
  auto rb = await(jb);
  ASSERT_FALSE(ra.error);
  ASSERT_FALSE(rb.error);
  EXPECT_EQ(ra.generation_id, 1);
  EXPECT_EQ(rb.generation_id, 1);
  EXPECT_EQ(ra.members.size(), 2u);
}

// Members that keep arriving keep the first join phase open, each for one
// delay, but never past the rebalance timeout of the member that opened it.
TEST_F(membership, ArrivalsExtendTheInitialDelayUpToTheRebalanceTimeout) {
  auto join_v3 = [&] { return join("g", "", {"orders"}, std::nullopt, false, 10'000, 250); };
  auto ja = join_v3();
  timers.advance(90);
  auto jb = join_v3();
  timers.advance(90);
  EXPECT_FALSE(is_ready(ja)) << "the second member extended the delay";
  auto jc = join_v3();  // would extend it to t=280
  timers.advance(69);
  EXPECT_FALSE(is_ready(ja));
  timers.advance(1);  // t=250: the rebalance timeout
  auto ra = await(ja);
  ASSERT_FALSE(ra.error);
  EXPECT_EQ(ra.members.size(), 3u);
  EXPECT_EQ(await(jb).generation_id, 1);
  EXPECT_EQ(await(jc).generation_id, 1);
}

// With no delay the first generation forms at once, but not without a
// member that was handed its id and is joining with it: forming without it
// would cost librdkafka a second join round, 1-2 s. One that does not come
// back holds the group for pending_member_grace_ms at most.
TEST_F(membership, WithoutDelayTheFirstGenerationWaitsForMembersHandedAnId) {
  config.initial_rebalance_delay_ms = 0;
  restart();
  auto a = await(join("g", ""));
  auto b = await(join("g", ""));
  auto ja = join("g", a.member_id);
  timers.advance(10);
  EXPECT_FALSE(is_ready(ja)) << "b has its id and is on its way";
  auto jb = join("g", b.member_id);
  timers.advance(0);
  auto ra = await(ja);
  ASSERT_FALSE(ra.error);
  EXPECT_EQ(ra.generation_id, 1);
  EXPECT_EQ(ra.members.size(), 2u);
  EXPECT_FALSE(await(jb).error);

  // A member handed an id that never joins with it.
  auto c = await(join("h", ""));
  auto d = await(join("h", ""));
  auto jc = join("h", c.member_id);
  timers.advance(config.pending_member_grace_ms - 1);
  EXPECT_FALSE(is_ready(jc));
  timers.advance(1);
  auto rc = await(jc);
  ASSERT_FALSE(rc.error);
  ASSERT_EQ(rc.members.size(), 1u) << "formed without the member that did not come back";
  EXPECT_EQ(rc.members[0].member_id, c.member_id);
  EXPECT_EQ(d.error, errc::member_id_required);
  EXPECT_NE(d.member_id, c.member_id);

  // One that leaves instead (LeaveGroup with its pending id) holds nothing.
  auto f = await(join("j", ""));
  auto h = await(join("j", ""));
  auto jf = join("j", f.member_id);
  timers.advance(10);
  EXPECT_FALSE(is_ready(jf));
  EXPECT_FALSE(coordinator->leave_group("j", {{h.member_id, std::nullopt, ""}}).members.at(0));
  timers.advance(0);
  EXPECT_EQ(await(jf).members.size(), 1u);

  // Alone, a member is not held at all.
  auto e = await(join("i", ""));
  auto je = join("i", e.member_id);
  timers.advance(0);
  EXPECT_EQ(await(je).generation_id, 1);
}

TEST_F(membership, HeartbeatAnswersPerState) {
  EXPECT_EQ(coordinator->heartbeat("", "m", std::nullopt, 1), errc::invalid_group_id);
  EXPECT_EQ(coordinator->heartbeat("nope", "m", std::nullopt, 1), errc::unknown_member_id);

  auto first = await(join("g", ""));
  auto joined = join("g", first.member_id);
  timers.advance(100);
  auto r = await(joined);
  // CompletingRebalance: NONE (members may heartbeat before SyncGroup).
  EXPECT_FALSE(coordinator->heartbeat("g", r.member_id, std::nullopt, 1));
  await(sync("g", r.member_id, 1, {{r.member_id, assignment("orders", {0})}}));
  EXPECT_FALSE(coordinator->heartbeat("g", r.member_id, std::nullopt, 1));
  EXPECT_EQ(coordinator->heartbeat("g", r.member_id, std::nullopt, 0), errc::illegal_generation);
  EXPECT_EQ(coordinator->heartbeat("g", "stranger", std::nullopt, 1), errc::unknown_member_id);

  // A second member starts a rebalance: PreparingRebalance answers
  // REBALANCE_IN_PROGRESS.
  auto other = await(join("g", ""));
  auto other_join = join("g", other.member_id);
  EXPECT_EQ(coordinator->describe_group("g").state, group_state::preparing_rebalance);
  EXPECT_EQ(coordinator->heartbeat("g", r.member_id, std::nullopt, 1), errc::rebalance_in_progress);
  EXPECT_EQ(await(sync("g", r.member_id, 1)).error, errc::rebalance_in_progress);
  // The new member waits for the old one to rejoin, then both are in generation 2.
  EXPECT_FALSE(is_ready(other_join));
  auto rejoined = join("g", r.member_id);
  timers.advance(0);
  EXPECT_EQ(await(rejoined).generation_id, 2);
  EXPECT_EQ(await(other_join).generation_id, 2);
}

TEST_F(membership, SessionTimeoutEvictsASilentMember) {
  auto ja = join("g", "", {"orders"}, std::nullopt, false);
  auto jb = join("g", "", {"orders"}, std::nullopt, false);
  timers.advance(200);  // past the initial delay, which both joiners share
  auto ra = await(ja);
  auto rb = await(jb);
  auto sb = sync("g", rb.member_id, 1);
  await(sync("g", ra.member_id, 1, {{ra.member_id, assignment("orders", {0, 1, 2})}}));
  EXPECT_TRUE(await(sb).assignment.empty()) << "no assignment from the leader: an empty one";

  // Only a heartbeats; b's session (10 s) runs out.
  for (int i = 0; i < 4; ++i) {
    timers.advance(3000);
    auto e = coordinator->heartbeat("g", ra.member_id, std::nullopt, 1);
    if (i < 3) EXPECT_FALSE(e) << i;
    else EXPECT_EQ(e, errc::rebalance_in_progress) << "b expired after 10 s";
  }
  EXPECT_EQ(coordinator->heartbeat("g", rb.member_id, std::nullopt, 1), errc::unknown_member_id);
  auto rejoin = join("g", ra.member_id);
  auto r = await(rejoin);  // the only member left has rejoined: no waiting
  EXPECT_FALSE(r.error);
  EXPECT_EQ(r.generation_id, 2);
  EXPECT_EQ(r.members.size(), 1u);
}

TEST_F(membership, RebalanceTimeoutDropsMembersThatDoNotRejoin) {
  auto ja = join("g", "", {"orders"}, std::nullopt, false, 60'000, 5'000);
  auto jb = join("g", "", {"orders"}, std::nullopt, false, 60'000, 5'000);
  timers.advance(200);  // past the initial delay, which both joiners share
  auto ra = await(ja);
  auto rb = await(jb);
  auto sb = sync("g", rb.member_id, 1);
  await(sync("g", ra.member_id, 1));
  await(sb);
  // The leader rejoins (a rebalance starts); b keeps heartbeating but never
  // rejoins.
  auto again = join("g", ra.member_id, {"orders"}, std::nullopt, false, 60'000, 5'000);
  timers.advance(4000);
  EXPECT_EQ(coordinator->heartbeat("g", rb.member_id, std::nullopt, 1), errc::rebalance_in_progress);
  EXPECT_FALSE(is_ready(again));
  timers.advance(1000);
  auto r = await(again);
  EXPECT_FALSE(r.error);
  EXPECT_EQ(r.generation_id, 2);
  ASSERT_EQ(r.members.size(), 1u);
  EXPECT_EQ(coordinator->heartbeat("g", rb.member_id, std::nullopt, 2), errc::unknown_member_id);
}

TEST_F(membership, MembersThatDoNotSyncAreRemoved) {
  auto ja = join("g", "", {"orders"}, std::nullopt, false, 60'000, 5'000);
  auto jb = join("g", "", {"orders"}, std::nullopt, false, 60'000, 5'000);
  timers.advance(200);  // past the initial delay, which both joiners share
  auto ra = await(ja);
  auto rb = await(jb);
  auto leader = sync("g", ra.member_id, 1);
  await(leader);
  // b never sends SyncGroup; after the rebalance timeout it is gone.
  timers.advance(5000);
  EXPECT_EQ(coordinator->describe_group("g").state, group_state::preparing_rebalance);
  EXPECT_EQ(coordinator->heartbeat("g", rb.member_id, std::nullopt, 1), errc::unknown_member_id);
  EXPECT_EQ(coordinator->describe_group("g").members.size(), 1u);
}

TEST_F(membership, CooperativeRejoinRules) {
  auto ja = join("g", "", {"orders"}, std::nullopt, false);
  auto jb = join("g", "", {"orders"}, std::nullopt, false);
  timers.advance(200);  // past the initial delay, which both joiners share
  auto ra = await(ja);
  auto rb = await(jb);
  auto sb = sync("g", rb.member_id, 1);
  await(sync("g", ra.member_id, 1));
  await(sb);

  // A follower rejoining with unchanged metadata gets the current generation
  // back, without a rebalance.
  auto same = await(join("g", rb.member_id, {"orders"}, std::nullopt, false));
  EXPECT_FALSE(same.error);
  EXPECT_EQ(same.generation_id, 1);
  EXPECT_EQ(same.leader_id, ra.member_id);
  EXPECT_EQ(coordinator->describe_group("g").state, group_state::stable);

  // A follower whose metadata changed (cooperative-sticky's owned
  // partitions) makes the group rebalance.
  auto changed = join("g", rb.member_id, {"orders", "audit"}, std::nullopt, false);
  EXPECT_EQ(coordinator->describe_group("g").state, group_state::preparing_rebalance);
  auto leader_again = join("g", ra.member_id, {"orders"}, std::nullopt, false);
  auto r1 = await(leader_again);
  auto r2 = await(changed);
  EXPECT_EQ(r1.generation_id, 2);
  EXPECT_EQ(r2.generation_id, 2);
  auto s2 = sync("g", rb.member_id, 2);
  await(sync("g", ra.member_id, 2));
  await(s2);

  // The leader rejoining a stable group always starts a rebalance.
  auto leader_rejoin = join("g", ra.member_id, {"orders"}, std::nullopt, false);
  EXPECT_EQ(coordinator->describe_group("g").state, group_state::preparing_rebalance);
  EXPECT_EQ(coordinator->heartbeat("g", rb.member_id, std::nullopt, 2), errc::rebalance_in_progress);
  auto follower_rejoin = join("g", rb.member_id, {"orders", "audit"}, std::nullopt, false);
  EXPECT_EQ(await(leader_rejoin).generation_id, 3);
  EXPECT_EQ(await(follower_rejoin).generation_id, 3);
}

TEST_F(membership, StaticMemberRestartKeepsAssignmentAndFencesTheOldId) {
  auto ja = join("g", "", {"orders"}, std::string("instance-a"), true);
  auto jb = join("g", "", {"orders"}, std::string("instance-b"), true);
  timers.advance(200);  // past the initial delay, which both joiners share
  auto ra = await(ja);
  auto rb = await(jb);
  ASSERT_FALSE(ra.error) << "static members skip MEMBER_ID_REQUIRED";
  EXPECT_EQ(ra.member_id.rfind("instance-a-", 0), 0u);
  auto sb = sync("g", rb.member_id, 1, {}, std::string("instance-b"));
  await(sync("g", ra.member_id, 1,
             {{ra.member_id, assignment("orders", {0, 1, 2})}, {rb.member_id, assignment("orders", {3, 4, 5})}},
             std::string("instance-a")));
  await(sb);

  // instance-b restarts: it joins without its member id.
  auto back = await(join("g", "", {"orders"}, std::string("instance-b"), true));
  ASSERT_FALSE(back.error);
  EXPECT_NE(back.member_id, rb.member_id);
  EXPECT_EQ(back.generation_id, 1) << "no rebalance";
  EXPECT_EQ(back.leader_id, ra.member_id);
  EXPECT_EQ(coordinator->describe_group("g").state, group_state::stable);
  auto s = await(sync("g", back.member_id, 1, {}, std::string("instance-b")));
  EXPECT_EQ(s.assignment, assignment("orders", {3, 4, 5}));
  // The previous incarnation is fenced.
  EXPECT_EQ(coordinator->heartbeat("g", rb.member_id, std::string("instance-b"), 1), errc::fenced_instance_id);
  EXPECT_EQ(await(join("g", rb.member_id, {"orders"}, std::string("instance-b"))).error, errc::fenced_instance_id);
  EXPECT_FALSE(coordinator->heartbeat("g", back.member_id, std::string("instance-b"), 1));
  // An unknown instance id with a known member id is unknown.
  EXPECT_EQ(coordinator->heartbeat("g", back.member_id, std::string("instance-z"), 1), errc::unknown_member_id);
}

TEST_F(membership, StaticLeaderRestartWithSkipAssignment) {
  auto ja = join("g", "", {"orders"}, std::string("instance-a"), true);
  timers.advance(100);
  auto ra = await(ja);
  await(sync("g", ra.member_id, 1, {{ra.member_id, assignment("orders", {0})}}, std::string("instance-a")));
  join_request r;
  r.group_id = "g";
  r.group_instance_id = "instance-a";
  r.client_id = "client";
  r.session_timeout_ms = 10'000;
  r.rebalance_timeout_ms = 20'000;
  r.protocol_type = "consumer";
  r.protocols = {{"range", subscription({"orders"})}};
  r.require_known_member_id = true;
  r.supports_skip_assignment = true;
  auto back = await(join(r));
  ASSERT_FALSE(back.error);
  EXPECT_EQ(back.leader_id, back.member_id) << "v9: the leader learns it leads";
  EXPECT_TRUE(back.skip_assignment);
  EXPECT_EQ(back.members.size(), 1u);
  EXPECT_EQ(await(sync("g", back.member_id, 1, {}, std::string("instance-a"))).assignment, assignment("orders", {0}));
}

TEST_F(membership, LeaveGroup) {
  EXPECT_EQ(coordinator->leave_group("", {{"m", std::nullopt, ""}}).error, errc::invalid_group_id);
  auto unknown = coordinator->leave_group("nope", {{"m", std::nullopt, ""}});
  EXPECT_FALSE(unknown.error);
  EXPECT_EQ(unknown.members.at(0), errc::unknown_member_id);

  auto ja = join("g", "", {"orders"}, std::nullopt, false);
  auto jb = join("g", "", {"orders"}, std::string("instance-b"), false);
  timers.advance(200);  // past the initial delay, which both joiners share
  auto ra = await(ja);
  auto rb = await(jb);
  auto sb = sync("g", rb.member_id, 1);
  await(sync("g", ra.member_id, 1));
  await(sb);

  // v3+: a batch; a static member may be named by instance id alone.
  auto left = coordinator->leave_group(
      "g", std::vector<member_identity>{{"", std::string("instance-b"), "shutting down"}, {"stranger", {}, ""}});
  EXPECT_FALSE(left.error);
  EXPECT_FALSE(left.members.at(0));
  EXPECT_EQ(left.members.at(1), errc::unknown_member_id);
  EXPECT_EQ(coordinator->describe_group("g").state, group_state::preparing_rebalance);
  auto rejoin = join("g", ra.member_id, {"orders"}, std::nullopt, false);
  EXPECT_EQ(await(rejoin).members.size(), 1u);

  // The last member leaving empties the group.
  EXPECT_FALSE(coordinator->leave_group("g", {{ra.member_id, std::nullopt, ""}}).members.at(0));
  EXPECT_EQ(coordinator->describe_group("g").state, group_state::empty);
  EXPECT_EQ(coordinator->heartbeat("g", ra.member_id, std::nullopt, 2), errc::unknown_member_id);
}

TEST_F(membership, LeavingWhileAJoinIsParkedAnswersIt) {
  auto first = await(join("g", ""));
  auto joined = join("g", first.member_id);
  EXPECT_FALSE(coordinator->leave_group("g", {{first.member_id, std::nullopt, ""}}).members.at(0));
  EXPECT_EQ(await(joined).error, errc::unknown_member_id);
}

TEST_F(membership, JoinErrors) {
  EXPECT_EQ(await(join("", "")).error, errc::invalid_group_id);
  EXPECT_EQ(await(join("g", "", {"orders"}, std::nullopt, true, 500)).error, errc::invalid_session_timeout);
  EXPECT_EQ(await(join("g", "", {"orders"}, std::nullopt, true, 60'001)).error, errc::invalid_session_timeout);
  EXPECT_EQ(await(join("g", "someone")).error, errc::unknown_member_id) << "a member id for an unknown group";

  join_request no_protocols;
  no_protocols.group_id = "g";
  no_protocols.session_timeout_ms = 10'000;
  no_protocols.protocol_type = "consumer";
  EXPECT_EQ(await(join(no_protocols)).error, errc::inconsistent_group_protocol);

  auto ja = join("g", "", {"orders"}, std::nullopt, false);
  timers.advance(100);
  await(ja);
  // No protocol in common with the group.
  EXPECT_EQ(await(join("g", "", {"orders"}, std::nullopt, false, 10'000, 20'000, "roundrobin")).error,
            errc::inconsistent_group_protocol);
  join_request other_type;
  other_type.group_id = "g";
  other_type.session_timeout_ms = 10'000;
  other_type.protocol_type = "connect";
  other_type.protocols = {{"range", {}}};
  EXPECT_EQ(await(join(other_type)).error, errc::inconsistent_group_protocol);
}

TEST_F(membership, SyncErrors) {
  auto ja = join("g", "", {"orders"}, std::nullopt, false);
  timers.advance(100);
  auto ra = await(ja);
  EXPECT_EQ(await(sync("", ra.member_id, 1)).error, errc::invalid_group_id);
  EXPECT_EQ(await(sync("nope", ra.member_id, 1)).error, errc::unknown_member_id);
  EXPECT_EQ(await(sync("g", "stranger", 1)).error, errc::unknown_member_id);
  EXPECT_EQ(await(sync("g", ra.member_id, 7)).error, errc::illegal_generation);
  sync_request wrong_protocol;
  wrong_protocol.group_id = "g";
  wrong_protocol.member_id = ra.member_id;
  wrong_protocol.generation_id = 1;
  wrong_protocol.protocol_type = "consumer";
  wrong_protocol.protocol_name = "roundrobin";
  auto p = std::make_shared<std::promise<sync_result>>();
  auto f = p->get_future();
  coordinator->sync_group(wrong_protocol, [p](sync_result r) { p->set_value(std::move(r)); });
  EXPECT_EQ(await(f).error, errc::inconsistent_group_protocol);
}

TEST_F(membership, GroupMaxSize) {
  config.max_size = 2;
  restart();
  auto ja = join("g", "", {"orders"}, std::nullopt, false);
  auto jb = join("g", "", {"orders"}, std::nullopt, false);
  auto jc = join("g", "", {"orders"}, std::nullopt, false);
  auto rc = await(jc);
  EXPECT_EQ(rc.error, errc::group_max_size_reached);
  EXPECT_TRUE(rc.member_id.empty());
  timers.advance(200);  // past the initial delay, which both joiners share
  EXPECT_FALSE(await(ja).error);
  EXPECT_FALSE(await(jb).error);
  EXPECT_EQ(await(join("g", "", {"orders"}, std::nullopt, false)).error, errc::group_max_size_reached);
}

TEST_F(membership, NewMemberJoinTimeout) {
  // A member that joins a stable group but never completes its join phase
  // (the leader never rejoins) is dropped after the new-member timeout.
  config.new_member_join_timeout_ms = 30'000;
  restart();
  auto ja = join("g", "", {"orders"}, std::nullopt, false, 60'000, 60'000);
  timers.advance(100);
  auto ra = await(ja);
  await(sync("g", ra.member_id, 1));
  auto jb = join("g", "", {"orders"}, std::nullopt, false, 60'000, 60'000);
  // The leader keeps its session alive but never rejoins; it is told a
  // rebalance is on every time.
  for (int i = 0; i < 10; ++i) {
    timers.advance(3000);
    EXPECT_EQ(coordinator->heartbeat("g", ra.member_id, std::nullopt, 1), errc::rebalance_in_progress)
        << "after " << 3 * (i + 1) << " s";
  }
  auto rb = await(jb);
  EXPECT_EQ(rb.error, errc::unknown_member_id);
}

TEST_F(membership, ListAndDescribe) {
  auto unknown = coordinator->describe_group("nope");
  EXPECT_EQ(unknown.state, group_state::dead);
  EXPECT_TRUE(unknown.members.empty());
  auto ja = join("g", "", {"orders"}, std::nullopt, false);
  timers.advance(100);
  auto ra = await(ja);
  // CompletingRebalance: members without metadata, no protocol name.
  auto d = coordinator->describe_group("g");
  EXPECT_EQ(d.state, group_state::completing_rebalance);
  EXPECT_EQ(d.protocol_name, "");
  ASSERT_EQ(d.members.size(), 1u);
  EXPECT_TRUE(d.members[0].metadata.empty());
  EXPECT_FALSE(commit("simple", "", -1, {{{"orders", 0}, 5}}).at(0));
  auto groups = coordinator->list_groups();
  ASSERT_EQ(groups.size(), 2u);
  std::map<std::string, group_overview> by_id;
  for (auto& g : groups) by_id[g.group_id] = g;
  EXPECT_EQ(by_id["g"].protocol_type, "consumer");
  EXPECT_EQ(by_id["g"].state, group_state::completing_rebalance);
  EXPECT_EQ(by_id["simple"].protocol_type, "");
  EXPECT_EQ(by_id["simple"].state, group_state::empty);
  EXPECT_EQ(d.members[0].member_id, ra.member_id);
}

TEST_F(membership, StopAnswersParkedRequests) {
  auto first = await(join("g", ""));
  auto joined = join("g", first.member_id);
  coordinator->stop();
  EXPECT_EQ(await(joined).error, errc::not_coordinator);
  EXPECT_EQ(await(join("g", "")).error, errc::not_coordinator);
}

TEST_F(membership, ConcurrentMembersComeAndGo) {
  // Members join, sync, heartbeat, commit and leave from several threads
  // while time moves on another: every callback must arrive (no lost or
  // double answers, no deadlock) and the group must end empty.
  constexpr int threads = 4;
  constexpr int rounds = 15;
  std::atomic<bool> done{false};
  std::atomic<int> finished{0};
  std::atomic<int> joined{0};
  std::mutex unexpected_mu;
  std::vector<std::string> unexpected;
  // Racing members see rebalances start and end under them: Kafka's answers
  // for that are fine, anything else is a bug.
  auto expect_one_of = [&](const char* what, std::error_code ec, std::initializer_list<errc> allowed) {
    if (!ec) return;
    for (auto e : allowed)
      if (ec == e) return;
    std::lock_guard lock(unexpected_mu);
    unexpected.push_back(std::string(what) + ": " + ec.message());
  };
  const auto churn = {errc::rebalance_in_progress, errc::illegal_generation, errc::unknown_member_id};
  std::thread clock([&] {
    while (!done) {
      timers.advance(50);
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
  std::vector<std::thread> members;
  for (int t = 0; t < threads; ++t) {
    members.emplace_back([&, t] {
      for (int i = 0; i < rounds; ++i) {
        auto r = await(join("g", "", {"orders"}, std::nullopt, false), std::chrono::seconds(60));
        if (r.error) continue;
        ++joined;
        auto s = await(sync("g", r.member_id, r.generation_id,
                            r.leader_id == r.member_id
                                ? std::vector<std::pair<std::string, protocol::bytes>>{{r.member_id, {}}}
                                : std::vector<std::pair<std::string, protocol::bytes>>{}),
                       std::chrono::seconds(60));
        expect_one_of("SyncGroup", s.error, churn);
        expect_one_of("Heartbeat", coordinator->heartbeat("g", r.member_id, std::nullopt, r.generation_id), churn);
        expect_one_of("OffsetCommit", commit("g", r.member_id, r.generation_id, {{{"orders", t}, i}}).at(0), churn);
        for (const auto& fetched : coordinator->fetch_offsets("g", std::nullopt, true))
          expect_one_of("OffsetFetch", fetched.error, {errc::unstable_offset_commit});
        if (coordinator->describe_group("g").state == group_state::dead) {
          std::lock_guard lock(unexpected_mu);
          unexpected.push_back("DescribeGroups: a group with members described as Dead");
        }
        auto left = coordinator->leave_group("g", {{r.member_id, std::nullopt, ""}});
        expect_one_of("LeaveGroup", left.error, {});
        expect_one_of("LeaveGroup member", left.members.at(0), {errc::unknown_member_id});
      }
      ++finished;
    });
  }
  for (auto& m : members) m.join();
  done = true;
  clock.join();
  EXPECT_EQ(finished.load(), threads);
  EXPECT_GT(joined.load(), 0);
  EXPECT_TRUE(unexpected.empty()) << unexpected.size() << " unexpected answers, first: " << unexpected.at(0);
  timers.advance(60'000);
  EXPECT_EQ(coordinator->describe_group("g").state, group_state::empty);
  EXPECT_TRUE(coordinator->describe_group("g").members.empty());
}

}  // namespace
}  // namespace geomirror::group::testing

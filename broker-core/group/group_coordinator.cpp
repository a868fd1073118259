// Lifecycle, loading, timers and the rebalance machinery of the group
// coordinator (Kafka's prepareRebalance / onCompleteJoin / DelayedJoin /
// InitialDelayedJoin / DelayedSync / DelayedHeartbeat). Request entry points
// live in group_membership.cpp and group_offsets.cpp.

#include "broker-core/base/clock.h"
#include "broker-core/group/group_coordinator.h"

#include "broker-core/group/errc.h"
#include "broker-core/group/logger.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <set>
#include <stdexcept>

namespace geomirror::group {

void group_coordinator::completions::run() {
  auto fns = std::move(fns_);
  fns_.clear();
  for (auto& fn : fns) fn();
}

group_coordinator::group_coordinator(coordinator_config config, const std::filesystem::path& db_file,
                                     base::scheduler& timers, topic_partitions_fn topic_partitions, clock_fn now)
    : config_(config),
      store_(std::make_unique<group_store>(db_file)),
      timers_(timers),
      topic_partitions_(std::move(topic_partitions)),
      now_(now ? std::move(now) : clock_fn(base::wall_clock_ms)) {}

group_coordinator::~group_coordinator() { stop(); }

void group_coordinator::start() {
  auto loaded = store_->load();
  if (!loaded) throw std::runtime_error("cannot read consumer groups from the metadata database");
  const int64_t t = now();
  size_t groups = 0;
  size_t members = 0;
  size_t offsets = 0;
  std::set<std::string> vanished_topics;
  std::set<std::string> rebalancing;
  {
    std::lock_guard lock(groups_mu_);
    for (const auto& stored : loaded.value().groups) {
      auto g = std::make_shared<group_metadata>(stored.group_id, t);
      g->restore(stored);
      members += g->size();
      // Written mid-rebalance: the members come back, and rebalance again.
      if (g->is(group_state::stable) && stored.state != group_state::stable) rebalancing.insert(stored.group_id);
      groups_[stored.group_id] = std::move(g);
    }
    for (auto& stored : loaded.value().offsets) {
      auto& g = groups_[stored.group_id];
      if (!g) g = std::make_shared<group_metadata>(stored.group_id, t);
      for (auto& [tp, value] : stored.offsets) {
        // Offsets of a topic deleted while the deletion hook could not run
        // (a crash between the two writes) are dropped here.
        if (!topic_partition_exists(tp)) {
          vanished_topics.insert(tp.topic);
          continue;
        }
        g->offsets[tp] = std::move(value);
        ++offsets;
      }
    }
    groups = groups_.size();
  }
  for (const auto& topic : vanished_topics) {
    group_log().info("dropping committed offsets of topic {}, which no longer exists", topic);
    store_->delete_topic_offsets(topic, {});
  }
  completions c;
  for (const auto& g : all_groups()) {
    std::lock_guard lock(g->mu);
    // Fresh session timers, as Kafka's coordinator arms after loading a group.
    for (auto& [id, m] : g->members()) schedule_heartbeat(*g, m, m.session_timeout_ms);
    if (rebalancing.count(g->id())) {
      prepare_rebalance(*g, "the group was rebalancing when the broker stopped", c);
    } else if (g->size() > static_cast<size_t>(config_.max_size)) {
      prepare_rebalance(*g, fmt::format("the group is over capacity (group.max.size={})", config_.max_size), c);
    }
  }
  group_log().info("loaded {} consumer groups with {} members and {} committed offsets", groups, members, offsets);
  schedule_retention_check();
}

void group_coordinator::stop() {
  if (stopped_.exchange(true)) return;
  {
    completions c;
    for (const auto& g : all_groups()) {
      std::lock_guard lock(g->mu);
      g->join_timer.cancel();
      g->sync_timer.cancel();
      for (auto& [id, slot] : g->pending_members) slot.cancel();
      for (auto& [id, m] : g->members()) {
        release_member(m, join_result::failed(id, errc::not_coordinator), errc::not_coordinator, c);
      }
    }
    std::lock_guard lock(retention_mu_);
    retention_timer_.cancel();
  }
  // Commits in flight are written and answered; nothing new is queued.
  store_->stop();
}

group_coordinator::locked_group group_coordinator::acquire(const std::string& id, bool create) {
  for (;;) {
    group_ptr g;
    {
      std::lock_guard lock(groups_mu_);
      auto it = groups_.find(id);
      if (it != groups_.end()) {
        g = it->second;
      } else if (create) {
        g = std::make_shared<group_metadata>(id, now());
        groups_.emplace(id, g);
      } else {
        return {};
      }
    }
    std::unique_lock lock(g->mu);
    if (!g->is(group_state::dead)) return {std::move(g), std::move(lock)};
    // Deleted between the lookup and the lock: look again.
  }
}

std::vector<group_coordinator::group_ptr> group_coordinator::all_groups() {
  std::lock_guard lock(groups_mu_);
  std::vector<group_ptr> out;
  out.reserve(groups_.size());
  for (const auto& [_, g] : groups_) out.push_back(g);
  return out;
}

void group_coordinator::remove_group(group_metadata& g) {
  g.transition_to(group_state::dead, now());
  g.join_timer.cancel();
  g.sync_timer.cancel();
  for (auto& [id, slot] : g.pending_members) slot.cancel();
  g.pending_members.clear();
  std::lock_guard lock(groups_mu_);
  auto it = groups_.find(g.id());
  if (it != groups_.end() && it->second.get() == &g) groups_.erase(it);
}

bool group_coordinator::remove_if_unused(group_metadata& g) {
  if (!g.is(group_state::empty) || g.has_offsets() || !g.pending_members.empty()) return false;
  remove_group(g);
  store_->delete_group(g.id(), [id = g.id()](std::error_code ec) {
    if (ec) group_log().error("group {}: cannot delete it from the group database: {}", id, ec.message());
  });
  return true;
}

std::string group_coordinator::new_member_id(const std::string& prefix) {
  // Kafka: client id (or group.instance.id) + "-" + a random UUID.
  thread_local std::mt19937_64 rng{std::random_device{}()};
  uint64_t hi = rng();
  uint64_t lo = rng();
  hi = (hi & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
  lo = (lo & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // IETF variant
  return fmt::format("{}-{:08x}-{:04x}-{:04x}-{:04x}-{:012x}", prefix, hi >> 32, (hi >> 16) & 0xffff, hi & 0xffff,
                     lo >> 48, lo & 0xffffffffffffULL);
}

timer_slot group_coordinator::arm(uint64_t id, int64_t delay_ms, std::function<void()> fn) {
  if (stopped_) return {};
  return {timers_.after(std::chrono::milliseconds(std::max<int64_t>(delay_ms, 0)), std::move(fn)), id};
}

void group_coordinator::persist(group_metadata& g) {
  store_->store_group(g.snapshot(), [id = g.id()](std::error_code ec) {
    if (ec) group_log().error("group {}: cannot write its metadata: {}", id, ec.message());
  });
}

// -- rebalance ---------------------------------------------------------------

void group_coordinator::maybe_prepare_rebalance(group_metadata& g, const std::string& reason, completions& c) {
  if (g.can_rebalance()) prepare_rebalance(g, reason, c);
}

void group_coordinator::prepare_rebalance(group_metadata& g, const std::string& reason, completions& c) {
  // Members waiting for their assignment must rejoin instead.
  if (g.is(group_state::completing_rebalance)) {
    for (auto& [_, m] : g.members()) m.assignment.clear();
    propagate_assignment(g, errc::rebalance_in_progress, c);
  }
  g.sync_timer.cancel();
  g.pending_sync.clear();
  const auto old_state = g.state();
  g.transition_to(group_state::preparing_rebalance, now());
  group_log().info("group {}: preparing to rebalance from {} (generation {}): {}", g.id(), state_name(old_state),
                   g.generation(), reason);
  if (old_state == group_state::empty) {
    // Kafka's InitialDelayedJoin: give the other members of a starting group
    // a moment to join before the first generation is formed. The phase
    // ends group.initial.rebalance.delay.ms after the last member arrived,
    // and no later than the rebalance timeout (max.poll.interval.ms) of the
    // member that started it. Kafka instead re-arms a whole delay when the
    // current one ends if anybody arrived during it, so members that
    // subscribe together (the second one a millisecond after the first)
    // wait two delays there; here they wait one.
    g.initial_join = true;
    g.initial_join_quiet_until_ms = now() + config_.initial_rebalance_delay_ms;
    g.initial_join_deadline_ms = now() + std::max(g.rebalance_timeout_ms(), config_.initial_rebalance_delay_ms);
    arm_join_timer(g, config_.initial_rebalance_delay_ms);
  } else {
    g.initial_join = false;
    arm_join_timer(g, g.rebalance_timeout_ms());
    try_complete_join(g, c);
  }
}

void group_coordinator::arm_join_timer(group_metadata& g, int32_t delay_ms) {
  g.join_timer.cancel();
  uint64_t id = next_timer_id();
  g.join_timer = arm(id, delay_ms, [this, weak = g.weak_from_this(), id] {
    if (auto locked = weak.lock()) on_join_timer(locked, id);
  });
}

void group_coordinator::note_initial_join_arrival(group_metadata& g) {
  if (!g.is(group_state::preparing_rebalance) || !g.initial_join) return;
  g.initial_join_quiet_until_ms =
      std::max(g.initial_join_quiet_until_ms, now() + int64_t{config_.initial_rebalance_delay_ms});
}

int64_t group_coordinator::initial_join_wait_ms(const group_metadata& g) const {
  const int64_t t = now();
  const int64_t quiet_end = std::min(g.initial_join_quiet_until_ms, g.initial_join_deadline_ms);
  if (t < quiet_end) return quiet_end - t;
  // A member just handed its id (MEMBER_ID_REQUIRED) is on its way back
  // with it: the first generation waits a little for it rather than forming
  // without it and rebalancing again as soon as it is in. That matters with
  // a delay shorter than the round trip (0): a generation formed without a
  // member that is already joining costs librdkafka 1-2 s, its minimum
  // interval between JoinGroups.
  int64_t hold = 0;
  for (const auto& [_, p] : g.pending_members) hold = std::max(hold, p.since_ms + config_.pending_member_grace_ms);
  hold = std::min(hold, g.initial_join_deadline_ms);
  return t < hold ? hold - t : 0;
}

void group_coordinator::try_complete_join(group_metadata& g, completions& c) {
  if (!g.is(group_state::preparing_rebalance)) return;
  if (g.initial_join) {
    // Its timer completes it: members that arrive, join with their id or
    // go move the timer to what is now left to wait (0 fires at once).
    arm_join_timer(g, static_cast<int32_t>(initial_join_wait_ms(g)));
    return;
  }
  if (g.all_members_joined()) complete_join(g, c);
}

void group_coordinator::on_join_timer(const group_ptr& gp, uint64_t timer_id) {
  completions c;
  std::lock_guard lock(gp->mu);
  auto& g = *gp;
  if (stopped_ || g.join_timer.id != timer_id || !g.is(group_state::preparing_rebalance)) return;
  g.join_timer = {};
  if (g.initial_join) {
    if (int64_t wait = initial_join_wait_ms(g); wait > 0) {
      group_log().debug("group {}: members are still arriving; the first generation waits {} ms more", g.id(), wait);
      arm_join_timer(g, static_cast<int32_t>(wait));
      return;
    }
  }
  complete_join(g, c);
}

void group_coordinator::complete_join(group_metadata& g, completions& c) {
  g.join_timer.cancel();
  g.initial_join = false;
  // Dynamic members that did not rejoin in time are gone; static members
  // stay until their session expires (Kafka's onCompleteJoin).
  std::vector<std::string> gone;
  for (const auto& [id, m] : g.members()) {
    if (!m.is_awaiting_join() && !m.is_static()) gone.push_back(id);
  }
  for (const auto& id : gone) {
    if (auto removed = g.remove(id)) {
      release_member(*removed, join_result::failed("", errc::unknown_member_id), errc::unknown_member_id, c);
    }
  }
  if (!gone.empty()) {
    group_log().info("group {}: removed {} member(s) that did not rejoin within the rebalance timeout: {}", g.id(),
                     gone.size(), fmt::join(gone, ", "));
  }
  if (!g.elect_joined_leader() && g.size() > 0) {
    // Only static members that have not rejoined are left: wait for them
    // (or for their sessions to expire).
    group_log().warn("group {}: no member rejoined within the rebalance timeout; waiting again", g.id());
    arm_join_timer(g, g.rebalance_timeout_ms());
    return;
  }
  g.init_next_generation(now());
  if (g.is(group_state::empty)) {
    group_log().info("group {} is now empty (generation {})", g.id(), g.generation());
    persist(g);
    return;
  }
  group_log().info("group {} rebalanced to generation {} with {} members (protocol {}, leader {})", g.id(),
                   g.generation(), g.size(), g.protocol_name().value_or(""), g.leader().value_or(""));
  auto all_members = g.current_member_metadata();
  for (auto& [id, m] : g.members()) {
    if (m.is_awaiting_join()) {
      auto result = current_generation(g, id, false);
      if (g.is_leader(id)) result.members = all_members;
      c.add([cb = std::move(m.awaiting_join), result = std::move(result)] { cb(result); });
      m.awaiting_join = nullptr;
    }
    schedule_heartbeat(g, m, m.session_timeout_ms);
    m.is_new = false;
    g.pending_sync.insert(id);
  }
  // Kafka's DelayedSync: members that send no SyncGroup within the rebalance
  // timeout are removed.
  uint64_t id = next_timer_id();
  g.sync_timer = arm(id, g.rebalance_timeout_ms(),
                     [this, weak = g.weak_from_this(), id, generation = g.generation()] {
                       if (auto locked = weak.lock()) on_sync_timer(locked, id, generation);
                     });
}

void group_coordinator::sync_received(group_metadata& g, const std::string& member_id) {
  g.pending_sync.erase(member_id);
  if (g.pending_sync.empty()) g.sync_timer.cancel();
}

void group_coordinator::on_sync_timer(const group_ptr& gp, uint64_t timer_id, int32_t generation) {
  completions c;
  std::lock_guard lock(gp->mu);
  auto& g = *gp;
  if (stopped_ || g.sync_timer.id != timer_id) return;
  g.sync_timer = {};
  if (g.generation() != generation || g.pending_sync.empty()) return;
  if (!g.is(group_state::completing_rebalance) && !g.is(group_state::stable)) return;
  std::vector<std::string> missing(g.pending_sync.begin(), g.pending_sync.end());
  for (const auto& id : missing) {
    if (auto removed = g.remove(id)) {
      release_member(*removed, join_result::failed("", errc::unknown_member_id), errc::unknown_member_id, c);
    }
  }
  group_log().info("group {}: removed {} member(s) that sent no SyncGroup within the rebalance timeout: {}", g.id(),
                   missing.size(), fmt::join(missing, ", "));
  prepare_rebalance(g, "members did not sync in time", c);
  persist(g);
}

void group_coordinator::schedule_heartbeat(group_metadata& g, member_metadata& m, int32_t timeout_ms) {
  m.heartbeat.cancel();
  uint64_t id = next_timer_id();
  m.heartbeat = arm(id, timeout_ms, [this, weak = g.weak_from_this(), member_id = m.member_id, id] {
    if (auto locked = weak.lock()) on_heartbeat_timer(locked, member_id, id);
  });
}

void group_coordinator::on_heartbeat_timer(const group_ptr& gp, const std::string& member_id, uint64_t timer_id) {
  completions c;
  std::lock_guard lock(gp->mu);
  auto& g = *gp;
  if (stopped_ || g.is(group_state::dead) || !g.has(member_id)) return;
  auto& m = g.get(member_id);
  if (m.heartbeat.id != timer_id) return;
  m.heartbeat = {};
  // A known member waiting in a join or sync phase is covered by the
  // rebalance timeout instead (Kafka's hasSatisfiedHeartbeat); its session
  // timer restarts when the phase ends.
  if (!m.is_new && (m.is_awaiting_join() || m.is_awaiting_sync())) return;
  const int32_t timeout = m.is_new ? config_.new_member_join_timeout_ms : m.session_timeout_ms;
  group_log().info("group {}: member {} sent no heartbeat within {} ms; removing it", g.id(), member_id, timeout);
  remove_member_and_update_group(g, member_id, fmt::format("member {} timed out", member_id), c);
}

void group_coordinator::add_pending_member(group_metadata& g, const std::string& member_id, int32_t timeout_ms) {
  auto& pending = g.pending_members[member_id];
  pending.cancel();
  pending.since_ms = now();
  uint64_t id = next_timer_id();
  pending.expiry = arm(id, timeout_ms, [this, weak = g.weak_from_this(), member_id, id] {
    if (auto locked = weak.lock()) on_pending_member_timer(locked, member_id, id);
  });
  note_initial_join_arrival(g);
}

void group_coordinator::on_pending_member_timer(const group_ptr& gp, const std::string& member_id,
                                                uint64_t timer_id) {
  completions c;
  std::lock_guard lock(gp->mu);
  auto& g = *gp;
  auto it = g.pending_members.find(member_id);
  if (stopped_ || it == g.pending_members.end() || it->second.expiry.id != timer_id) return;
  group_log().info("group {}: pending member {} did not rejoin within its session timeout; forgetting it", g.id(),
                   member_id);
  remove_pending_member_and_update_group(g, member_id, c);
}

void group_coordinator::propagate_assignment(group_metadata& g, std::error_code error, completions& c) {
  for (auto& [id, m] : g.members()) {
    if (!m.is_awaiting_sync()) continue;
    sync_result result;
    result.error = error;
    if (!error) {
      result.protocol_type = g.protocol_type();
      result.protocol_name = g.protocol_name();
      result.assignment = m.assignment;
    }
    c.add([cb = std::move(m.awaiting_sync), result = std::move(result)] { cb(result); });
    m.awaiting_sync = nullptr;
    // The session restarts once the member has its answer.
    schedule_heartbeat(g, m, m.session_timeout_ms);
  }
}

void group_coordinator::release_member(member_metadata& m, const join_result& join_answer,
                                       std::error_code sync_error, completions& c) {
  if (m.awaiting_join) {
    c.add([cb = std::move(m.awaiting_join), join_answer] { cb(join_answer); });
    m.awaiting_join = nullptr;
  }
  if (m.awaiting_sync) {
    sync_result result;
    result.error = sync_error;
    c.add([cb = std::move(m.awaiting_sync), result = std::move(result)] { cb(result); });
    m.awaiting_sync = nullptr;
  }
  m.heartbeat.cancel();
}

void group_coordinator::remove_member_and_update_group(group_metadata& g, const std::string& member_id,
                                                       const std::string& reason, completions& c) {
  auto removed = g.remove(member_id);
  if (!removed) return;
  // A member may go while its JoinGroup is parked: UNKNOWN_MEMBER_ID tells a
  // live client to join again.
  release_member(*removed, join_result::failed("", errc::unknown_member_id), errc::unknown_member_id, c);
  switch (g.state()) {
    case group_state::stable:
    case group_state::completing_rebalance:
      maybe_prepare_rebalance(g, reason, c);
      break;
    case group_state::preparing_rebalance:
      try_complete_join(g, c);
      break;
    case group_state::empty:
    case group_state::dead:
      break;
  }
  persist(g);
}

void group_coordinator::remove_pending_member_and_update_group(group_metadata& g, const std::string& member_id,
                                                               completions& c) {
  auto it = g.pending_members.find(member_id);
  if (it == g.pending_members.end()) return;
  it->second.cancel();
  g.pending_members.erase(it);
  if (g.is(group_state::preparing_rebalance)) try_complete_join(g, c);
}

void group_coordinator::schedule_retention_check() {
  std::lock_guard lock(retention_mu_);
  retention_timer_.cancel();
  uint64_t id = next_timer_id();
  retention_timer_ = arm(id, config_.offsets_retention_check_interval_ms, [this, id] {
    {
      std::lock_guard relock(retention_mu_);
      if (stopped_ || retention_timer_.id != id) return;
      retention_timer_ = {};
    }
    expire_offsets();
    schedule_retention_check();
  });
}

}  // namespace geomirror::group

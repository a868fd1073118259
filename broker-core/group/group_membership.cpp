// JoinGroup, SyncGroup, Heartbeat and LeaveGroup, as Kafka's classic
// GroupCoordinator answers them (handleJoinGroup, doNewMemberJoinGroup,
// doCurrentMemberJoinGroup, handleSyncGroup, handleHeartbeat,
// handleLeaveGroup).

#include "broker-core/base/invariant.h"
#include "broker-core/group/errc.h"
#include "broker-core/group/group_coordinator.h"
#include "broker-core/group/logger.h"

#include <fmt/format.h>

namespace geomirror::group {

join_result group_coordinator::current_generation(group_metadata& g, const std::string& member_id,
                                                  bool with_members) const {
  join_result r;
  r.member_id = member_id;
  r.generation_id = g.generation();
  r.protocol_type = g.protocol_type();
  r.protocol_name = g.protocol_name();
  r.leader_id = g.leader().value_or("");
  if (with_members) r.members = g.current_member_metadata();
  return r;
}

std::error_code group_coordinator::validate_current_member(group_metadata& g, const std::string& member_id,
                                                           const std::optional<std::string>& group_instance_id,
                                                           std::string_view operation) const {
  // With a group.instance.id, it must be known and mapped to this member id;
  // a different id means a newer instance took over (KIP-345 fencing).
  if (group_instance_id) {
    auto current = g.static_member_id(*group_instance_id);
    if (!current) return errc::unknown_member_id;
    if (*current != member_id) {
      group_log().info("group {}: {} from member {} of static member {} is fenced: member {} replaced it", g.id(),
                       operation, member_id, *group_instance_id, *current);
      return errc::fenced_instance_id;
    }
  }
  if (!g.has(member_id)) return errc::unknown_member_id;
  return {};
}

bool group_coordinator::accept_joining_member(group_metadata& g, const std::string& member_id) const {
  const auto max = static_cast<size_t>(config_.max_size);
  switch (g.state()) {
    case group_state::empty:
    case group_state::dead:
      return true;
    case group_state::preparing_rebalance:
      // Members already rejoined stay; others while fewer than the maximum
      // have rejoined (so the last ones in are the ones turned away).
      return (g.has(member_id) && g.get(member_id).is_awaiting_join()) || g.awaiting_join_count() < max;
    case group_state::completing_rebalance:
    case group_state::stable:
      return g.has(member_id) || g.size() < max;
  }
  return false;
}

void group_coordinator::join_group(join_request req, join_callback done) {
  completions c;
  if (req.group_id.empty()) {
    done(join_result::failed(req.member_id, errc::invalid_group_id));
    return;
  }
  if (stopped_) {
    done(join_result::failed(req.member_id, errc::not_coordinator));
    return;
  }
  if (req.session_timeout_ms < config_.min_session_timeout_ms ||
      req.session_timeout_ms > config_.max_session_timeout_ms) {
    group_log().debug("group {}: join refused, session timeout {} ms is outside {}..{} ms", req.group_id,
                      req.session_timeout_ms, config_.min_session_timeout_ms, config_.max_session_timeout_ms);
    done(join_result::failed(req.member_id, errc::invalid_session_timeout));
    return;
  }
  const bool new_member = req.member_id.empty();
  auto g = acquire(req.group_id, new_member);
  if (!g) {
    done(join_result::failed(req.member_id, errc::unknown_member_id));
    return;
  }
  group_log().debug("group {}: JoinGroup from member '{}' (instance {}, client {} at {}) in state {}: {}",
                    req.group_id, req.member_id, req.group_instance_id.value_or("-"), req.client_id,
                    req.client_host, state_name(g->state()), req.reason.empty() ? "no reason given" : req.reason);
  if (!accept_joining_member(*g, req.member_id)) {
    if (auto removed = g->remove(req.member_id)) {
      release_member(*removed, join_result::failed("", errc::group_max_size_reached), errc::group_max_size_reached,
                     c);
      persist(*g);
    }
    group_log().info("group {}: member '{}' turned away, the group has reached group.max.size={}", req.group_id,
                     req.member_id, config_.max_size);
    c.add([done = std::move(done)] { done(join_result::failed("", errc::group_max_size_reached)); });
  } else if (new_member) {
    join_new_member(*g, req, done, c);
  } else {
    join_current_member(*g, req, done, c);
  }
  if (g->is(group_state::preparing_rebalance)) try_complete_join(*g, c);
}

void group_coordinator::join_new_member(group_metadata& g, join_request& req, join_callback& done, completions& c) {
  if (!g.supports_protocols(req.protocol_type, req.protocols)) {
    c.add([done = std::move(done)] { done(join_result::failed("", errc::inconsistent_group_protocol)); });
    return;
  }
  std::string member_id = new_member_id(req.group_instance_id ? *req.group_instance_id : req.client_id);
  if (req.group_instance_id) {
    if (auto old_id = g.static_member_id(*req.group_instance_id)) {
      group_log().info("group {}: static member {} rejoins in state {}; member {} replaces {}", g.id(),
                       *req.group_instance_id, state_name(g.state()), member_id, *old_id);
      update_static_member_and_rebalance(g.shared_from_this(), *old_id, member_id, req, std::move(done), c);
    } else {
      add_member_and_rebalance(g, req, member_id, std::move(done), c);
    }
  } else if (req.require_known_member_id) {
    // KIP-394: the client gets its id first and joins again with it, so a
    // join whose response is lost does not leave a stray member behind.
    group_log().debug("group {}: new member gets id {} and must join again with it", g.id(), member_id);
    add_pending_member(g, member_id, req.session_timeout_ms);
    c.add([done = std::move(done), member_id] { done(join_result::failed(member_id, errc::member_id_required)); });
  } else {
    add_member_and_rebalance(g, req, member_id, std::move(done), c);
  }
}

void group_coordinator::join_current_member(group_metadata& g, join_request& req, join_callback& done,
                                            completions& c) {
  const std::string& member_id = req.member_id;
  auto answer = [&](join_result r) { c.add([done = std::move(done), r = std::move(r)] { done(r); }); };
  if (!g.supports_protocols(req.protocol_type, req.protocols)) {
    answer(join_result::failed(member_id, errc::inconsistent_group_protocol));
    return;
  }
  if (g.pending_members.count(member_id)) {
    // Pending ids are only handed to dynamic members; Kafka fails a static
    // one here, and the client starts over with a fresh join.
    if (req.group_instance_id) {
      answer(join_result::failed(member_id, errc::unknown_member_id));
      return;
    }
    g.pending_members.at(member_id).cancel();
    add_member_and_rebalance(g, req, member_id, std::move(done), c);
    return;
  }
  if (auto error = validate_current_member(g, member_id, req.group_instance_id, "JoinGroup")) {
    answer(join_result::failed(member_id, error));
    return;
  }
  auto& m = g.get(member_id);
  switch (g.state()) {
    case group_state::preparing_rebalance:
      update_member_and_rebalance(g, m, req, std::move(done), fmt::format("member {} rejoined", member_id), c);
      return;
    case group_state::completing_rebalance:
      if (m.matches(req.protocols)) {
        // The member lost its JoinGroup response: send it again.
        answer(current_generation(g, member_id, g.is_leader(member_id)));
      } else {
        update_member_and_rebalance(g, m, req, std::move(done),
                                    fmt::format("member {} changed its protocols", member_id), c);
      }
      return;
    case group_state::stable:
      if (g.is_leader(member_id)) {
        // The leader rejoins to make the group reassign (topic metadata
        // changed, or cooperative-sticky's second round).
        update_member_and_rebalance(g, m, req, std::move(done), fmt::format("leader {} rejoined", member_id), c);
      } else if (!m.matches(req.protocols)) {
        update_member_and_rebalance(g, m, req, std::move(done),
                                    fmt::format("member {} changed its protocols", member_id), c);
      } else {
        // Nothing changed: the current generation, for a SyncGroup that
        // returns the current assignment.
        answer(current_generation(g, member_id, false));
      }
      return;
    case group_state::empty:
    case group_state::dead:
      answer(join_result::failed(member_id, errc::unknown_member_id));
      return;
  }
}

void group_coordinator::add_member_and_rebalance(group_metadata& g, join_request& req, const std::string& member_id,
                                                 join_callback done, completions& c) {
  member_metadata m;
  m.member_id = member_id;
  m.group_instance_id = req.group_instance_id;
  m.client_id = req.client_id;
  m.client_host = req.client_host;
  m.rebalance_timeout_ms = req.rebalance_timeout_ms;
  m.session_timeout_ms = req.session_timeout_ms;
  m.protocol_type = req.protocol_type;
  m.protocols = std::move(req.protocols);
  m.awaiting_join = std::move(done);
  m.is_new = true;
  g.add(std::move(m));
  // More members arriving during the first join phase extend its delay.
  note_initial_join_arrival(g);
  // A new member cannot heartbeat while its JoinGroup is parked: it gets the
  // new-member join timeout instead of its session timeout.
  schedule_heartbeat(g, g.get(member_id), config_.new_member_join_timeout_ms);
  maybe_prepare_rebalance(
      g, fmt::format("new member {} joined (instance {})", member_id, req.group_instance_id.value_or("-")), c);
}

void group_coordinator::update_member_and_rebalance(group_metadata& g, member_metadata& m, join_request& req,
                                                    join_callback done, const std::string& reason, completions& c) {
  if (m.awaiting_join) {
    // The member joined again while its earlier JoinGroup was parked (that
    // request timed out on the client): answer the old one so it is not lost.
    c.add([cb = std::move(m.awaiting_join)] { cb(join_result::failed("", errc::rebalance_in_progress)); });
  }
  m.protocols = std::move(req.protocols);
  m.rebalance_timeout_ms = req.rebalance_timeout_ms;
  m.session_timeout_ms = req.session_timeout_ms;
  m.awaiting_join = std::move(done);
  maybe_prepare_rebalance(g, reason, c);
}

void group_coordinator::update_static_member_and_rebalance(const group_ptr& gp, const std::string& old_id,
                                                           const std::string& new_id, join_request& req,
                                                           join_callback done, completions& c) {
  auto& g = *gp;
  const std::string old_leader = g.leader().value_or("");
  // Fence the previous instance: whatever it parked gets FENCED_INSTANCE_ID.
  auto& old = g.get(old_id);
  release_member(old, join_result::failed(old_id, errc::fenced_instance_id), errc::fenced_instance_id, c);
  auto& m = g.replace_static_member(*req.group_instance_id, old_id, new_id);
  schedule_heartbeat(g, m, m.session_timeout_ms);
  auto old_protocols = m.protocols;
  m.protocols = std::move(req.protocols);
  m.rebalance_timeout_ms = req.rebalance_timeout_ms;
  m.session_timeout_ms = req.session_timeout_ms;
  m.awaiting_join = std::move(done);

  switch (g.state()) {
    case group_state::stable: {
      if (g.protocol_name() != g.select_protocol()) {
        maybe_prepare_rebalance(g, fmt::format("static member {} rejoined with protocols that change the group's",
                                               *req.group_instance_id),
                                c);
        return;
      }
      // KIP-345: a known static member coming back changes nothing for the
      // others; record its new member id, then hand it the current generation.
      const int32_t generation = g.generation();
      const bool skip_assignment = req.supports_skip_assignment;
      store_->store_group(g.snapshot(), [this, weak = g.weak_from_this(), old_id, new_id, old_leader, generation,
                                         skip_assignment, old_protocols,
                                         instance = *req.group_instance_id](std::error_code ec) {
        auto gp = weak.lock();
        if (!gp) return;
        completions c;
        std::lock_guard lock(gp->mu);
        auto& g = *gp;
        // A rebalance that started meanwhile answers the member itself.
        if (!g.is(group_state::stable) || g.generation() != generation || !g.has(new_id)) return;
        auto& m = g.get(new_id);
        if (!m.is_awaiting_join()) return;
        join_result r;
        if (ec) {
          group_log().warn("group {}: cannot record static member {} as {}: {}; keeping {}", g.id(), instance, new_id,
                           ec.message(), old_id);
          r = current_generation(g, "", false);
          r.error = ec;
          r.leader_id = old_leader;
          auto cb = std::move(m.awaiting_join);
          m.awaiting_join = nullptr;
          m.protocols = old_protocols;
          auto& back = g.replace_static_member(instance, new_id, old_id);
          schedule_heartbeat(g, back, back.session_timeout_ms);
          c.add([cb = std::move(cb), r = std::move(r)] { cb(r); });
          return;
        }
        if (skip_assignment) {
          // JoinGroup v9: the leader learns it leads but must not reassign.
          bool leads = g.is_leader(new_id);
          r = current_generation(g, new_id, leads);
          r.skip_assignment = leads;
        } else {
          // Older clients get the old leader id, so a returning leader does
          // not compute an assignment a stable group would ignore.
          r = current_generation(g, new_id, false);
          r.leader_id = old_leader;
        }
        c.add([cb = std::move(m.awaiting_join), r = std::move(r)] { cb(r); });
        m.awaiting_join = nullptr;
      });
      return;
    }
    case group_state::completing_rebalance:
      // The leader may already be assigning to the old member id: start over.
      prepare_rebalance(g, fmt::format("static member {} rejoined during the sync phase", *req.group_instance_id), c);
      return;
    case group_state::preparing_rebalance:
      return;  // answered when the join phase completes
    case group_state::empty:
    case group_state::dead:
      break;
  }
  GEOMIRROR_INVARIANT(false, "group {}: static member {} known while the group is {}", g.id(),
                      *req.group_instance_id, state_name(g.state()));
}

void group_coordinator::sync_group(sync_request req, sync_callback done) {
  completions c;
  auto fail = [&](std::error_code ec) {
    sync_result r;
    r.error = ec;
    c.add([done = std::move(done), r] { done(r); });
  };
  if (req.group_id.empty()) return fail(errc::invalid_group_id);
  if (stopped_) return fail(errc::not_coordinator);
  auto g = acquire(req.group_id, false);
  if (!g) return fail(errc::unknown_member_id);
  group_log().debug("group {}: SyncGroup from member {} for generation {} in state {} ({} assignments)",
                    req.group_id, req.member_id, req.generation_id, state_name(g->state()), req.assignments.size());
  if (auto error = validate_current_member(*g, req.member_id, req.group_instance_id, "SyncGroup")) return fail(error);
  if (req.generation_id != g->generation()) return fail(errc::illegal_generation);
  if ((req.protocol_type && g->protocol_type() != req.protocol_type) ||
      (req.protocol_name && g->protocol_name() != req.protocol_name)) {
    return fail(errc::inconsistent_group_protocol);
  }
  switch (g->state()) {
    case group_state::empty:
    case group_state::dead:
      return fail(errc::unknown_member_id);
    case group_state::preparing_rebalance:
      return fail(errc::rebalance_in_progress);
    case group_state::completing_rebalance: {
      auto& m = g->get(req.member_id);
      if (m.awaiting_sync) {
        c.add([cb = std::move(m.awaiting_sync)] {
          sync_result r;
          r.error = errc::rebalance_in_progress;
          cb(r);
        });
      }
      m.awaiting_sync = std::move(done);
      sync_received(*g, req.member_id);
      if (!g->is_leader(req.member_id)) return;  // parked until the leader's assignment is stored
      std::map<std::string, protocol::bytes> assignment;
      for (auto& [id, bytes] : req.assignments) {
        if (g->has(id)) assignment[id] = std::move(bytes);
      }
      std::vector<std::string> missing;
      for (const auto& [id, _] : g->members()) {
        if (!assignment.count(id)) {
          missing.push_back(id);
          assignment[id] = {};
        }
      }
      group_log().debug("group {}: leader {} assigned generation {} ({} members, {} static)", g->id(), req.member_id,
                       g->generation(), g->size(), g->static_member_count());
      if (!missing.empty()) {
        group_log().warn("group {}: no assignment for {} member(s) of generation {}; they get an empty one", g->id(),
                         missing.size(), g->generation());
      }
      // Kafka's storeGroup: the generation becomes Stable once it is durable.
      auto snapshot = g->snapshot();
      snapshot.state = group_state::stable;
      for (auto& m : snapshot.members) m.assignment = assignment.at(m.member_id);
      store_->store_group(std::move(snapshot), [this, weak = g->weak_from_this(), generation = g->generation(),
                                                assignment = std::move(assignment)](std::error_code ec) mutable {
        auto gp = weak.lock();
        if (!gp) return;
        completions c;
        std::lock_guard lock(gp->mu);
        auto& g = *gp;
        if (!g.is(group_state::completing_rebalance) || g.generation() != generation) return;
        if (ec) {
          group_log().error("group {}: cannot store generation {}: {}; rebalancing again", g.id(), generation,
                            ec.message());
          for (auto& [_, m] : g.members()) m.assignment.clear();
          propagate_assignment(g, ec, c);
          maybe_prepare_rebalance(g, "the assignment could not be stored", c);
          return;
        }
        for (auto& [id, m] : g.members()) m.assignment = std::move(assignment[id]);
        g.transition_to(group_state::stable, now());
        propagate_assignment(g, {}, c);
        group_log().info("group {} is stable at generation {} with {} members", g.id(), generation, g.size());
      });
      return;
    }
    case group_state::stable: {
      sync_received(*g, req.member_id);
      auto& m = g->get(req.member_id);
      sync_result r;
      r.protocol_type = g->protocol_type();
      r.protocol_name = g->protocol_name();
      r.assignment = m.assignment;
      schedule_heartbeat(*g, m, m.session_timeout_ms);
      c.add([done = std::move(done), r = std::move(r)] { done(r); });
      return;
    }
  }
}

std::error_code group_coordinator::heartbeat(const std::string& group_id, const std::string& member_id,
                                             const std::optional<std::string>& group_instance_id,
                                             int32_t generation_id) {
  if (group_id.empty()) return errc::invalid_group_id;
  if (stopped_) return errc::not_coordinator;
  auto g = acquire(group_id, false);
  if (!g) return errc::unknown_member_id;
  if (auto error = validate_current_member(*g, member_id, group_instance_id, "Heartbeat")) return error;
  if (generation_id != g->generation()) return errc::illegal_generation;
  switch (g->state()) {
    case group_state::empty:
    case group_state::dead:
      return errc::unknown_member_id;
    case group_state::completing_rebalance:
    case group_state::stable: {
      auto& m = g->get(member_id);
      schedule_heartbeat(*g, m, m.session_timeout_ms);
      return {};
    }
    case group_state::preparing_rebalance: {
      auto& m = g->get(member_id);
      schedule_heartbeat(*g, m, m.session_timeout_ms);
      return errc::rebalance_in_progress;
    }
  }
  return {};
}

leave_result group_coordinator::leave_group(const std::string& group_id, const std::vector<member_identity>& members) {
  completions c;
  leave_result result;
  if (group_id.empty()) {
    result.error = errc::invalid_group_id;
    return result;
  }
  if (stopped_) {
    result.error = errc::not_coordinator;
    return result;
  }
  auto g = acquire(group_id, false);
  if (!g) {
    result.members.assign(members.size(), errc::unknown_member_id);
    return result;
  }
  auto leave = [&](const std::string& id, const std::string& reason) {
    group_log().info("group {}: member {} left ({})", g->id(), id, reason.empty() ? "no reason given" : reason);
    remove_member_and_update_group(*g, id, fmt::format("member {} left", id), c);
  };
  for (const auto& who : members) {
    std::error_code ec;
    if (who.member_id.empty()) {
      // KIP-345 admin removal: a static member named by its instance id.
      auto id = who.group_instance_id ? g->static_member_id(*who.group_instance_id) : std::nullopt;
      if (id) leave(*id, who.reason);
      else ec = errc::unknown_member_id;
    } else if (g->pending_members.count(who.member_id)) {
      group_log().info("group {}: pending member {} left", g->id(), who.member_id);
      remove_pending_member_and_update_group(*g, who.member_id, c);
    } else {
      ec = validate_current_member(*g, who.member_id, who.group_instance_id, "LeaveGroup");
      if (!ec) leave(who.member_id, who.reason);
    }
    result.members.push_back(ec);
  }
  return result;
}

}  // namespace geomirror::group

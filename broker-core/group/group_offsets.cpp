// Committed offsets and the admin calls on groups, as Kafka's classic
// coordinator answers them (handleCommitOffsets, handleFetchOffsets,
// handleDeleteOffsets, handleListGroups, handleDescribeGroup,
// handleDeleteGroups, handleDeletedPartitions and the offsets retention task).

#include "broker-core/group/errc.h"
#include "broker-core/group/group_coordinator.h"
#include "broker-core/group/logger.h"

#include <fmt/format.h>

#include <algorithm>

namespace geomirror::group {

bool group_coordinator::topic_partition_exists(const topic_partition& tp) const {
  return tp.partition >= 0 && tp.partition < topic_partitions_(tp.topic);
}

std::error_code group_coordinator::validate_offset_commit(group_metadata& g, const offset_commit_request& req) const {
  if (req.generation_id >= 0 || !req.member_id.empty() || req.group_instance_id) {
    if (auto error = validate_current_member(g, req.member_id, req.group_instance_id, "OffsetCommit")) return error;
    if (req.generation_id != g.generation()) return errc::illegal_generation;
    return {};
  }
  // A commit from outside group management: only while nobody is a member.
  if (!g.is(group_state::empty)) return errc::unknown_member_id;
  return {};
}

void group_coordinator::commit_offsets(offset_commit_request req, commit_callback done) {
  completions c;
  std::vector<std::error_code> results(req.offsets.size());
  auto fail_all = [&](std::error_code ec) {
    for (size_t i = 0; i < req.offsets.size(); ++i) {
      results[i] = topic_partition_exists(req.offsets[i].first) ? ec : errc::unknown_topic_or_partition;
    }
    c.add([done = std::move(done), results = std::move(results)] { done(results); });
  };
  if (stopped_) return fail_all(errc::not_coordinator);
  // As Kafka's KafkaApis: with no existing partition to commit, the group is
  // not even looked at (nor created).
  if (std::none_of(req.offsets.begin(), req.offsets.end(),
                   [this](const auto& o) { return topic_partition_exists(o.first); })) {
    return fail_all(errc::unknown_topic_or_partition);
  }
  auto g = acquire(req.group_id, false);
  if (!g) {
    // No such group: a member of a group we do not know is from an older
    // generation (OffsetCommit before v9 says ILLEGAL_GENERATION, v9
    // GROUP_ID_NOT_FOUND); a commit outside group management creates it.
    if (req.generation_id >= 0) return fail_all(errc::group_id_not_found);
    if (!req.member_id.empty() || req.group_instance_id) return fail_all(errc::unknown_member_id);
    g = acquire(req.group_id, true);
  }
  if (auto error = validate_offset_commit(*g, req)) return fail_all(error);
  switch (g->state()) {
    case group_state::completing_rebalance:
      // The member has its new generation but not yet its assignment.
      return fail_all(errc::rebalance_in_progress);
    case group_state::stable:
    case group_state::preparing_rebalance: {
      // Commits count as liveness, as heartbeats do.
      auto& m = g->get(req.member_id);
      schedule_heartbeat(*g, m, m.session_timeout_ms);
      break;
    }
    case group_state::empty:
    case group_state::dead:
      break;
  }
  store_offsets(g.group, req, std::move(results), std::move(done), c);
}

void group_coordinator::store_offsets(const group_ptr& gp, offset_commit_request& req,
                                      std::vector<std::error_code> results, commit_callback done, completions& c) {
  auto& g = *gp;
  const int64_t t = now();
  // Which request entries are written, with their sequence numbers.
  std::vector<std::pair<size_t, uint64_t>> written;
  std::vector<std::pair<topic_partition, committed_offset>> batch;
  for (size_t i = 0; i < req.offsets.size(); ++i) {
    auto& [tp, value] = req.offsets[i];
    if (!topic_partition_exists(tp)) {
      results[i] = errc::unknown_topic_or_partition;
      continue;
    }
    if (value.metadata.size() > static_cast<size_t>(config_.offset_metadata_max_bytes)) {
      results[i] = errc::offset_metadata_too_large;
      continue;
    }
    if (value.commit_timestamp_ms == -1) value.commit_timestamp_ms = t;
    if (req.retention_time_ms != -1) value.expire_timestamp_ms = t + req.retention_time_ms;
    written.emplace_back(i, g.begin_commit(tp));
    batch.emplace_back(tp, value);
  }
  group_log().debug("group {}: committing {} of {} offsets (member '{}', generation {})", g.id(), batch.size(),
                    req.offsets.size(), req.member_id, req.generation_id);
  if (batch.empty()) {
    c.add([done = std::move(done), results = std::move(results)] { done(results); });
    return;
  }
  // Answered once durable; the commit becomes visible to OffsetFetch then.
  store_->store_offsets(g.id(), batch,
                        [weak = g.weak_from_this(), written = std::move(written), batch,
                         results = std::move(results), done = std::move(done)](std::error_code ec) mutable {
                          if (auto gp = weak.lock()) {
                            std::lock_guard lock(gp->mu);
                            for (size_t k = 0; k < written.size(); ++k) {
                              gp->end_commit(batch[k].first, written[k].second, ec ? nullptr : &batch[k].second);
                            }
                          }
                          for (const auto& [i, _] : written) results[i] = ec;
                          done(std::move(results));
                        });
}

std::vector<fetched_offset> group_coordinator::fetch_offsets(
    const std::string& group_id, const std::optional<std::vector<topic_partition>>& partitions,
    bool require_stable) {
  std::vector<fetched_offset> out;
  auto g = acquire(group_id, false);
  if (!partitions) {
    if (!g) return out;
    for (const auto& [tp, value] : g->offsets) out.push_back({tp, value, {}});
    return out;
  }
  for (const auto& tp : *partitions) {
    fetched_offset f{tp, {}, {}};
    if (g) {
      if (require_stable && g->has_pending_commit(tp)) {
        // KIP-447: a commit of this partition is being written; the client
        // asks again rather than read an offset about to change.
        f.error = errc::unstable_offset_commit;
      } else if (auto it = g->offsets.find(tp); it != g->offsets.end()) {
        f.value = it->second;
      }
    }
    out.push_back(std::move(f));
  }
  return out;
}

void group_coordinator::delete_offsets(const std::string& group_id, const std::vector<topic_partition>& partitions,
                                       offset_delete_callback done) {
  completions c;
  offset_delete_result result;
  auto fail = [&](std::error_code ec) {
    result.error = ec;
    c.add([done = std::move(done), result] { done(result); });
  };
  if (group_id.empty()) return fail(errc::invalid_group_id);
  if (stopped_) return fail(errc::not_coordinator);
  auto g = acquire(group_id, false);
  if (!g) return fail(errc::group_id_not_found);
  const bool empty = g->is(group_state::empty);
  if (!empty && !g->is_consumer_group()) return fail(errc::non_empty_group);

  result.partitions.resize(partitions.size());
  std::vector<topic_partition> eligible;
  std::vector<size_t> eligible_at;
  for (size_t i = 0; i < partitions.size(); ++i) {
    const auto& tp = partitions[i];
    if (topic_partitions_(tp.topic) < 0) {
      result.partitions[i] = errc::unknown_topic_or_partition;
    } else if (!empty && g->is_subscribed_to(tp.topic)) {
      result.partitions[i] = errc::group_subscribed_to_topic;
    } else {
      eligible.push_back(tp);
      eligible_at.push_back(i);
    }
  }
  auto removed = g->remove_offsets(eligible);
  group_log().info("group {}: deleted {} committed offset(s) on request", g->id(), removed.size());
  // Answered once the deletion is durable.
  auto finish = [result = std::move(result), eligible_at, done = std::move(done)](std::error_code ec) mutable {
    for (size_t i : eligible_at) result.partitions[i] = ec;
    done(std::move(result));
  };
  if (remove_if_unused(*g)) {
    group_log().info("group {} deleted: no members and no committed offsets left", group_id);
    store_->delete_group(group_id, std::move(finish));
  } else {
    store_->delete_offsets(group_id, eligible, std::move(finish));
  }
}

std::vector<group_overview> group_coordinator::list_groups() {
  std::vector<group_overview> out;
  for (const auto& g : all_groups()) {
    std::lock_guard lock(g->mu);
    if (g->is(group_state::dead)) continue;
    out.push_back({g->id(), g->protocol_type().value_or(""), g->state()});
  }
  return out;
}

group_description group_coordinator::describe_group(const std::string& group_id) {
  group_description d;
  auto g = acquire(group_id, false);
  if (!g) return d;
  d.state = g->state();
  d.protocol_type = g->protocol_type().value_or("");
  // Member metadata and assignments are only meaningful while Stable.
  const bool stable = g->is(group_state::stable);
  if (stable) d.protocol_name = g->protocol_name().value_or("");
  for (const auto& [id, m] : g->members()) {
    member_description md{id, m.group_instance_id, m.client_id, m.client_host, {}, {}};
    if (stable) {
      if (const auto* metadata = m.metadata_for(d.protocol_name)) md.metadata = *metadata;
      md.assignment = m.assignment;
    }
    d.members.push_back(std::move(md));
  }
  return d;
}

void group_coordinator::delete_groups(const std::vector<std::string>& group_ids, delete_groups_callback done) {
  // Answered once every deletion is durable; the store completes its writes
  // in order, so the last one queued finishes last.
  struct pending {
    std::vector<std::error_code> results;
    delete_groups_callback done;
  };
  auto state = std::make_shared<pending>(pending{std::vector<std::error_code>(group_ids.size()), std::move(done)});
  std::vector<size_t> deleted;
  for (size_t i = 0; i < group_ids.size(); ++i) {
    auto g = acquire(group_ids[i], false);
    if (stopped_) {
      state->results[i] = errc::not_coordinator;
    } else if (!g) {
      state->results[i] = errc::group_id_not_found;
    } else if (!g->is(group_state::empty)) {
      state->results[i] = errc::non_empty_group;
    } else {
      size_t removed = g->remove_all_offsets();
      remove_group(*g);
      group_log().info("group {} deleted on request with {} committed offset(s)", group_ids[i], removed);
      deleted.push_back(i);
    }
  }
  if (deleted.empty()) {
    state->done(std::move(state->results));
    return;
  }
  for (size_t k = 0; k < deleted.size(); ++k) {
    const bool last = k + 1 == deleted.size();
    store_->delete_group(group_ids[deleted[k]], [state, i = deleted[k], last](std::error_code ec) {
      state->results[i] = ec;
      if (last) state->done(std::move(state->results));
    });
  }
}

void group_coordinator::on_topic_deleted(const std::string& topic) {
  size_t offsets = 0;
  size_t groups = 0;
  for (const auto& gp : all_groups()) {
    std::lock_guard lock(gp->mu);
    if (gp->is(group_state::dead)) continue;
    auto removed = gp->remove_topic_offsets(topic);
    if (removed.empty()) continue;
    offsets += removed.size();
    ++groups;
    if (remove_if_unused(*gp)) group_log().info("group {} deleted: its only offsets were of topic {}", gp->id(), topic);
  }
  // After the per-group removals, so a commit that passed its topic check
  // before the deletion is written before this and erased by it.
  store_->delete_topic_offsets(topic, [topic](std::error_code ec) {
    if (ec) group_log().error("cannot delete the committed offsets of deleted topic {}: {}", topic, ec.message());
  });
  if (offsets > 0) {
    group_log().info("dropped {} committed offset(s) of deleted topic {} from {} group(s)", offsets, topic, groups);
  }
}

void group_coordinator::expire_offsets() {
  const int64_t t = now();
  size_t expired_total = 0;
  for (const auto& gp : all_groups()) {
    std::lock_guard lock(gp->mu);
    if (gp->is(group_state::dead)) continue;
    auto expired = gp->remove_expired_offsets(t, config_.offsets_retention_ms);
    expired_total += expired.size();
    if (remove_if_unused(*gp)) {
      group_log().info("group {} expired: no members and no committed offsets", gp->id());
    } else if (!expired.empty()) {
      store_->delete_offsets(gp->id(), std::move(expired), [id = gp->id()](std::error_code ec) {
        if (ec) group_log().error("group {}: cannot delete expired offsets: {}", id, ec.message());
      });
    }
  }
  if (expired_total > 0) group_log().info("removed {} expired committed offset(s)", expired_total);
}

}  // namespace geomirror::group

#include "broker-core/group/group_metadata.h"

#include "broker-core/base/invariant.h"
#include "broker-core/group/consumer_protocol.h"
#include "broker-core/group/logger.h"

#include <algorithm>

namespace geomirror::group {

const protocol::bytes* member_metadata::metadata_for(std::string_view protocol) const {
  for (const auto& p : protocols) {
    if (p.name == protocol) return &p.metadata;
  }
  return nullptr;
}

group_metadata::group_metadata(std::string id, int64_t now_ms) : id_(std::move(id)), state_timestamp_ms_(now_ms) {}

void group_metadata::transition_to(group_state next, int64_t now_ms) {
  bool valid = false;
  switch (next) {
    case group_state::preparing_rebalance:
      valid = can_rebalance();
      break;
    case group_state::completing_rebalance:
    case group_state::empty:
      valid = state_ == group_state::preparing_rebalance;
      break;
    case group_state::stable:
      valid = state_ == group_state::completing_rebalance;
      break;
    case group_state::dead:
      valid = true;
      break;
  }
  GEOMIRROR_INVARIANT(valid, "group {} cannot move from {} to {}", id_, state_name(state_), state_name(next));
  state_ = next;
  state_timestamp_ms_ = now_ms;
}

bool group_metadata::can_rebalance() const {
  return state_ == group_state::stable || state_ == group_state::completing_rebalance ||
         state_ == group_state::empty;
}

void group_metadata::add(member_metadata member) {
  if (members_.empty()) protocol_type_ = member.protocol_type;
  if (!leader_) leader_ = member.member_id;
  if (member.group_instance_id) {
    GEOMIRROR_INVARIANT(!static_members_.count(*member.group_instance_id),
                        "group {}: static member {} added twice", id_, *member.group_instance_id);
    static_members_[*member.group_instance_id] = member.member_id;
  }
  pending_members.erase(member.member_id);
  auto id = member.member_id;
  members_.emplace(std::move(id), std::move(member));
}

std::optional<member_metadata> group_metadata::remove(const std::string& member_id) {
  pending_sync.erase(member_id);
  auto it = members_.find(member_id);
  if (it == members_.end()) return std::nullopt;
  member_metadata removed = std::move(it->second);
  members_.erase(it);
  if (removed.group_instance_id) static_members_.erase(*removed.group_instance_id);
  if (leader_ == member_id) {
    leader_ = members_.empty() ? std::nullopt : std::optional<std::string>(members_.begin()->first);
  }
  return removed;
}

member_metadata& group_metadata::replace_static_member(const std::string& instance_id, const std::string& old_id,
                                                       const std::string& new_id) {
  auto node = members_.extract(old_id);
  GEOMIRROR_INVARIANT(!node.empty(), "group {}: no member {} to replace", id_, old_id);
  node.key() = new_id;
  node.mapped().member_id = new_id;
  auto& member = members_.insert(std::move(node)).position->second;
  if (leader_ == old_id) leader_ = new_id;
  if (pending_sync.erase(old_id) != 0) pending_sync.insert(new_id);
  static_members_[instance_id] = new_id;
  return member;
}

std::optional<std::string> group_metadata::static_member_id(const std::string& instance_id) const {
  auto it = static_members_.find(instance_id);
  if (it == static_members_.end()) return std::nullopt;
  return it->second;
}

bool group_metadata::elect_joined_leader() {
  if (!leader_) return false;
  if (members_.at(*leader_).is_awaiting_join()) return true;
  for (const auto& [id, m] : members_) {
    if (m.is_awaiting_join()) {
      group_log().info("group {}: leader {} did not rejoin in time; {} leads now", id_, *leader_, id);
      leader_ = id;
      return true;
    }
  }
  return false;
}

size_t group_metadata::awaiting_join_count() const {
  return static_cast<size_t>(
      std::count_if(members_.begin(), members_.end(), [](const auto& m) { return m.second.is_awaiting_join(); }));
}

bool group_metadata::all_members_joined() const {
  return awaiting_join_count() == members_.size() && pending_members.empty();
}

int32_t group_metadata::rebalance_timeout_ms() const {
  int32_t timeout = 0;
  for (const auto& [_, m] : members_) timeout = std::max(timeout, m.rebalance_timeout_ms);
  return timeout;
}

bool group_metadata::supports_protocols(const std::string& protocol_type,
                                        const std::vector<protocol_metadata>& protocols) const {
  if (is(group_state::empty)) return !protocol_type.empty() && !protocols.empty();
  if (protocol_type_ != protocol_type) return false;
  for (const auto& p : protocols) {
    bool everyone = std::all_of(members_.begin(), members_.end(),
                                [&](const auto& m) { return m.second.metadata_for(p.name) != nullptr; });
    if (everyone) return true;
  }
  return false;
}

std::string group_metadata::select_protocol() const {
  GEOMIRROR_INVARIANT(!members_.empty(), "group {}: cannot select a protocol without members", id_);
  // Candidates: protocols every member supports. Each member votes for its
  // most preferred candidate; most votes wins (ties: the smallest name, so
  // the choice does not depend on map order).
  std::map<std::string, size_t> votes;
  for (const auto& [_, m] : members_) {
    for (const auto& p : m.protocols) {
      bool everyone = std::all_of(members_.begin(), members_.end(),
                                  [&](const auto& other) { return other.second.metadata_for(p.name) != nullptr; });
      if (everyone) {
        ++votes[p.name];
        break;
      }
    }
  }
  GEOMIRROR_INVARIANT(!votes.empty(), "group {}: members share no protocol", id_);
  auto best = votes.begin();
  for (auto it = votes.begin(); it != votes.end(); ++it) {
    if (it->second > best->second) best = it;
  }
  return best->first;
}

void group_metadata::init_next_generation(int64_t now_ms) {
  ++generation_;
  if (!members_.empty()) {
    protocol_name_ = select_protocol();
    subscribed_topics_ = compute_subscribed_topics();
    transition_to(group_state::completing_rebalance, now_ms);
  } else {
    protocol_name_.reset();
    subscribed_topics_ = compute_subscribed_topics();
    transition_to(group_state::empty, now_ms);
  }
  pending_sync.clear();
}

std::vector<join_member> group_metadata::current_member_metadata() const {
  std::vector<join_member> out;
  out.reserve(members_.size());
  for (const auto& [id, m] : members_) {
    const protocol::bytes* metadata = protocol_name_ ? m.metadata_for(*protocol_name_) : nullptr;
    out.push_back({id, m.group_instance_id, metadata ? *metadata : protocol::bytes()});
  }
  return out;
}

bool group_metadata::is_subscribed_to(const std::string& topic) const {
  return !subscribed_topics_ || subscribed_topics_->count(topic) != 0;
}

std::optional<std::set<std::string>> group_metadata::compute_subscribed_topics() const {
  if (!is_consumer_group()) return std::nullopt;
  if (members_.empty()) return std::set<std::string>();
  if (!protocol_name_) return std::nullopt;
  std::set<std::string> topics;
  for (const auto& [id, m] : members_) {
    const protocol::bytes* metadata = m.metadata_for(*protocol_name_);
    auto subscribed = metadata ? subscription_topics(*metadata) : std::nullopt;
    if (!subscribed) {
      group_log().warn("group {}: member {} sent {} metadata that is not a consumer subscription; its topics are "
                       "unknown",
                       id_, id, *protocol_name_);
      return std::nullopt;
    }
    topics.insert(subscribed->begin(), subscribed->end());
  }
  return topics;
}

uint64_t group_metadata::begin_commit(const topic_partition& tp) {
  ++pending_commits_[tp].in_flight;
  return ++commit_sequence_;
}

void group_metadata::end_commit(const topic_partition& tp, uint64_t sequence, const committed_offset* value) {
  auto it = pending_commits_.find(tp);
  GEOMIRROR_INVARIANT(it != pending_commits_.end(), "group {}: commit of {}-{} ended twice", id_, tp.topic,
                      tp.partition);
  if (value && sequence > it->second.floor) offsets[tp] = *value;
  if (--it->second.in_flight == 0) pending_commits_.erase(it);
}

void group_metadata::fence(const topic_partition& tp) {
  auto it = pending_commits_.find(tp);
  if (it != pending_commits_.end()) it->second.floor = commit_sequence_;
}

std::vector<topic_partition> group_metadata::remove_offsets(const std::vector<topic_partition>& partitions) {
  std::vector<topic_partition> removed;
  for (const auto& tp : partitions) {
    fence(tp);
    if (offsets.erase(tp) != 0) removed.push_back(tp);
  }
  return removed;
}

std::vector<topic_partition> group_metadata::remove_topic_offsets(const std::string& topic) {
  for (auto& [tp, pending] : pending_commits_) {
    if (tp.topic == topic) pending.floor = commit_sequence_;
  }
  std::vector<topic_partition> removed;
  for (auto it = offsets.begin(); it != offsets.end();) {
    if (it->first.topic == topic) {
      removed.push_back(it->first);
      it = offsets.erase(it);
    } else {
      ++it;
    }
  }
  return removed;
}

size_t group_metadata::remove_all_offsets() {
  for (auto& [_, pending] : pending_commits_) pending.floor = commit_sequence_;
  size_t n = offsets.size();
  offsets.clear();
  return n;
}

std::vector<topic_partition> group_metadata::remove_expired_offsets(int64_t now_ms, int64_t retention_ms) {
  // Kafka's rules: an empty group's offsets expire `retention` after it
  // became empty; a stable consumer group's offsets of topics nobody
  // subscribes to any more, and a simple (protocol-less) group's offsets,
  // `retention` after their commit. An explicit expire timestamp (OffsetCommit
  // v2-4 retention time) wins. Offsets being written never expire.
  enum class base { state_change, commit };
  base from;
  bool skip_subscribed = false;
  if (protocol_type_ && is(group_state::empty)) {
    from = base::state_change;
  } else if (is_consumer_group() && subscribed_topics_ && is(group_state::stable)) {
    from = base::commit;
    skip_subscribed = true;
  } else if (!protocol_type_) {
    from = base::commit;
  } else {
    return {};
  }
  std::vector<topic_partition> expired;
  for (auto it = offsets.begin(); it != offsets.end();) {
    const auto& [tp, c] = *it;
    bool keep = pending_commits_.count(tp) != 0 || (skip_subscribed && subscribed_topics_->count(tp.topic) != 0);
    if (!keep) {
      int64_t since = from == base::state_change ? state_timestamp_ms_ : c.commit_timestamp_ms;
      keep = c.expire_timestamp_ms ? now_ms < *c.expire_timestamp_ms : now_ms - since < retention_ms;
    }
    if (keep) {
      ++it;
    } else {
      expired.push_back(tp);
      it = offsets.erase(it);
    }
  }
  return expired;
}

stored_group group_metadata::snapshot() const {
  stored_group g;
  g.group_id = id_;
  g.protocol_type = protocol_type_;
  g.generation = generation_;
  g.protocol_name = protocol_name_;
  g.leader = leader_;
  g.state = state_;
  g.state_timestamp_ms = state_timestamp_ms_;
  for (const auto& [id, m] : members_) {
    g.members.push_back({id, m.group_instance_id, m.client_id, m.client_host, m.session_timeout_ms,
                         m.rebalance_timeout_ms, m.protocols, m.assignment});
  }
  return g;
}

void group_metadata::restore(const stored_group& stored) {
  protocol_type_ = stored.protocol_type;
  generation_ = stored.generation;
  protocol_name_ = stored.protocol_name;
  state_timestamp_ms_ = stored.state_timestamp_ms;
  for (const auto& s : stored.members) {
    member_metadata m;
    m.member_id = s.member_id;
    m.group_instance_id = s.group_instance_id;
    m.client_id = s.client_id;
    m.client_host = s.client_host;
    m.session_timeout_ms = s.session_timeout_ms;
    m.rebalance_timeout_ms = s.rebalance_timeout_ms;
    m.protocol_type = stored.protocol_type.value_or("");
    m.protocols = s.protocols;
    m.assignment = s.assignment;
    add(std::move(m));
  }
  // add() made the first member leader; the stored leader wins if present.
  if (stored.leader && has(*stored.leader)) leader_ = stored.leader;
  protocol_type_ = stored.protocol_type;
  state_ = members_.empty() ? group_state::empty : group_state::stable;
  if (members_.empty()) protocol_name_.reset();
  subscribed_topics_ = compute_subscribed_topics();
}

}  // namespace geomirror::group

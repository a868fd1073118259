#pragma once
// One group's state in memory, as Kafka's GroupMetadata and MemberMetadata
// keep it: state, generation, protocol, leader, members (with the JoinGroup
// or SyncGroup request each one has parked), static and pending members,
// committed offsets and the commits still being written.
//
// Not thread-safe by itself: the coordinator holds `mu` around every use.
// The coordinator (group_coordinator) decides what happens; this class keeps
// the bookkeeping consistent (awaiting counts, static member map, leader).

#include "broker-core/base/scheduler.h"
#include "broker-core/group/group_store.h"
#include "broker-core/group/types.h"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <system_error>
#include <vector>

namespace geomirror::group {

// One member as the leader sees it in its JoinGroup response.
struct join_member {
  std::string member_id;
  std::optional<std::string> group_instance_id;
  protocol::bytes metadata;
};

struct join_result {
  std::error_code error;
  std::string member_id;
  int32_t generation_id = -1;
  std::optional<std::string> protocol_type;
  std::optional<std::string> protocol_name;
  std::string leader_id;
  bool skip_assignment = false;
  std::vector<join_member> members;  // the leader's response only

  // An error answer as Kafka shapes it (generation -1, no protocol, no leader).
  static join_result failed(std::string member_id, std::error_code error) {
    join_result r;
    r.error = error;
    r.member_id = std::move(member_id);
    return r;
  }
};

struct sync_result {
  std::error_code error;
  std::optional<std::string> protocol_type;
  std::optional<std::string> protocol_name;
  protocol::bytes assignment;
};

using join_callback = std::function<void(join_result)>;
using sync_callback = std::function<void(sync_result)>;

// A timer a group owns. cancel() on a scheduled task is asynchronous, so a
// firing callback checks that its id is still the armed one.
struct timer_slot {
  std::shared_ptr<base::scheduled_task> task;
  uint64_t id = 0;

  void cancel() {
    if (task) task->cancel();
    task.reset();
    id = 0;
  }
};

// A member given an id by MEMBER_ID_REQUIRED that has not joined with it
// yet: when that happened, and the timer that forgets it.
struct pending_member {
  int64_t since_ms = 0;
  timer_slot expiry;

  void cancel() { expiry.cancel(); }
};

struct member_metadata {
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::string client_id;
  std::string client_host;
  int32_t rebalance_timeout_ms = 0;
  int32_t session_timeout_ms = 0;
  std::string protocol_type;
  std::vector<protocol_metadata> protocols;
  protocol::bytes assignment;
  join_callback awaiting_join;  // a parked JoinGroup
  sync_callback awaiting_sync;  // a parked SyncGroup
  bool is_new = false;          // joined, not yet through a completed join phase
  timer_slot heartbeat;         // session (or new-member join) expiry

  bool is_awaiting_join() const { return static_cast<bool>(awaiting_join); }
  bool is_awaiting_sync() const { return static_cast<bool>(awaiting_sync); }
  bool is_static() const { return group_instance_id.has_value(); }
  // Same protocols, same order, same metadata bytes.
  bool matches(const std::vector<protocol_metadata>& other) const { return protocols == other; }
  const protocol::bytes* metadata_for(std::string_view protocol) const;
};

// Commits of one partition still being written: those numbered at or below
// `floor` were overtaken by a removal of the offset and must not reappear.
struct pending_commit {
  uint64_t floor = 0;
  int in_flight = 0;
};

class group_metadata : public std::enable_shared_from_this<group_metadata> {
 public:
  group_metadata(std::string id, int64_t now_ms);
  group_metadata(const group_metadata&) = delete;
  group_metadata& operator=(const group_metadata&) = delete;

  std::mutex mu;

  const std::string& id() const { return id_; }
  group_state state() const { return state_; }
  bool is(group_state s) const { return state_ == s; }
  int64_t state_timestamp_ms() const { return state_timestamp_ms_; }
  // Aborts on a transition Kafka's state machine forbids.
  void transition_to(group_state next, int64_t now_ms);
  // PreparingRebalance may be entered from here.
  bool can_rebalance() const;

  // -- membership ---------------------------------------------------------
  bool has(const std::string& member_id) const { return members_.count(member_id) != 0; }
  member_metadata& get(const std::string& member_id) { return members_.at(member_id); }
  size_t size() const { return members_.size(); }
  std::map<std::string, member_metadata>& members() { return members_; }
  const std::map<std::string, member_metadata>& members() const { return members_; }
  // Adds a member; the first one fixes the protocol type and leads.
  void add(member_metadata member);
  // Removes a member (leadership passes to another one) and returns it so the
  // caller can answer what it parked and cancel its timer.
  std::optional<member_metadata> remove(const std::string& member_id);
  // A static member rejoined without its member id: it gets `new_id`, keeping
  // everything else. The caller answers the old id's parked requests first.
  member_metadata& replace_static_member(const std::string& instance_id, const std::string& old_id,
                                         const std::string& new_id);
  std::optional<std::string> static_member_id(const std::string& instance_id) const;
  size_t static_member_count() const { return static_members_.size(); }

  const std::optional<std::string>& leader() const { return leader_; }
  bool is_leader(const std::string& member_id) const { return leader_ == member_id; }
  // Keeps the leader if it rejoined, else picks a member that did; false if
  // none did (Kafka's maybeElectNewJoinedLeader).
  bool elect_joined_leader();

  size_t awaiting_join_count() const;
  // Every member has rejoined and no MEMBER_ID_REQUIRED round trip is open.
  bool all_members_joined() const;
  int32_t rebalance_timeout_ms() const;

  // Members given an id by MEMBER_ID_REQUIRED that have not rejoined yet.
  std::map<std::string, pending_member> pending_members;
  // Members of this generation whose SyncGroup has not arrived yet.
  std::set<std::string> pending_sync;

  // -- protocol -----------------------------------------------------------
  const std::optional<std::string>& protocol_type() const { return protocol_type_; }
  const std::optional<std::string>& protocol_name() const { return protocol_name_; }
  int32_t generation() const { return generation_; }
  bool is_consumer_group() const { return protocol_type_ == "consumer"; }
  // Whether a member with these protocols may join (Kafka's supportsProtocols).
  bool supports_protocols(const std::string& protocol_type, const std::vector<protocol_metadata>& protocols) const;
  // The protocol every member supports that most members prefer.
  std::string select_protocol() const;
  // Next generation: CompletingRebalance with a selected protocol, or Empty.
  void init_next_generation(int64_t now_ms);
  // Every member's metadata for the selected protocol (the leader's JoinGroup).
  std::vector<join_member> current_member_metadata() const;
  // True unless the group is a consumer group known not to subscribe to the
  // topic (unknown subscriptions count as subscribed, as in Kafka).
  bool is_subscribed_to(const std::string& topic) const;

  // -- offsets ------------------------------------------------------------
  std::map<topic_partition, committed_offset> offsets;
  // Starts a commit of `tp`; returns its sequence number.
  uint64_t begin_commit(const topic_partition& tp);
  // Ends it: `value` (null when the write failed) becomes the committed
  // offset unless a removal overtook the commit.
  void end_commit(const topic_partition& tp, uint64_t sequence, const committed_offset* value);
  bool has_pending_commit(const topic_partition& tp) const { return pending_commits_.count(tp) != 0; }
  bool has_offsets() const { return !offsets.empty() || !pending_commits_.empty(); }
  // Removes the offsets of `partitions` (and fences commits in flight for
  // them); returns those that existed.
  std::vector<topic_partition> remove_offsets(const std::vector<topic_partition>& partitions);
  std::vector<topic_partition> remove_topic_offsets(const std::string& topic);
  // Removes every offset (and fences every commit in flight); returns how
  // many there were.
  size_t remove_all_offsets();
  // Kafka's removeExpiredOffsets: which offsets have outlived the retention
  // (by commit time, or since the group became empty), removed.
  std::vector<topic_partition> remove_expired_offsets(int64_t now_ms, int64_t retention_ms);

  // -- persistence --------------------------------------------------------
  stored_group snapshot() const;
  // Restores metadata written by snapshot() (members without callbacks).
  void restore(const stored_group& stored);

  // -- rebalance timers (armed by the coordinator) --------------------------
  timer_slot join_timer;
  // The join phase began in Empty and waits for more members (Kafka's
  // InitialDelayedJoin): it ends group.initial.rebalance.delay.ms after the
  // last member arrived (or was handed its id), never later than the
  // rebalance timeout after it began.
  bool initial_join = false;
  int64_t initial_join_quiet_until_ms = 0;  // last arrival + the delay
  int64_t initial_join_deadline_ms = 0;     // start + the rebalance timeout
  timer_slot sync_timer;

 private:
  std::optional<std::set<std::string>> compute_subscribed_topics() const;
  void fence(const topic_partition& tp);

  std::string id_;
  group_state state_ = group_state::empty;
  int64_t state_timestamp_ms_ = 0;
  int32_t generation_ = 0;
  std::optional<std::string> protocol_type_;
  std::optional<std::string> protocol_name_;
  std::optional<std::string> leader_;
  std::map<std::string, member_metadata> members_;
  std::map<std::string, std::string> static_members_;  // group.instance.id -> member id
  std::optional<std::set<std::string>> subscribed_topics_;
  std::map<topic_partition, pending_commit> pending_commits_;
  uint64_t commit_sequence_ = 0;
};

}  // namespace geomirror::group

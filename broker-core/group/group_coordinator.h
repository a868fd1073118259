#pragma once
// The classic group coordinator (Kafka's GroupCoordinator and
// GroupMetadataManager for one broker that coordinates every group):
// membership with generations, rebalances driven by JoinGroup/SyncGroup,
// session and rebalance timeouts, static membership, committed offsets and
// their expiry, and the admin calls on groups. The client leader chooses the
// assignment, so any assignor (range, roundrobin, cooperative-sticky) works.
//
// Durability: offsets and group metadata live in a group_store (SQLite). An
// offset commit is answered once its transaction is durable; group metadata
// is written when a rebalance completes, when a group empties and when
// members leave or are evicted. start() loads everything back, with fresh
// session timers, so members that keep heartbeating across a restart carry
// on.
//
// Thread-safe. Each group has its own mutex; a map mutex (taken after a group
// mutex, never before) guards the set of groups. JoinGroup and SyncGroup
// requests are parked in the group and answered later from another request,
// a timer (base::scheduler) or the store's writer thread. Every callback is
// invoked exactly once and never under a lock. The scheduler must stop
// running callbacks before the coordinator is destroyed.

#include "broker-core/base/scheduler.h"
#include "broker-core/group/group_metadata.h"
#include "broker-core/group/group_store.h"
#include "broker-core/group/types.h"

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

namespace geomirror::group {

// Kafka's group.* and offsets.* broker settings.
struct coordinator_config {
  int32_t initial_rebalance_delay_ms = 3000;           // group.initial.rebalance.delay.ms
  int32_t min_session_timeout_ms = 6000;               // group.min.session.timeout.ms
  int32_t max_session_timeout_ms = 1'800'000;          // group.max.session.timeout.ms
  int32_t max_size = INT32_MAX;                        // group.max.size
  int64_t offsets_retention_ms = 7LL * 24 * 3600 * 1000;  // offsets.retention.minutes
  int64_t offsets_retention_check_interval_ms = 600'000;  // offsets.retention.check.interval.ms
  int32_t offset_metadata_max_bytes = 4096;            // offset.metadata.max.bytes
  // How long a new member may wait in a join phase before it counts as gone
  // (Kafka's fixed NewMemberJoinTimeoutMs).
  int32_t new_member_join_timeout_ms = 300'000;
  // How long the first join phase of a group, its delay over, still waits
  // for a member handed its id by MEMBER_ID_REQUIRED to join with it
  // (librdkafka does so at once; one that does not joins in a later
  // rebalance). It matters when the delay is shorter than that round trip.
  int32_t pending_member_grace_ms = 1000;
};

struct join_request {
  std::string group_id;
  std::string member_id;  // empty: a new member
  std::optional<std::string> group_instance_id;
  std::string client_id;
  std::string client_host;
  int32_t session_timeout_ms = 0;
  int32_t rebalance_timeout_ms = 0;
  std::string protocol_type;
  std::vector<protocol_metadata> protocols;
  bool require_known_member_id = false;   // JoinGroup v4+: MEMBER_ID_REQUIRED round trip
  bool supports_skip_assignment = false;  // JoinGroup v9+
  std::string reason;                     // for the log
};

struct sync_request {
  std::string group_id;
  int32_t generation_id = -1;
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::optional<std::string> protocol_type;  // SyncGroup v5+
  std::optional<std::string> protocol_name;  // SyncGroup v5+
  std::vector<std::pair<std::string, protocol::bytes>> assignments;  // the leader's
};

struct member_identity {
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::string reason;  // for the log
};

struct leave_result {
  std::error_code error;
  std::vector<std::error_code> members;  // one per member, in request order
};

struct offset_commit_request {
  std::string group_id;
  std::string member_id;
  std::optional<std::string> group_instance_id;
  int32_t generation_id = -1;  // -1 with no member id: a simple commit outside group management
  int64_t retention_time_ms = -1;  // OffsetCommit v2-4; -1: the broker's retention
  // commit_timestamp_ms -1 means now (only OffsetCommit v1 carries one).
  std::vector<std::pair<topic_partition, committed_offset>> offsets;
};

struct fetched_offset {
  topic_partition partition;
  committed_offset value;  // offset -1, epoch -1, "" when nothing is committed
  std::error_code error;
};

struct group_overview {
  std::string group_id;
  std::string protocol_type;
  group_state state = group_state::dead;
};

struct member_description {
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::string client_id;
  std::string client_host;
  protocol::bytes metadata;    // only while Stable, as Kafka
  protocol::bytes assignment;  // only while Stable
};

struct group_description {
  group_state state = group_state::dead;
  std::string protocol_type;
  std::string protocol_name;  // only while Stable
  std::vector<member_description> members;
};

struct offset_delete_result {
  std::error_code error;                    // group-level; then `partitions` is empty
  std::vector<std::error_code> partitions;  // one per partition, in request order
};

using commit_callback = std::function<void(std::vector<std::error_code>)>;  // one per offset, in order
using offset_delete_callback = std::function<void(offset_delete_result)>;
using delete_groups_callback = std::function<void(std::vector<std::error_code>)>;  // one per group, in order
// Partition count of a topic, or -1 when it does not exist.
using topic_partitions_fn = std::function<int32_t(const std::string& topic)>;
using clock_fn = std::function<int64_t()>;  // wall clock, ms since the epoch

class group_coordinator {
 public:
  // Opens the group tables in `db_file` (throws std::runtime_error if it
  // cannot). Nothing is served before start().
  group_coordinator(coordinator_config config, const std::filesystem::path& db_file, base::scheduler& timers,
                    topic_partitions_fn topic_partitions, clock_fn now = {});
  ~group_coordinator();
  group_coordinator(const group_coordinator&) = delete;
  group_coordinator& operator=(const group_coordinator&) = delete;

  // Loads groups and offsets (dropping offsets of topics that no longer
  // exist), arms session timers and the offset-retention task. Throws
  // std::runtime_error when the store cannot be read.
  void start();
  // Answers parked JoinGroup/SyncGroup requests with NOT_COORDINATOR, cancels
  // timers, writes what is queued and closes the store. Idempotent.
  void stop();

  void join_group(join_request request, join_callback done);
  void sync_group(sync_request request, sync_callback done);
  std::error_code heartbeat(const std::string& group_id, const std::string& member_id,
                            const std::optional<std::string>& group_instance_id, int32_t generation_id);
  leave_result leave_group(const std::string& group_id, const std::vector<member_identity>& members);

  // Answered once the commit is durable (then OffsetFetch sees it). A member
  // commit to a group this coordinator does not know gets GROUP_ID_NOT_FOUND
  // (OffsetCommit before v9 reports it as ILLEGAL_GENERATION).
  void commit_offsets(offset_commit_request request, commit_callback done);
  // `partitions` nullopt: every committed offset of the group. With
  // `require_stable` (OffsetFetch v7+) a partition whose commit is still
  // being written gets UNSTABLE_OFFSET_COMMIT, which clients retry (KIP-447).
  std::vector<fetched_offset> fetch_offsets(const std::string& group_id,
                                            const std::optional<std::vector<topic_partition>>& partitions,
                                            bool require_stable);
  void delete_offsets(const std::string& group_id, const std::vector<topic_partition>& partitions,
                      offset_delete_callback done);

  std::vector<group_overview> list_groups();
  // Unknown groups are described as Dead with no members, as Kafka does.
  group_description describe_group(const std::string& group_id);
  void delete_groups(const std::vector<std::string>& group_ids, delete_groups_callback done);

  // Drops every group's offsets of a deleted topic (memory and store).
  void on_topic_deleted(const std::string& topic);
  // One offset-retention pass (the periodic task runs it every
  // offsets_retention_check_interval_ms): expired offsets are removed, and
  // empty groups left without offsets are deleted.
  void expire_offsets();

 private:
  using group_ptr = std::shared_ptr<group_metadata>;

  // Callbacks collected under a group lock and run once it is released:
  // declare it before the lock so it is destroyed (and runs) after.
  class completions {
   public:
    completions() = default;
    completions(const completions&) = delete;
    completions& operator=(const completions&) = delete;
    ~completions() { run(); }
    void add(std::function<void()> fn) { fns_.push_back(std::move(fn)); }
    void run();

   private:
    std::vector<std::function<void()>> fns_;
  };

  // A group with its mutex held.
  struct locked_group {
    group_ptr group;
    std::unique_lock<std::mutex> lock;
    explicit operator bool() const { return group != nullptr; }
    group_metadata* operator->() const { return group.get(); }
    group_metadata& operator*() const { return *group; }
  };

  // The live group `id` with its lock held (created Empty when missing and
  // `create`), or an empty locked_group. Never returns a Dead group.
  locked_group acquire(const std::string& id, bool create);
  std::vector<group_ptr> all_groups();
  // Dead, without timers, out of the map. The group's lock must be held.
  void remove_group(group_metadata& g);
  int64_t now() const { return now_(); }
  std::string new_member_id(const std::string& prefix);

  // -- membership (group_membership.cpp) ------------------------------------
  bool accept_joining_member(group_metadata& g, const std::string& member_id) const;
  void join_new_member(group_metadata& g, join_request& req, join_callback& done, completions& c);
  void join_current_member(group_metadata& g, join_request& req, join_callback& done, completions& c);
  void add_member_and_rebalance(group_metadata& g, join_request& req, const std::string& member_id,
                                join_callback done, completions& c);
  void update_member_and_rebalance(group_metadata& g, member_metadata& m, join_request& req, join_callback done,
                                   const std::string& reason, completions& c);
  void update_static_member_and_rebalance(const group_ptr& g, const std::string& old_id, const std::string& new_id,
                                          join_request& req, join_callback done, completions& c);
  std::error_code validate_current_member(group_metadata& g, const std::string& member_id,
                                          const std::optional<std::string>& group_instance_id,
                                          std::string_view operation) const;
  join_result current_generation(group_metadata& g, const std::string& member_id, bool with_members) const;

  // -- rebalance machinery (group_coordinator.cpp) ---------------------------
  void maybe_prepare_rebalance(group_metadata& g, const std::string& reason, completions& c);
  void prepare_rebalance(group_metadata& g, const std::string& reason, completions& c);
  void try_complete_join(group_metadata& g, completions& c);
  // A member joined, or was handed an id, during an initial join phase: the
  // phase ends no sooner than the delay from now.
  void note_initial_join_arrival(group_metadata& g);
  // How long an initial join phase still waits: for its quiet period, then
  // for members handed an id just before; 0 when it can complete.
  int64_t initial_join_wait_ms(const group_metadata& g) const;
  void complete_join(group_metadata& g, completions& c);
  void on_join_timer(const group_ptr& g, uint64_t timer_id);
  void on_sync_timer(const group_ptr& g, uint64_t timer_id, int32_t generation);
  void on_heartbeat_timer(const group_ptr& g, const std::string& member_id, uint64_t timer_id);
  void on_pending_member_timer(const group_ptr& g, const std::string& member_id, uint64_t timer_id);
  void arm_join_timer(group_metadata& g, int32_t delay_ms);
  void schedule_heartbeat(group_metadata& g, member_metadata& m, int32_t timeout_ms);
  void add_pending_member(group_metadata& g, const std::string& member_id, int32_t timeout_ms);
  void sync_received(group_metadata& g, const std::string& member_id);
  void propagate_assignment(group_metadata& g, std::error_code error, completions& c);
  void remove_member_and_update_group(group_metadata& g, const std::string& member_id, const std::string& reason,
                                      completions& c);
  void remove_pending_member_and_update_group(group_metadata& g, const std::string& member_id, completions& c);
  // Answers what a member parked (join, sync) and stops its timer.
  void release_member(member_metadata& m, const join_result& join_answer, std::error_code sync_error,
                      completions& c);
  // Queues the group's current membership for the store.
  void persist(group_metadata& g);
  // An Empty group without offsets or pending members is deleted (store
  // included); true if that happened. The group's lock must be held.
  bool remove_if_unused(group_metadata& g);
  void schedule_retention_check();
  uint64_t next_timer_id() { return ++timer_ids_; }
  // Arms `fn` (which knows its `id`) after `delay_ms` unless stopped;
  // returns the slot to keep.
  timer_slot arm(uint64_t id, int64_t delay_ms, std::function<void()> fn);

  // -- offsets and admin (group_offsets.cpp) --------------------------------
  std::error_code validate_offset_commit(group_metadata& g, const offset_commit_request& req) const;
  void store_offsets(const group_ptr& g, offset_commit_request& req, std::vector<std::error_code> results,
                     commit_callback done, completions& c);
  bool topic_partition_exists(const topic_partition& tp) const;

  coordinator_config config_;
  std::unique_ptr<group_store> store_;
  base::scheduler& timers_;
  topic_partitions_fn topic_partitions_;
  clock_fn now_;
  std::atomic<bool> stopped_{false};
  std::atomic<uint64_t> timer_ids_{0};

  std::mutex groups_mu_;  // the map only; taken after a group's mutex, never before
  std::map<std::string, group_ptr, std::less<>> groups_;

  std::mutex retention_mu_;
  timer_slot retention_timer_;
};

}  // namespace geomirror::group

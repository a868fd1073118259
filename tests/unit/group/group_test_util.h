#pragma once
// Test support for the group coordinator: a scheduler driven by hand (time
// only moves in advance()), a temporary data dir, consumer-protocol bytes,
// and futures for the coordinator's callbacks.

#include "broker-core/base/scheduler.h"
#include "broker-core/group/group_coordinator.h"
#include "broker-core/protocol/messages/consumer_protocol_assignment.h"
#include "broker-core/protocol/messages/consumer_protocol_subscription.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace geomirror::group::testing {

// Timers that fire only when the test advances time, on the test's thread.
class manual_scheduler : public base::scheduler {
 public:
  static constexpr int64_t epoch_ms = 1'700'000'000'000;

  std::shared_ptr<base::scheduled_task> after(std::chrono::milliseconds delay, std::function<void()> fn) override {
    std::lock_guard lock(mu_);
    auto t = std::make_shared<task>();
    t->due = now_ + delay.count();
    t->seq = ++seq_;
    t->fn = std::move(fn);
    tasks_.push_back(t);
    return t;
  }

  // Runs every task due within `ms` (including ones they schedule), in due
  // order, moving the clock to each task's due time.
  void advance(int64_t ms) {
    int64_t target;
    {
      std::lock_guard lock(mu_);
      target = now_ + ms;
    }
    for (;;) {
      std::shared_ptr<task> next;
      {
        std::lock_guard lock(mu_);
        for (auto& t : tasks_) {
          if (t->cancelled || t->due > target) continue;
          if (!next || t->due < next->due || (t->due == next->due && t->seq < next->seq)) next = t;
        }
        if (!next) {
          now_ = target;
          std::erase_if(tasks_, [](const auto& t) { return t->cancelled.load(); });
          return;
        }
        now_ = next->due;
        next->cancelled = true;
      }
      next->fn();
    }
  }

  int64_t now_ms() const {
    std::lock_guard lock(mu_);
    return epoch_ms + now_;
  }

 private:
  struct task : base::scheduled_task {
    void cancel() override { cancelled = true; }
    int64_t due = 0;
    uint64_t seq = 0;
    std::atomic<bool> cancelled{false};
    std::function<void()> fn;
  };

  mutable std::mutex mu_;
  int64_t now_ = 0;
  uint64_t seq_ = 0;
  std::vector<std::shared_ptr<task>> tasks_;
};

class temp_dir {
 public:
  temp_dir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "group-test-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~temp_dir() { std::filesystem::remove_all(path_); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// ConsumerProtocolSubscription bytes (int16 version, then the struct).
inline protocol::bytes subscription(const std::vector<std::string>& topics, int16_t version = 1) {
  protocol::consumer_protocol_subscription s;
  s.topics = topics;
  protocol::bytes out;
  protocol::writer w(out);
  w.write_int16(version);
  // Versions above 3 (a future client) are written with the newest fields we know.
  s.encode(w, std::min<int16_t>(version, protocol::consumer_protocol_subscription::max_version));
  return out;
}

inline protocol::bytes assignment(const std::string& topic, const std::vector<int32_t>& partitions) {
  protocol::consumer_protocol_assignment a;
  a.assigned_partitions.push_back({topic, partitions, {}});
  protocol::bytes out;
  protocol::writer w(out);
  w.write_int16(0);
  a.encode(w, 0);
  return out;
}

// Waits for a callback's value; fails the test (and returns a default) on timeout.
template <class T>
T await(std::future<T>& f, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  if (f.wait_for(timeout) != std::future_status::ready) {
    ADD_FAILURE() << "callback not invoked within " << timeout.count() << " ms";
    return T{};
  }
  return f.get();
}

template <class T>
T await(std::future<T>&& f, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  return await(f, timeout);
}

template <class T>
bool is_ready(const std::future<T>& f) {
  return f.wait_for(std::chrono::milliseconds(0)) == std::future_status::ready;
}

// A coordinator over a temporary data dir, with topics "orders" (6
// partitions) and "audit" (1), hand-driven time and short timeouts.
class coordinator_fixture : public ::testing::Test {
 protected:
  coordinator_fixture() {
    config.initial_rebalance_delay_ms = 100;
    config.min_session_timeout_ms = 1000;
    config.max_session_timeout_ms = 60'000;
    config.offsets_retention_ms = 3'600'000;
    config.offsets_retention_check_interval_ms = 600'000;
    open();
  }

  void open() {
    coordinator = std::make_unique<group_coordinator>(
        config, dir.path() / "metadata.db", timers,
        [this](const std::string& topic) {
          std::lock_guard lock(topics_mu);
          auto it = topics.find(topic);
          return it == topics.end() ? -1 : it->second;
        },
        [this] { return timers.now_ms(); });
    coordinator->start();
  }

  // Stops the coordinator (writing what is queued) and opens a new one on
  // the same database: what a broker restart does.
  void restart() {
    coordinator.reset();
    open();
  }

  void delete_topic(const std::string& topic) {
    {
      std::lock_guard lock(topics_mu);
      topics.erase(topic);
    }
    coordinator->on_topic_deleted(topic);
  }

  std::future<join_result> join(const std::string& group, const std::string& member_id,
                                 const std::vector<std::string>& topics_subscribed = {"orders"},
                                 std::optional<std::string> instance = std::nullopt, bool v4 = true,
                                 int32_t session_timeout_ms = 10'000, int32_t rebalance_timeout_ms = 20'000,
                                 const std::string& protocol = "range", bool v9 = false) {
    join_request r;
    r.group_id = group;
    r.member_id = member_id;
    r.group_instance_id = std::move(instance);
    r.client_id = "client";
    r.client_host = "/127.0.0.1";
    r.session_timeout_ms = session_timeout_ms;
    r.rebalance_timeout_ms = rebalance_timeout_ms;
    r.protocol_type = "consumer";
    r.protocols = {{protocol, subscription(topics_subscribed)}};
    r.require_known_member_id = v4;
    r.supports_skip_assignment = v9;
    return join(std::move(r));
  }

  std::future<join_result> join(join_request r) {
    auto p = std::make_shared<std::promise<join_result>>();
    auto f = p->get_future();
    coordinator->join_group(std::move(r), [p](join_result result) { p->set_value(std::move(result)); });
    return f;
  }

  std::future<sync_result> sync(const std::string& group, const std::string& member_id, int32_t generation,
                                std::vector<std::pair<std::string, protocol::bytes>> assignments = {},
                                std::optional<std::string> instance = std::nullopt) {
    sync_request r;
    r.group_id = group;
    r.member_id = member_id;
    r.generation_id = generation;
    r.group_instance_id = std::move(instance);
    r.assignments = std::move(assignments);
    auto p = std::make_shared<std::promise<sync_result>>();
    auto f = p->get_future();
    coordinator->sync_group(std::move(r), [p](sync_result result) { p->set_value(std::move(result)); });
    return f;
  }

  std::vector<std::error_code> commit(const std::string& group, const std::string& member_id, int32_t generation,
                                      std::vector<std::pair<topic_partition, int64_t>> offsets,
                                      const std::string& metadata = "", int64_t retention_time_ms = -1) {
    offset_commit_request r;
    r.group_id = group;
    r.member_id = member_id;
    r.generation_id = generation;
    r.retention_time_ms = retention_time_ms;
    for (auto& [tp, offset] : offsets) {
      committed_offset c;
      c.offset = offset;
      c.metadata = metadata;
      c.commit_timestamp_ms = -1;  // now
      r.offsets.emplace_back(tp, c);
    }
    auto p = std::make_shared<std::promise<std::vector<std::error_code>>>();
    auto f = p->get_future();
    coordinator->commit_offsets(std::move(r), [p](std::vector<std::error_code> e) { p->set_value(std::move(e)); });
    return await(f);
  }

  int64_t fetch(const std::string& group, const std::string& topic, int32_t partition) {
    auto f = coordinator->fetch_offsets(group, std::vector<topic_partition>{{topic, partition}}, false);
    return f.at(0).value.offset;
  }

  // A stable group of one member ("orders" partitions 0-5): returns its id
  // and the generation.
  std::pair<std::string, int32_t> stable_single_member(const std::string& group) {
    auto first = join(group, "");
    auto required = await(first);
    auto joined = join(group, required.member_id);
    timers.advance(config.initial_rebalance_delay_ms);
    auto r = await(joined);
    auto s = sync(group, r.member_id, r.generation_id, {{r.member_id, assignment("orders", {0, 1, 2, 3, 4, 5})}});
    await(s);
    return {r.member_id, r.generation_id};
  }

  coordinator_config config;
  temp_dir dir;
  manual_scheduler timers;
  std::mutex topics_mu;
  std::map<std::string, int32_t> topics{{"orders", 6}, {"audit", 1}};
  std::unique_ptr<group_coordinator> coordinator;
};

}  // namespace geomirror::group::testing

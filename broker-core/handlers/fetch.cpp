// Fetch (key 1): serve record batches straight from the segment files, as a
// long poll: answer at once when min_bytes are available or a partition has
// an error, otherwise wait until new data arrives or max_wait_ms passes.
//
// Record data never passes through the broker's memory when it is in the
// page cache: the response names slices of segment files that the network
// layer sends with sendfile. A read that would wait for the disk (data, or a
// batch header, not cached) is not done on the network thread: the fetch
// moves to the storage I/O threads, which copy the cold bytes into the
// response instead. When the long poll wakes, only the partitions whose
// high watermark moved are read again.

#include "broker-core/handlers/error_mapping.h"
#include "broker-core/handlers/handlers.h"
#include "broker-core/protocol/error_code.h"
#include "broker-core/protocol/messages/fetch_request.h"
#include "broker-core/protocol/messages/fetch_response.h"
#include "broker-core/storage/errc.h"

#include <fmt/format.h>

#include <mutex>

namespace geomirror::handlers {
namespace {

using protocol::error_code;
using protocol::wire;

// One partition of the request and what was last read of it.
struct partition_state {
  size_t topic_index;
  int32_t partition;
  int64_t fetch_offset;
  int32_t max_bytes;
  std::shared_ptr<storage::partition_log> log;  // null when `error` is set
  error_code error = error_code::none;
  uint64_t waiter = 0;  // id of the registered high-watermark waiter, 0 if none
  // Reads wanted (bumped by each wake-up) and done: dirty while they differ.
  uint64_t wanted = 1;
  uint64_t done = 0;
  storage::read_result read;
  std::optional<records::bytes> copied;  // cold data, read on an I/O thread

  bool dirty() const { return error == error_code::none && done != wanted; }
  uint64_t bytes() const { return copied ? copied->size() : read.size(); }
};

class fetch_operation : public std::enable_shared_from_this<fetch_operation> {
 public:
  fetch_operation(const request_context& ctx, protocol::fetch_request request, responder r)
      : ctx_(ctx), request_(std::move(request)), r_(std::move(r)) {}

  void start() {
    plan();
    run(false);
  }

 private:
  void plan() {
    for (size_t t = 0; t < request_.topics.size(); ++t) {
      const auto& topic_req = request_.topics[t];
      std::shared_ptr<const metadata::topic_snapshot> topic;
      error_code topic_error = error_code::none;
      if (ctx_.version() >= 13) {
        topic = ctx_.services.topics.find(topic_req.topic_id);
        if (!topic) topic_error = error_code::unknown_topic_id;
      } else {
        topic = ctx_.services.topics.find(topic_req.topic);
        if (!topic) topic_error = error_code::unknown_topic_or_partition;
      }
      for (const auto& p : topic_req.partitions) {
        partition_state s{t, p.partition, p.fetch_offset, p.partition_max_bytes, nullptr, topic_error};
        if (topic) {
          s.log = topic->partition(p.partition);
          if (!s.log) s.error = error_code::unknown_topic_or_partition;
        }
        // As Kafka (KIP-110): a client too old for zstd (Fetch below v10) may
        // not read a topic whose compression.type is zstd.
        if (s.error == error_code::none && ctx_.version() < 10 &&
            topic->log.compression == records::compression_codec::zstd) {
          s.error = error_code::unsupported_compression_type;
        }
        // The leader epoch of every partition is 0: a client that saw a newer
        // one is ahead of us, an older one is fenced (KIP-320).
        if (s.error == error_code::none && p.current_leader_epoch > 0) {
          s.error = error_code::unknown_leader_epoch;
        } else if (s.error == error_code::none && p.current_leader_epoch < -1) {
          s.error = error_code::fenced_leader_epoch;
        }
        partitions_.push_back(std::move(s));
      }
    }
  }

  // A read of one dirty partition, done without the operation's lock.
  struct job {
    size_t index;
    uint64_t wanted;
    int64_t fetch_offset;
    int32_t max_bytes;
    std::shared_ptr<storage::partition_log> log;
    storage::read_result read;
    std::error_code error;
    std::optional<records::bytes> copied;
  };

  // Reads the dirty partitions, in request order, within the response's
  // byte limit; `others` starts as the bytes of the partitions kept as they
  // are. KIP-74: the first partition with data gets its first batch whole.
  void read_jobs(std::vector<job>& jobs, uint64_t others, bool may_block) {
    const int64_t response_max = request_.max_bytes;
    for (auto& j : jobs) {
      const int64_t budget = std::min<int64_t>(j.max_bytes, response_max - static_cast<int64_t>(others));
      const bool min_one = others == 0;
      auto read = j.log->read(j.fetch_offset, static_cast<int32_t>(std::max<int64_t>(budget, 0)), min_one, may_block);
      if (!read) {
        j.error = read.error();
        continue;
      }
      j.read = std::move(read).value();
      if (may_block && !j.read.slices.empty()) {
        auto bytes = storage::read_bytes(j.read);
        if (!bytes) {
          j.error = bytes.error();
          continue;
        }
        j.copied = std::move(bytes).value();
      }
      others += j.copied ? j.copied->size() : j.read.size();
    }
  }

  // Reads what is dirty and answers when the request is satisfied, the
  // deadline passed, or an error needs reporting; otherwise arms the
  // wake-ups (new data on a partition, or the deadline). One run at a time:
  // a run asked for meanwhile is done by the running one.
  void run(bool on_io_thread) {
    std::unique_lock lock(mu_);
    if (answered_) return;
    if (busy_) {
      again_ = true;
      return;
    }
    busy_ = true;
    while (true) {
      again_ = false;
      std::vector<job> jobs;
      uint64_t others = 0;
      for (size_t i = 0; i < partitions_.size(); ++i) {
        auto& p = partitions_[i];
        if (p.dirty()) {
          jobs.push_back({i, p.wanted, p.fetch_offset, p.max_bytes, p.log});
        } else {
          others += p.bytes();
        }
      }
      lock.unlock();
      read_jobs(jobs, others, on_io_thread);
      lock.lock();
      bool blocked = false;
      for (auto& j : jobs) {
        auto& p = partitions_[j.index];
        if (j.error == storage::errc::would_block) {
          blocked = true;  // stays dirty: read again on an I/O thread
          continue;
        }
        if (j.error) {
          p.error = to_wire(j.error);
          continue;
        }
        // A wake-up during the read asked for another one: keep it dirty.
        p.done = std::max(p.done, j.wanted);
        p.read = std::move(j.read);
        p.copied = std::move(j.copied);
      }
      if (blocked) {
        busy_ = false;
        if (!io_pending_) {
          io_pending_ = true;
          ctx_.services.io.post([self = shared_from_this()] {
            {
              std::lock_guard relock(self->mu_);
              self->io_pending_ = false;
            }
            self->run(true);
          });
        }
        return;
      }
      if (again_) continue;
      if (satisfied_locked()) {
        answered_ = true;
        for (auto& p : partitions_) {
          if (p.waiter != 0) p.log->remove_high_watermark_waiter(p.waiter);
          p.waiter = 0;
        }
        lock.unlock();
        if (deadline_) deadline_->cancel();
        respond();
        return;
      }
      arm_locked();
      if (again_) continue;
      busy_ = false;
      return;
    }
  }

  bool satisfied_locked() const {
    if (deadline_passed_ || request_.max_wait_ms <= 0) return true;
    uint64_t bytes = 0;
    for (const auto& p : partitions_) {
      if (p.error != error_code::none) return true;
      bytes += p.bytes();
    }
    return static_cast<int64_t>(bytes) >= request_.min_bytes;
  }

  void wake(size_t i) {
    {
      std::lock_guard lock(mu_);
      partitions_[i].waiter = 0;
      ++partitions_[i].wanted;
    }
    run(false);
  }

  void arm_locked() {
    if (!deadline_) {
      // The deadline task owns the operation while it waits; wake-ups only
      // refer to it.
      deadline_ = ctx_.services.timers.after(std::chrono::milliseconds(request_.max_wait_ms), [self = shared_from_this()] {
        {
          std::lock_guard lock(self->mu_);
          self->deadline_passed_ = true;
        }
        self->run(false);
      });
    }
    std::weak_ptr<fetch_operation> weak = shared_from_this();
    for (size_t i = 0; i < partitions_.size(); ++i) {
      auto& p = partitions_[i];
      if (p.waiter != 0 || !p.log || p.dirty()) continue;
      // The waiter fires on the thread that advanced the high watermark: hop
      // to a network thread before reading.
      p.waiter = p.log->add_high_watermark_waiter([weak, i] {
        auto self = weak.lock();
        if (!self) return;
        self->ctx_.services.timers.after(std::chrono::milliseconds(0), [weak, i] {
          if (auto s = weak.lock()) s->wake(i);
        });
      });
      // Data that arrived between the read and the registration.
      if (p.log->high_watermark() > p.read.high_watermark && p.fetch_offset >= p.read.high_watermark) {
        ++p.wanted;
        again_ = true;
      }
    }
  }

  void respond() {
    protocol::fetch_response response;
    response.session_id = 0;  // no fetch session: every request is a full fetch
    for (const auto& topic_req : request_.topics) {
      auto& t = response.responses.emplace_back();
      t.topic = topic_req.topic;
      t.topic_id = topic_req.topic_id;
    }
    uint64_t zero_copy = 0;
    uint64_t copied = 0;
    for (auto& p : partitions_) {
      auto& out = response.responses[p.topic_index].partitions.emplace_back();
      out.partition_index = p.partition;
      if (request_.isolation_level == 1) out.aborted_transactions.emplace();
      // Kafka answers an erroring partition with an empty record set, never
      // a null one (librdkafka rejects the whole response on a null records
      // field), and with its offsets unknown (-1).
      out.records.emplace();
      if (p.error != error_code::none) {
        out.error_code = wire(p.error);
        out.high_watermark = -1;
        out.last_stable_offset = -1;
        out.log_start_offset = -1;
        continue;
      }
      out.high_watermark = p.read.high_watermark;
      out.last_stable_offset = p.read.high_watermark;
      out.log_start_offset = p.read.log_start_offset;
      if (p.copied) {
        copied += p.copied->size();
        out.records->owned() = std::move(*p.copied);
      } else {
        zero_copy += p.read.size();
        for (const auto& s : p.read.slices) out.records->append({s.seg, s.fd(), s.position, s.length});
      }
    }
    if (ctx_.services.probe != nullptr) ctx_.services.probe->record_fetched(zero_copy, copied);
    // Everything but the record data: a few dozen bytes per partition.
    protocol::bytes body;
    body.reserve(64 + request_.topics.size() * 64 + partitions_.size() * 64);
    base::splice_list splices;
    protocol::writer w(body, &splices);
    response.encode(w, ctx_.version());
    r_.respond(response_body(std::move(body), std::move(splices)));
  }

  request_context ctx_;
  protocol::fetch_request request_;
  responder r_;
  std::vector<partition_state> partitions_;
  std::mutex mu_;
  bool answered_ = false;
  bool busy_ = false;
  bool again_ = false;
  bool deadline_passed_ = false;
  bool io_pending_ = false;  // a run is queued on the I/O threads
  std::shared_ptr<base::scheduled_task> deadline_;
};

}  // namespace

void handle_fetch(const request_context& ctx, responder r) {
  auto request = ctx.decode<protocol::fetch_request>();
  // Fetch sessions (KIP-227) are not kept: session id 0 tells the client to
  // send full requests. Only a request naming an existing session fails.
  if (request.session_id != 0) {
    protocol::fetch_response response;
    response.error_code = wire(error_code::fetch_session_id_not_found);
    response.session_id = 0;
    r.respond(ctx.encode(response));
    return;
  }
  auto op = std::make_shared<fetch_operation>(ctx, std::move(request), std::move(r));
  op->start();
}

}  // namespace geomirror::handlers

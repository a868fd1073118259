// Fetch (key 1): serve record batches straight from the segment files, as a
// long poll: answer at once when min_bytes are available or a partition has
// an error, otherwise wait until new data arrives or max_wait_ms passes.

#include "broker-core/handlers/error_mapping.h"
#include "broker-core/handlers/handlers.h"
#include "broker-core/protocol/error_code.h"
#include "broker-core/protocol/messages/fetch_request.h"
#include "broker-core/protocol/messages/fetch_response.h"

#include <fmt/format.h>

#include <mutex>

namespace geomirror::handlers {
namespace {

using protocol::error_code;
using protocol::wire;

// One partition of the request, resolved once.
struct planned_partition {
  size_t topic_index;
  int32_t partition;
  int64_t fetch_offset;
  int32_t max_bytes;
  std::shared_ptr<storage::partition_log> log;  // null when `error` is set
  error_code error = error_code::none;
  uint64_t waiter = 0;  // id of the registered high-watermark waiter, 0 if none
};

class fetch_operation : public std::enable_shared_from_this<fetch_operation> {
 public:
  fetch_operation(const request_context& ctx, protocol::fetch_request request, responder r)
      : ctx_(ctx), request_(std::move(request)), r_(std::move(r)) {}

  void start() {
    plan();
    attempt(false);
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
        planned_partition planned{t, p.partition, p.fetch_offset, p.partition_max_bytes, nullptr, topic_error};
        if (topic) {
          planned.log = topic->partition(p.partition);
          if (!planned.log) planned.error = error_code::unknown_topic_or_partition;
        }
        // As Kafka (KIP-110): a client too old for zstd (Fetch below v10) may
        // not read a topic whose compression.type is zstd.
        if (planned.error == error_code::none && ctx_.version() < 10 &&
            topic->log.compression == records::compression_codec::zstd) {
          planned.error = error_code::unsupported_compression_type;
        }
        // The leader epoch of every partition is 0: a client that saw a newer
        // one is ahead of us, an older one is fenced (KIP-320).
        if (planned.error == error_code::none && p.current_leader_epoch > 0) {
          planned.error = error_code::unknown_leader_epoch;
        } else if (planned.error == error_code::none && p.current_leader_epoch < -1) {
          planned.error = error_code::fenced_leader_epoch;
        }
        partitions_.push_back(std::move(planned));
      }
    }
  }

  protocol::fetch_response read_all(size_t& bytes, bool& has_error) {
    protocol::fetch_response response;
    response.session_id = 0;  // no fetch session: every request is a full fetch
    for (const auto& topic_req : request_.topics) {
      auto& t = response.responses.emplace_back();
      t.topic = topic_req.topic;
      t.topic_id = topic_req.topic_id;
    }
    const int64_t response_max = request_.max_bytes;
    bytes = 0;
    has_error = false;
    for (const auto& planned : partitions_) {
      auto& out = response.responses[planned.topic_index].partitions.emplace_back();
      out.partition_index = planned.partition;
      out.high_watermark = -1;
      out.last_stable_offset = -1;
      out.log_start_offset = -1;
      if (request_.isolation_level == 1) out.aborted_transactions.emplace();
      // Kafka answers an erroring partition with an empty record set, never a
      // null one: librdkafka rejects the whole response on a null records field.
      out.records.emplace();
      if (planned.error != error_code::none) {
        out.error_code = wire(planned.error);
        has_error = true;
        continue;
      }
      int64_t budget = std::min<int64_t>(planned.max_bytes, response_max - static_cast<int64_t>(bytes));
      bool min_one = bytes == 0;  // KIP-74: the first batch is returned whole even when too large
      if (budget <= 0 && !min_one) {
        out.high_watermark = planned.log->high_watermark();
        out.last_stable_offset = out.high_watermark;
        out.log_start_offset = planned.log->log_start_offset();
        continue;
      }
      auto read = planned.log->read(planned.fetch_offset, static_cast<int32_t>(std::max<int64_t>(budget, 0)), min_one);
      if (!read) {
        // As Kafka: an erroring partition reports its offsets as unknown (-1).
        out.error_code = wire(to_wire(read.error()));
        has_error = true;
        continue;
      }
      auto& result = read.value();
      out.high_watermark = result.high_watermark;
      out.last_stable_offset = result.high_watermark;
      out.log_start_offset = result.log_start_offset;
      bytes += result.data.size();
      out.records = std::move(result.data);
    }
    return response;
  }

  // Reads every partition and answers if the request is satisfied, the
  // deadline passed (`final`), or an error needs reporting; otherwise arms the
  // wake-ups (new data on any partition, or the deadline).
  void attempt(bool final) {
    std::unique_lock lock(mu_);
    if (answered_) return;
    size_t bytes = 0;
    bool has_error = false;
    auto response = read_all(bytes, has_error);
    if (final || has_error || request_.max_wait_ms <= 0 || static_cast<int64_t>(bytes) >= request_.min_bytes) {
      answered_ = true;
      for (auto& planned : partitions_) {
        if (planned.waiter != 0) planned.log->remove_high_watermark_waiter(planned.waiter);
        planned.waiter = 0;
      }
      lock.unlock();
      if (deadline_) deadline_->cancel();
      r_.respond(ctx_.encode(response));
      return;
    }
    std::weak_ptr<fetch_operation> weak = shared_from_this();
    if (!deadline_) {
      // The deadline task owns the operation while it waits; wake-ups only
      // refer to it.
      deadline_ = ctx_.services.timers.after(std::chrono::milliseconds(request_.max_wait_ms),
                                             [self = shared_from_this()] { self->attempt(true); });
    }
    for (size_t i = 0; i < partitions_.size(); ++i) {
      auto& planned = partitions_[i];
      if (planned.waiter != 0 || !planned.log) continue;
      // The waiter fires on the thread that advanced the high watermark:
      // hop to a network thread before reading.
      planned.waiter = planned.log->add_high_watermark_waiter([weak, i] {
        auto self = weak.lock();
        if (!self) return;
        self->ctx_.services.timers.after(std::chrono::milliseconds(0), [weak, i] {
          auto self = weak.lock();
          if (!self) return;
          {
            std::lock_guard relock(self->mu_);
            self->partitions_[i].waiter = 0;
          }
          self->attempt(false);
        });
      });
    }
  }

  request_context ctx_;
  protocol::fetch_request request_;
  responder r_;
  std::vector<planned_partition> partitions_;
  std::mutex mu_;
  bool answered_ = false;
  std::shared_ptr<net::scheduled_task> deadline_;
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

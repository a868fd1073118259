// Produce (key 0): validate each partition's record batch, append it, and
// answer per acks: 0 never, 1 after the write, -1 once the topic's flush
// policy has made it durable (fdatasync'ed by group commit by default).

#include "broker-core/base/clock.h"
#include "broker-core/handlers/error_mapping.h"
#include "broker-core/handlers/handlers.h"
#include "broker-core/protocol/error_code.h"
#include "broker-core/protocol/messages/produce_request.h"
#include "broker-core/protocol/messages/produce_response.h"
#include "broker-core/records/batch_filter.h"
#include "broker-core/records/legacy_message_set.h"
#include "broker-core/records/record.h"
#include "broker-core/records/record_batch.h"

#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <mutex>

namespace geomirror::handlers {
namespace {

using protocol::error_code;
using protocol::wire;
using partition_response = protocol::produce_response::partition_produce_response;

struct partition_outcome {
  error_code code = error_code::none;
  std::string message;
};

// Produce v0-v2 may carry the old MessageSet formats (magic 0/1): convert
// them into one RecordBatch v2, as Kafka's LogValidator does, so the log
// holds only v2 batches.
partition_outcome upconvert_legacy(std::optional<protocol::record_set>& records, int16_t version) {
  if (version >= 3 || !records || !records::is_legacy_message_set(records->owned())) return {};
  auto converted = records::upconvert_message_set(records->owned());
  if (!converted) {
    return {to_wire(converted.error()), fmt::format("Message set is invalid: {}", converted.error().message())};
  }
  records = std::move(converted).value();
  return {};
}

// Checks a produced batch the way Kafka's LogValidator does before anything
// is written: exactly one well-formed magic-2 batch with a valid CRC, with a
// compression codec the request version allows.
partition_outcome check_batch(const std::optional<protocol::record_set>& records, const metadata::topic_snapshot& topic,
                              int16_t version) {
  if (!records || records->empty()) {
    return {error_code::invalid_record, "Produce requests with version 3 and above must contain exactly one record batch"};
  }
  std::span<const uint8_t> data(records->owned());
  auto header = records::parse_batch_header(data);
  if (!header) {
    return {to_wire(header.error()), fmt::format("Record batch is invalid: {}", header.error().message())};
  }
  if (header.value().size_bytes() < data.size()) {
    return {error_code::invalid_record, "Produce requests with version 3 and above must contain exactly one record batch"};
  }
  if (auto valid = records::validate_produced_batch(data); !valid) {
    return {to_wire(valid.error()), fmt::format("Record batch is invalid: {}", valid.error().message())};
  }
  if (header.value().compression() == records::compression_codec::zstd && version < 7) {
    return {error_code::unsupported_compression_type, "Produce requests below version 7 cannot carry zstd batches"};
  }
  if (header.value().is_transactional()) {
    return {error_code::invalid_txn_state, "This broker does not run transactions; transactional batches are refused"};
  }
  if (topic.log.compact) {
    // A compacted topic keeps the newest record per key: a record without a
    // key could never be compacted, so Kafka refuses it.
    bool keyless = false;
    auto walked = records::for_each_record(data, [&](const records::record_view& record) {
      keyless = !record.key.has_value();
      return !keyless;
    });
    if (!walked) return {to_wire(walked.error()), fmt::format("Record batch is invalid: {}", walked.error().message())};
    if (keyless) {
      return {error_code::invalid_record, fmt::format("Compacted topic cannot accept message without key in topic {}.", topic.name)};
    }
  }
  return {};
}

// Applies the topic's compression.type as Kafka's LogValidator does: a batch
// with another codec is recompressed (its records checked first, as they are
// decoded anyway); one that matches is stored as sent. The header -- producer
// id, epoch and sequence included -- is unchanged, so idempotence is too.
partition_outcome apply_topic_compression(protocol::bytes& records, const metadata::topic_snapshot& topic) {
  const auto target = topic.log.compression;
  if (!target) return {};
  auto header = records::parse_batch_header(records);
  if (header && header.value().compression() == *target) return {};
  if (auto valid = records::validate_produced_batch(records, true); !valid) {
    return {to_wire(valid.error()), fmt::format("Record batch is invalid: {}", valid.error().message())};
  }
  auto recompressed = records::recompress_batch(records, *target);
  if (!recompressed) {
    return {to_wire(recompressed.error()), fmt::format("Record batch is invalid: {}", recompressed.error().message())};
  }
  records = std::move(recompressed).value();
  return {};
}

// max.message.bytes applies to the batch as stored (after recompression).
partition_outcome check_size(const protocol::bytes& records, const metadata::topic_snapshot& topic) {
  if (static_cast<int64_t>(records.size()) <= topic.log.max_message_bytes) return {};
  return {error_code::message_too_large,
          fmt::format("The record batch is {} bytes, larger than max.message.bytes ({}) of topic {}", records.size(),
                      topic.log.max_message_bytes, topic.name)};
}

// One Produce request in flight: appends complete at once or, when a
// partition rolls its segment, from a storage thread; then the request is
// answered per acks -- for acks=-1 once every partition's last record is
// durable or the request timeout expired.
class produce_operation : public std::enable_shared_from_this<produce_operation> {
 public:
  produce_operation(request_context ctx, responder r, int16_t acks, int32_t timeout_ms)
      : ctx_(std::move(ctx)), r_(std::move(r)), acks_(acks), timeout_ms_(timeout_ms) {}

  protocol::produce_response& response() { return response_; }

  // Records a partition's failure before anything was appended.
  void failed(size_t t, size_t p, const partition_outcome& outcome) {
    std::lock_guard lock(mu_);
    fail_locked(t, p, outcome);
  }

  void append(size_t t, size_t p, std::shared_ptr<storage::partition_log> log, records::bytes batch, int64_t now) {
    {
      std::lock_guard lock(mu_);
      ++appending_;
    }
    auto self = shared_from_this();
    log->append(std::move(batch), now, [self, t, p, log](result<storage::append_info> appended) {
      self->appended(t, p, log, std::move(appended));
    });
  }

  // Every partition has been handed over: answer once the appends are done.
  void submitted() {
    std::unique_lock lock(mu_);
    submitted_ = true;
    if (appending_ == 0) finish(lock);
  }

 private:
  struct wait {
    size_t topic;
    size_t partition;
    std::shared_ptr<storage::partition_log> log;
    int64_t offset;
    bool done = false;
  };

  partition_response& out(size_t t, size_t p) { return response_.responses[t].partition_responses[p]; }

  void fail_locked(size_t t, size_t p, const partition_outcome& outcome) {
    out(t, p).error_code = wire(outcome.code);
    out(t, p).error_message = outcome.message;
    if (first_error_.empty()) {
      first_error_ = fmt::format("{}-{}: {}", response_.responses[t].name, out(t, p).index, outcome.message);
    }
  }

  void appended(size_t t, size_t p, std::shared_ptr<storage::partition_log> log,
                result<storage::append_info> appended) {
    std::unique_lock lock(mu_);
    if (!appended) {
      fail_locked(t, p, {to_wire(appended.error()), fmt::format("Append failed: {}", appended.error().message())});
    } else {
      auto& o = out(t, p);
      o.base_offset = appended.value().base_offset;
      o.log_append_time_ms = appended.value().log_append_time_ms;
      o.log_start_offset = appended.value().log_start_offset;
      if (acks_ == -1) waits_.push_back({t, p, std::move(log), appended.value().last_offset});
    }
    if (--appending_ == 0 && submitted_) finish(lock);
  }

  void finish(std::unique_lock<std::mutex>& lock) {
    if (acks_ == 0) {
      // Kafka closes the connection of an acks=0 producer whose write failed:
      // it is the only signal such a producer gets.
      const std::string error = first_error_;
      lock.unlock();
      if (!error.empty()) {
        r_.close(fmt::format("acks=0 produce failed ({})", error));
      } else {
        r_.respond(std::nullopt);
      }
      return;
    }
    if (waits_.empty()) {
      answered_ = true;
      lock.unlock();
      r_.respond(ctx_.encode(response_));
      return;
    }
    remaining_ = waits_.size();
    auto self = shared_from_this();
    timeout_ = ctx_.services.timers.after(std::chrono::milliseconds(std::max(timeout_ms_, 0)),
                                          [self] { self->expire(); });
    // when_durable may call back at once: register without the lock.
    std::vector<std::pair<std::shared_ptr<storage::partition_log>, int64_t>> targets;
    for (const auto& w : waits_) targets.emplace_back(w.log, w.offset);
    lock.unlock();
    for (size_t i = 0; i < targets.size(); ++i) {
      targets[i].first->when_durable(targets[i].second, [self, i](std::error_code ec) { self->durable(i, ec); });
    }
  }

  void durable(size_t i, std::error_code ec) {
    std::unique_lock lock(mu_);
    if (answered_) return;
    waits_[i].done = true;
    if (ec) {
      auto& o = out(waits_[i].topic, waits_[i].partition);
      o.error_code = wire(to_wire(ec));
      o.error_message = fmt::format("Write could not be made durable: {}", ec.message());
    }
    if (--remaining_ > 0) return;
    answered_ = true;
    lock.unlock();
    if (timeout_) timeout_->cancel();
    r_.respond(ctx_.encode(response_));
  }

  void expire() {
    std::unique_lock lock(mu_);
    if (answered_) return;
    answered_ = true;
    for (const auto& w : waits_) {
      if (w.done) continue;
      auto& o = out(w.topic, w.partition);
      o.error_code = wire(error_code::request_timed_out);
      o.error_message = "The write was not durable within the request timeout";
    }
    lock.unlock();
    r_.respond(ctx_.encode(response_));
  }

  std::mutex mu_;
  request_context ctx_;
  responder r_;
  const int16_t acks_;
  const int32_t timeout_ms_;
  protocol::produce_response response_;
  std::string first_error_;
  size_t appending_ = 0;
  bool submitted_ = false;
  std::vector<wait> waits_;
  size_t remaining_ = 0;
  bool answered_ = false;
  std::shared_ptr<base::scheduled_task> timeout_;
};

}  // namespace

void handle_produce(const request_context& ctx, responder r) {
  auto request = ctx.decode<protocol::produce_request>();
  const int16_t acks = request.acks;
  const bool valid_acks = acks == 0 || acks == 1 || acks == -1;
  const int64_t now = base::wall_clock_ms();
  auto op = std::make_shared<produce_operation>(ctx, std::move(r), acks, request.timeout_ms);
  auto& response = op->response();
  // The response's shape first: appends may complete on other threads.
  for (const auto& topic_data : request.topic_data) {
    auto& topic_out = response.responses.emplace_back();
    topic_out.name = topic_data.name;
    for (const auto& partition_data : topic_data.partition_data) {
      auto& out = topic_out.partition_responses.emplace_back();
      out.index = partition_data.index;
      out.base_offset = -1;
    }
  }
  for (size_t t = 0; t < request.topic_data.size(); ++t) {
    auto& topic_data = request.topic_data[t];
    auto topic = ctx.services.topics.find(topic_data.name);
    for (size_t p = 0; p < topic_data.partition_data.size(); ++p) {
      auto& partition_data = topic_data.partition_data[p];
      partition_outcome outcome;
      std::shared_ptr<storage::partition_log> log = topic ? topic->partition(partition_data.index) : nullptr;
      if (!valid_acks) {
        outcome = {error_code::invalid_required_acks, fmt::format("acks must be 0, 1 or -1, got {}", acks)};
      } else if (!log) {
        outcome = {error_code::unknown_topic_or_partition, "This server does not host this topic-partition."};
      } else if (outcome = upconvert_legacy(partition_data.records, ctx.version()); outcome.code != error_code::none) {
      } else if (outcome = check_batch(partition_data.records, *topic, ctx.version()); outcome.code != error_code::none) {
      } else if (outcome = apply_topic_compression(partition_data.records->owned(), *topic); outcome.code != error_code::none) {
      } else if (outcome = check_size(partition_data.records->owned(), *topic); outcome.code != error_code::none) {
      } else if (acks == -1 && topic->min_insync_replicas > 1) {
        outcome = {error_code::not_enough_replicas,
                   fmt::format("min.insync.replicas of topic {} is {} but a region's broker is its only replica",
                               topic->name, topic->min_insync_replicas)};
      } else {
        op->append(t, p, std::move(log), std::move(partition_data.records->owned()), now);
        continue;
      }
      op->failed(t, p, outcome);
    }
  }
  op->submitted();
}

}  // namespace geomirror::handlers

// Produce (key 0): validate each partition's record batch, append it, and
// answer per acks: 0 never, 1 after the write, -1 once the topic's flush
// policy has made it durable (fdatasync'ed by group commit by default).

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

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

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

// Collects the durability acknowledgements of an acks=-1 request and answers
// once all have arrived or the request timeout expired.
class durable_wait : public std::enable_shared_from_this<durable_wait> {
 public:
  durable_wait(protocol::produce_response response, request_context ctx, responder r)
      : response_(std::move(response)), ctx_(std::move(ctx)), r_(std::move(r)) {}

  void add(size_t topic_index, size_t partition_index) { waits_.push_back({topic_index, partition_index, false}); }

  void start(const std::vector<std::shared_ptr<storage::partition_log>>& logs, const std::vector<int64_t>& offsets,
             int32_t timeout_ms) {
    remaining_ = waits_.size();
    if (remaining_ == 0) {
      finish();
      return;
    }
    auto self = shared_from_this();
    timeout_ = ctx_.services.timers.after(std::chrono::milliseconds(std::max(timeout_ms, 0)), [self] { self->expire(); });
    for (size_t i = 0; i < waits_.size(); ++i) {
      logs[i]->when_durable(offsets[i], [self, i](std::error_code ec) { self->done(i, ec); });
    }
  }

 private:
  struct wait {
    size_t topic;
    size_t partition;
    bool done;
  };

  void done(size_t i, std::error_code ec) {
    std::unique_lock lock(mu_);
    if (answered_) return;
    waits_[i].done = true;
    if (ec) {
      auto& p = response_.responses[waits_[i].topic].partition_responses[waits_[i].partition];
      p.error_code = wire(to_wire(ec));
      p.error_message = fmt::format("Write could not be made durable: {}", ec.message());
    }
    if (--remaining_ > 0) return;
    answered_ = true;
    lock.unlock();
    if (timeout_) timeout_->cancel();
    finish();
  }

  void expire() {
    std::unique_lock lock(mu_);
    if (answered_) return;
    answered_ = true;
    for (const auto& w : waits_) {
      if (w.done) continue;
      auto& p = response_.responses[w.topic].partition_responses[w.partition];
      p.error_code = wire(error_code::request_timed_out);
      p.error_message = "The write was not durable within the request timeout";
    }
    lock.unlock();
    finish();
  }

  void finish() { r_.respond(ctx_.encode(response_)); }

  std::mutex mu_;
  protocol::produce_response response_;
  request_context ctx_;
  responder r_;
  std::vector<wait> waits_;
  size_t remaining_ = 0;
  bool answered_ = false;
  std::shared_ptr<net::scheduled_task> timeout_;
};

}  // namespace

void handle_produce(const request_context& ctx, responder r) {
  auto request = ctx.decode<protocol::produce_request>();
  const int16_t acks = request.acks;
  const bool valid_acks = acks == 0 || acks == 1 || acks == -1;

  protocol::produce_response response;
  std::vector<std::pair<size_t, size_t>> durable_positions;
  std::vector<std::shared_ptr<storage::partition_log>> durable_logs;
  std::vector<int64_t> durable_offsets;
  std::string first_error;
  const int64_t now = now_ms();

  for (auto& topic_data : request.topic_data) {
    auto& topic_out = response.responses.emplace_back();
    topic_out.name = topic_data.name;
    auto topic = ctx.services.topics.find(topic_data.name);
    for (auto& partition_data : topic_data.partition_data) {
      auto& out = topic_out.partition_responses.emplace_back();
      out.index = partition_data.index;
      out.base_offset = -1;
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
        auto appended = log->append(std::span<uint8_t>(partition_data.records->owned()), now);
        if (!appended) {
          outcome = {to_wire(appended.error()), fmt::format("Append failed: {}", appended.error().message())};
        } else {
          out.base_offset = appended.value().base_offset;
          out.log_append_time_ms = appended.value().log_append_time_ms;
          out.log_start_offset = appended.value().log_start_offset;
          if (acks == -1) {
            durable_positions.emplace_back(response.responses.size() - 1, topic_out.partition_responses.size() - 1);
            durable_logs.push_back(log);
            durable_offsets.push_back(appended.value().last_offset);
          }
        }
      }
      if (outcome.code != error_code::none) {
        out.error_code = wire(outcome.code);
        out.error_message = outcome.message;
        if (first_error.empty()) {
          first_error = fmt::format("{}-{}: {}", topic_data.name, partition_data.index, outcome.message);
        }
      }
    }
  }

  if (acks == 0) {
    // Kafka closes the connection of an acks=0 producer whose write failed:
    // it is the only signal such a producer gets.
    if (!first_error.empty()) {
      r.close(fmt::format("acks=0 produce failed ({})", first_error));
    } else {
      r.respond(std::nullopt);
    }
    return;
  }
  if (acks == 1 || durable_logs.empty()) {
    r.respond(ctx.encode(response));
    return;
  }
  auto wait = std::make_shared<durable_wait>(std::move(response), ctx, std::move(r));
  for (const auto& [t, p] : durable_positions) wait->add(t, p);
  wait->start(durable_logs, durable_offsets, request.timeout_ms);
}

}  // namespace geomirror::handlers

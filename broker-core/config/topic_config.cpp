#include "broker-core/config/topic_config.h"

#include <fmt/format.h>

#include <array>

namespace geomirror::config {
namespace {

// Kafka's own defaults except flush.messages: a region runs one broker with
// no replica to lean on, so by default every append is fdatasync'ed (group
// commit) before an acks=-1 producer is answered. Topics may relax it.
const std::array<config_definition, 16> topic_table = {{
    {"cleanup.policy", config_type::list, "delete",
     "'delete' removes whole segments past retention.ms or retention.bytes; 'compact' keeps the newest record per "
     "key (offsets unchanged); 'compact,delete' does both.",
     INT64_MIN, INT64_MAX, {"compact", "delete"}, "log.cleanup.policy"},
    {"compression.type", config_type::string, "producer",
     "The codec batches are stored with: 'producer' keeps each batch as the producer compressed it; 'gzip', "
     "'snappy', 'lz4', 'zstd' or 'uncompressed' recompresses batches with another codec on the way in.",
     INT64_MIN, INT64_MAX, {"uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"}, "compression.type"},
    {"delete.retention.ms", config_type::int64, "86400000",
     "How long tombstones (null values) of a compacted topic stay readable after the cleaner first sees them.", 0,
     INT64_MAX, {}, "log.cleaner.delete.retention.ms"},
    {"flush.messages", config_type::int64, "1",
     "fdatasync after this many records. 1 (the default) syncs every append with group commit and acknowledges "
     "acks=-1 writes only once synced (survives power loss); larger values sync in the background and acknowledge "
     "after the write (survives a killed broker, not power loss).",
     1, INT64_MAX, {}, "log.flush.interval.messages"},
    {"flush.ms", config_type::int64, "9223372036854775807",
     "fdatasync when the oldest unsynced record is this old. A finite value selects background syncing as for "
     "flush.messages > 1.",
     0, INT64_MAX, {}, "log.flush.interval.ms"},
    {"index.interval.bytes", config_type::int32, "4096",
     "Bytes of log between two entries of the sparse offset and time indexes.", 0, INT32_MAX, {},
     "log.index.interval.bytes"},
    {"max.message.bytes", config_type::int32, "1048588",
     "Largest record batch (after compression) a producer may append to this topic.", 0, INT32_MAX, {},
     "message.max.bytes"},
    {"max.compaction.lag.ms", config_type::int64, "9223372036854775807",
     "A compacted record older than this is cleaned even if the dirty ratio is below min.cleanable.dirty.ratio.", 1,
     INT64_MAX, {}, "log.cleaner.max.compaction.lag.ms"},
    {"message.timestamp.type", config_type::string, "CreateTime",
     "CreateTime keeps the producer's timestamps; LogAppendTime stamps each batch with the broker's clock.",
     INT64_MIN, INT64_MAX, {"CreateTime", "LogAppendTime"}, "log.message.timestamp.type"},
    {"min.cleanable.dirty.ratio", config_type::float64, "0.5",
     "Clean a compacted partition once this share of its closed segments' bytes is uncleaned.", 0, 1, {},
     "log.cleaner.min.cleanable.ratio"},
    {"min.compaction.lag.ms", config_type::int64, "0", "Records younger than this are never compacted away.", 0,
     INT64_MAX, {}, "log.cleaner.min.compaction.lag.ms"},
    {"min.insync.replicas", config_type::int32, "1",
     "Replicas that must hold an acks=-1 write. A region's broker is the only replica, so values above 1 make "
     "acks=-1 produce fail with NOT_ENOUGH_REPLICAS, as Kafka would.",
     1, INT32_MAX, {}, "min.insync.replicas"},
    {"retention.bytes", config_type::int64, "-1",
     "Delete the oldest segments while the partition is larger than this (-1: no size limit).", -1, INT64_MAX, {},
     "log.retention.bytes"},
    {"retention.ms", config_type::int64, "604800000",
     "Delete segments whose newest record is older than this (-1: keep forever).", -1, INT64_MAX, {},
     "log.retention.ms"},
    {"segment.bytes", config_type::int32, "1073741824", "Roll to a new segment file at this size.", 14, INT32_MAX, {},
     "log.segment.bytes"},
    {"segment.ms", config_type::int64, "604800000",
     "Roll to a new segment file when the active one is this old, so retention can apply.", 1, INT64_MAX, {},
     "log.roll.ms"},
}};

}  // namespace

std::span<const config_definition> topic_config_table() { return topic_table; }

std::optional<std::string> validate_topic_config(std::string_view key, std::string_view value) {
  const auto* def = find_definition(topic_table, key);
  if (def == nullptr) return fmt::format("Unknown or unsupported topic config name: {}", key);
  return validate(*def, value);
}

std::map<std::string, config_value, std::less<>> effective_topic_config(const topic_defaults& defaults,
                                                                        const topic_overrides& overrides) {
  std::map<std::string, config_value, std::less<>> out;
  for (const auto& def : topic_table) {
    std::string name(def.name);
    if (auto it = overrides.find(name); it != overrides.end()) {
      out[name] = config_value{it->second, config_source::topic, {}};
    } else if (auto d = defaults.find(name); d != defaults.end()) {
      out[name] = d->second;
    } else {
      out[name] = config_value{std::string(def.default_value), config_source::default_value, {}};
    }
  }
  return out;
}

topic_defaults builtin_topic_defaults() {
  topic_defaults out;
  for (const auto& def : topic_table) {
    out[std::string(def.name)] = config_value{std::string(def.default_value), config_source::default_value, {}};
  }
  return out;
}

}  // namespace geomirror::config

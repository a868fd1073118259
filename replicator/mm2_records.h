#pragma once
// MirrorMaker 2's checkpoint and heartbeat records, byte for byte, so that
// MM2-era tooling (RemoteClusterUtils, kafka-ui's mm2 serdes) reads what the
// replicator writes. Both use Kafka's protocol Struct encoding: STRING is an
// int16 length then UTF-8 bytes, INT16/INT32/INT64 big-endian.
//
//   checkpoint key    group STRING, topic STRING, partition INT32
//   checkpoint value  version INT16 (0), upstreamOffset INT64, offset INT64,
//                     metadata STRING
//   heartbeat key     sourceClusterAlias STRING, targetClusterAlias STRING
//   heartbeat value   version INT16 (0), timestamp INT64
//
// (org.apache.kafka.connect.mirror.Checkpoint and Heartbeat.) Decoding
// accepts version 0 only, as MM2 does, and bytes past the struct, which
// MM2's Schema.read ignores too.

#include "offset-translator/offsets.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace geomirror::replicator {

using record_bytes = std::vector<uint8_t>;

// A consumer group's committed offset on the source, translated for the
// target: written to `<source>.checkpoints.internal` on the target.
struct checkpoint {
  std::string group;
  std::string topic;  // the source topic's name, as MM2 writes it
  int32_t partition = 0;
  translator::source_offset upstream_offset{0};
  translator::target_offset downstream_offset{0};
  std::string metadata;  // the commit's metadata ("" when none)
  bool operator==(const checkpoint&) const = default;
};

struct heartbeat {
  std::string source_cluster_alias;
  std::string target_cluster_alias;
  int64_t timestamp_ms = 0;
  bool operator==(const heartbeat&) const = default;
};

record_bytes checkpoint_key(const checkpoint& c);
record_bytes checkpoint_value(const checkpoint& c);
// Nullopt when the bytes are not a version-0 checkpoint.
std::optional<checkpoint> decode_checkpoint(const record_bytes& key, const record_bytes& value);

record_bytes heartbeat_key(const heartbeat& h);
record_bytes heartbeat_value(const heartbeat& h);
std::optional<heartbeat> decode_heartbeat(const record_bytes& key, const record_bytes& value);

}  // namespace geomirror::replicator

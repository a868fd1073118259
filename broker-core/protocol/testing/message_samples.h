#pragma once
// Test support for the generated codec (library protocol_test_samples,
// linked by tests only): sample messages for every schema and version, and a
// registry to round-trip them without naming each message type.
//
// The per-message fillers are generated (samples/fill_samples.h declares
// `fill_sample(<message>&, version, kind)`); this header holds what they
// share. Sample values are deterministic, so failures reproduce.

#include "broker-core/protocol/wire.h"

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

namespace geomirror::protocol::testing {

enum class sample_kind {
  // Every field present in the version holds a non-default value; arrays
  // have two elements; nested and nullable structs are populated; tagged
  // fields differ from their defaults (so they are written); flexible
  // structs carry two unknown tagged fields.
  full,
  // Nullable fields of the version are null; strings, bytes and arrays are
  // empty; everything else keeps its default.
  edge,
};

// Deterministic source of distinct sample values.
class sample_values {
 public:
  // Spreads a counter over all bytes of T (so byte order and sign matter)
  // and never returns `avoid` (the field's default).
  template <class T>
  T integer(T avoid) {
    ++counter_;
    auto v = static_cast<T>(counter_ * 0x0102030405060708ULL + counter_);
    if (v == avoid) v = static_cast<T>(v ^ 1);  // no overflow at the type limits
    return v;
  }
  double float64(double avoid) {
    ++counter_;
    double v = static_cast<double>(counter_) + 0.25;
    return v == avoid ? v + 1 : v;
  }
  // Non-empty; includes a two-byte UTF-8 character.
  std::string text() { return "sample-\xc3\xa9-" + std::to_string(++counter_); }
  bytes blob() {
    ++counter_;
    return bytes{static_cast<uint8_t>(counter_), 0x00, 0xff, 0x80};
  }
  bytes records() {
    bytes out(24);
    for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<uint8_t>(counter_ + i * 7);
    ++counter_;
    return out;
  }
  uuid id() {
    ++counter_;
    uuid u;
    for (size_t i = 0; i < u.value.size(); ++i) u.value[i] = static_cast<uint8_t>(counter_ * 31 + i);
    if (u.is_zero()) u.value[0] = 1;
    return u;
  }
  // Two unknown tagged fields, the second with an empty value.
  unknown_tagged_fields unknown_tags(uint32_t first, uint32_t second) {
    ++counter_;
    return {tagged_field{first, bytes{0xde, 0xad, static_cast<uint8_t>(counter_)}}, tagged_field{second, {}}};
  }

 private:
  uint64_t counter_ = 0;
};

struct round_trip_result {
  bytes encoded;                       // the sample, encoded
  bytes reencoded;                     // encoded, decoded, encoded again
  bool decoded_equals_sample = false;  // decode(encoded) == sample
};

// One generated message, type-erased.
struct message_sample {
  std::string_view name;  // schema name, e.g. "ProduceRequest"
  int16_t api_key;        // -1 for headers and data
  int16_t min_version;
  int16_t max_version;
  int16_t first_flexible_version;
  // The sample of `kind` for `version`, encoded.
  bytes (*encode)(int16_t version, sample_kind kind);
  // The sample of `kind` filled for `sample_version`, encoded at `version`
  // (fields the older version lacks are skipped).
  bytes (*encode_at)(int16_t sample_version, sample_kind kind, int16_t version);
  round_trip_result (*round_trip)(int16_t version, sample_kind kind);
  // Decodes `data` as a whole message (throws decode_error like the codec);
  // then encodes the result, decodes that again and returns whether both
  // decoded values are equal.
  bool (*decode_reencode)(std::span<const uint8_t> data, int16_t version);
};

// Every generated message, in schema file order.
std::span<const message_sample> all_message_samples();

}  // namespace geomirror::protocol::testing

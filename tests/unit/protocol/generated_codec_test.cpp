// Proves, for every generated message, every supported version and both
// sample variants (protocol_test_samples), that:
// - encode -> decode -> encode is byte-identical and decode yields the sample;
// - every strict prefix and any trailing byte is rejected with decode_error;
// - mutated encodings and random garbage either decode (and then re-encode to
//   something that decodes to the same value) or throw decode_error, never
//   anything else (run under ASan/UBSan for memory safety);
// - the newest full sample encodes at every older version (fields absent in
//   that version are skipped silently).
#include "broker-core/protocol/samples/fill_samples.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace geomirror::protocol::testing {
namespace {

struct case_param {
  const message_sample* message;
  int16_t version;
  sample_kind kind;
};

std::string case_name(const ::testing::TestParamInfo<case_param>& info) {
  return std::string(info.param.message->name) + "_v" + std::to_string(info.param.version) +
         (info.param.kind == sample_kind::full ? "_full" : "_edge");
}

std::vector<case_param> all_cases() {
  std::vector<case_param> cases;
  for (const message_sample& m : all_message_samples()) {
    for (int16_t v = m.min_version; v <= m.max_version; ++v) {
      cases.push_back({&m, v, sample_kind::full});
      cases.push_back({&m, v, sample_kind::edge});
    }
  }
  return cases;
}

// Decodes `data`; returns "ok", "decode_error" or fails the test.
std::string try_decode(const message_sample& m, std::span<const uint8_t> data, int16_t version) {
  try {
    const bool stable = m.decode_reencode(data, version);
    EXPECT_TRUE(stable) << m.name << " v" << version << ": decode(encode(decode(x))) != decode(x)";
    return "ok";
  } catch (const decode_error&) {
    return "decode_error";
  } catch (const std::exception& e) {
    ADD_FAILURE() << m.name << " v" << version << ": unexpected exception: " << e.what();
    return "other";
  }
}

class generated_codec : public ::testing::TestWithParam<case_param> {};

TEST_P(generated_codec, round_trip_is_byte_identical) {
  const auto& [m, version, kind] = GetParam();
  const round_trip_result r = m->round_trip(version, kind);
  EXPECT_TRUE(r.decoded_equals_sample);
  EXPECT_EQ(r.encoded, r.reencoded);
  if (kind == sample_kind::full && version >= m->first_flexible_version && m->first_flexible_version >= 0) {
    // Unknown tags ride along in every flexible struct, so the encoding is
    // never the minimal one.
    EXPECT_GT(r.encoded.size(), 4U);
  }
}

TEST_P(generated_codec, every_strict_prefix_is_rejected) {
  const auto& [m, version, kind] = GetParam();
  const bytes encoded = m->encode(version, kind);
  for (size_t n = 0; n < encoded.size(); ++n) {
    // An encoding is self-delimiting: a strict prefix of a valid encoding
    // can never itself be complete (the parse of the full input would stop
    // at the same point), so every prefix must fail.
    EXPECT_EQ(try_decode(*m, std::span(encoded).first(n), version), "decode_error")
        << "prefix of " << n << " of " << encoded.size() << " bytes";
  }
}

TEST_P(generated_codec, trailing_bytes_are_rejected) {
  const auto& [m, version, kind] = GetParam();
  bytes encoded = m->encode(version, kind);
  encoded.push_back(0);
  EXPECT_EQ(try_decode(*m, encoded, version), "decode_error");
}

TEST_P(generated_codec, mutations_decode_or_throw_decode_error) {
  const auto& [m, version, kind] = GetParam();
  const bytes encoded = m->encode(version, kind);
  std::mt19937 rng(static_cast<uint32_t>(version * 7919 + (kind == sample_kind::full ? 1 : 2)));
  for (int i = 0; i < 200; ++i) {
    bytes mutated = encoded;
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits; ++e) {
      const uint32_t op = rng() % 4;
      if (mutated.empty() || op == 0) {
        mutated.insert(mutated.begin() + static_cast<std::ptrdiff_t>(mutated.empty() ? 0 : rng() % mutated.size()),
                       static_cast<uint8_t>(rng()));
      } else if (op == 1) {
        mutated.erase(mutated.begin() + static_cast<std::ptrdiff_t>(rng() % mutated.size()));
      } else if (op == 2) {
        mutated[rng() % mutated.size()] ^= static_cast<uint8_t>(1U << (rng() % 8));
      } else {
        // Lengths and counts are where decoders go wrong: try extremes.
        static constexpr uint8_t extremes[] = {0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff};
        mutated[rng() % mutated.size()] = extremes[rng() % std::size(extremes)];
      }
    }
    try_decode(*m, mutated, version);
  }
}

INSTANTIATE_TEST_SUITE_P(all_messages, generated_codec, ::testing::ValuesIn(all_cases()), case_name);

struct version_param {
  const message_sample* message;
  int16_t version;
};

std::string version_case_name(const ::testing::TestParamInfo<version_param>& info) {
  return std::string(info.param.message->name) + "_v" + std::to_string(info.param.version);
}

std::vector<version_param> all_versions() {
  std::vector<version_param> cases;
  for (const message_sample& m : all_message_samples()) {
    for (int16_t v = m.min_version; v <= m.max_version; ++v) cases.push_back({&m, v});
  }
  return cases;
}

class generated_codec_version : public ::testing::TestWithParam<version_param> {};

TEST_P(generated_codec_version, samples_differ_between_variants) {
  const auto& [m, version] = GetParam();
  const bytes full = m->encode(version, sample_kind::full);
  const bytes edge = m->encode(version, sample_kind::edge);
  // A version without fields (ApiVersionsRequest v0-2) encodes to nothing.
  if (!full.empty()) {
    EXPECT_NE(full, edge);
  }
}

TEST_P(generated_codec_version, newest_sample_encodes_at_this_version) {
  const auto& [m, version] = GetParam();
  // The broker fills the newest version's fields and answers each client in
  // its own version; absent fields are dropped without error.
  bytes encoded;
  ASSERT_NO_THROW(encoded = m->encode_at(m->max_version, sample_kind::full, version));
  EXPECT_EQ(try_decode(*m, encoded, version), "ok");
}

INSTANTIATE_TEST_SUITE_P(all_messages, generated_codec_version, ::testing::ValuesIn(all_versions()),
                         version_case_name);

TEST(generated_codec_garbage, random_input_decodes_or_throws_decode_error) {
  std::mt19937_64 rng(20241025);
  size_t decoded = 0;
  size_t rejected = 0;
  for (const message_sample& m : all_message_samples()) {
    for (int16_t v = m.min_version; v <= m.max_version; ++v) {
      for (int i = 0; i < 300; ++i) {
        bytes garbage(rng() % 513);
        // Mostly small bytes make plausible lengths and counts.
        const bool small = (i % 2) == 0;
        for (auto& b : garbage) b = static_cast<uint8_t>(small ? rng() % 4 : rng());
        const std::string outcome = try_decode(m, garbage, v);
        (outcome == "ok" ? decoded : rejected)++;
      }
    }
  }
  EXPECT_GT(rejected, 0U);
  RecordProperty("decoded", static_cast<int>(decoded));
  RecordProperty("rejected", static_cast<int>(rejected));
}

TEST(generated_codec_registry, covers_every_schema) {
  // 22 schemas at the time of writing; more are added over time.
  EXPECT_GE(all_message_samples().size(), 22U);
  for (const message_sample& m : all_message_samples()) {
    EXPECT_LE(m.min_version, m.max_version) << m.name;
    const bool is_api = m.name.ends_with("Request") || m.name.ends_with("Response");
    const bool is_header = m.name == "RequestHeader" || m.name == "ResponseHeader";
    if (is_api && !is_header) {
      EXPECT_GE(m.api_key, 0) << m.name;
    }
  }
}

TEST(generated_codec_versions, out_of_range_versions_are_rejected) {
  for (const message_sample& m : all_message_samples()) {
    const auto too_new = static_cast<int16_t>(m.max_version + 1);
    EXPECT_THROW(m.encode(too_new, sample_kind::edge), encode_error) << m.name;
    EXPECT_THROW(m.decode_reencode(bytes{}, too_new), decode_error) << m.name;
    if (m.min_version > 0) {
      const auto too_old = static_cast<int16_t>(m.min_version - 1);
      EXPECT_THROW(m.encode(too_old, sample_kind::edge), encode_error) << m.name;
    }
    EXPECT_THROW(m.decode_reencode(bytes{}, -1), decode_error) << m.name;
  }
}

}  // namespace
}  // namespace geomirror::protocol::testing

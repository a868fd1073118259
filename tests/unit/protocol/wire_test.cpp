// Proves the wire runtime's encodings against the Kafka spec (big-endian
// integers, LEB128 and zigzag varints, classic and compact lengths, tagged
// sections, uuid text form) and that malformed input only ever produces a
// decode_error with a useful message.
#include "broker-core/protocol/wire.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <set>
#include <string>
#include <unordered_set>

namespace geomirror::protocol {
namespace {

template <class F>
bytes write(F&& f) {
  bytes out;
  writer w(out);
  f(w);
  return out;
}

template <class F>
std::string decode_error_message(F&& f) {
  try {
    f();
  } catch (const decode_error& e) {
    return e.what();
  }
  return "no decode_error";
}

TEST(wire, fixed_width_integers_are_big_endian) {
  const bytes out = write([](writer& w) {
    w.write_int8(-2);
    w.write_int16(0x0102);
    w.write_int32(-1);
    w.write_int64(0x0102030405060708);
    w.write_uint16(0xfffe);
    w.write_uint32(0x80000001U);
    w.write_bool(true);
  });
  EXPECT_EQ(out, (bytes{0xfe, 0x01, 0x02, 0xff, 0xff, 0xff, 0xff, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06,
                        0x07, 0x08, 0xff, 0xfe, 0x80, 0x00, 0x00, 0x01, 0x01}));
  reader r(out);
  EXPECT_EQ(r.read_int8(), -2);
  EXPECT_EQ(r.read_int16(), 0x0102);
  EXPECT_EQ(r.read_int32(), -1);
  EXPECT_EQ(r.read_int64(), 0x0102030405060708);
  EXPECT_EQ(r.read_uint16(), 0xfffe);
  EXPECT_EQ(r.read_uint32(), 0x80000001U);
  EXPECT_TRUE(r.read_bool());
  EXPECT_TRUE(r.at_end());
}

TEST(wire, float64_is_ieee754_big_endian) {
  const bytes out = write([](writer& w) { w.write_float64(1.5); });
  EXPECT_EQ(out, (bytes{0x3f, 0xf8, 0, 0, 0, 0, 0, 0}));
  reader r(out);
  EXPECT_EQ(r.read_float64(), 1.5);
}

TEST(wire, unsigned_varint_edges) {
  const std::pair<uint32_t, bytes> cases[] = {
      {0, {0x00}},
      {1, {0x01}},
      {127, {0x7f}},
      {128, {0x80, 0x01}},
      {300, {0xac, 0x02}},
      {16383, {0xff, 0x7f}},
      {16384, {0x80, 0x80, 0x01}},
      {0x7fffffff, {0xff, 0xff, 0xff, 0xff, 0x07}},
      {0xffffffff, {0xff, 0xff, 0xff, 0xff, 0x0f}},
  };
  for (const auto& [value, encoded] : cases) {
    EXPECT_EQ(write([&](writer& w) { w.write_unsigned_varint(value); }), encoded) << value;
    reader r(encoded);
    EXPECT_EQ(r.read_unsigned_varint(), value);
    EXPECT_TRUE(r.at_end());
  }
}

TEST(wire, zigzag_varint_edges) {
  // Zigzag maps 0, -1, 1, -2 ... to 0, 1, 2, 3 ... (RECORDS.md).
  const std::pair<int32_t, bytes> cases[] = {
      {0, {0x00}},
      {-1, {0x01}},
      {1, {0x02}},
      {-2, {0x03}},
      {63, {0x7e}},
      {-64, {0x7f}},
      {64, {0x80, 0x01}},
      {std::numeric_limits<int32_t>::max(), {0xfe, 0xff, 0xff, 0xff, 0x0f}},
      {std::numeric_limits<int32_t>::min(), {0xff, 0xff, 0xff, 0xff, 0x0f}},
  };
  for (const auto& [value, encoded] : cases) {
    EXPECT_EQ(write([&](writer& w) { w.write_varint(value); }), encoded) << value;
    reader r(encoded);
    EXPECT_EQ(r.read_varint(), value);
    EXPECT_TRUE(r.at_end());
  }
}

TEST(wire, zigzag_varlong_edges) {
  const int64_t values[] = {0,
                            -1,
                            1,
                            127,
                            128,
                            -129,
                            std::numeric_limits<int32_t>::max(),
                            std::numeric_limits<int64_t>::max(),
                            std::numeric_limits<int64_t>::min()};
  for (int64_t value : values) {
    const bytes encoded = write([&](writer& w) { w.write_varlong(value); });
    reader r(encoded);
    EXPECT_EQ(r.read_varlong(), value);
    EXPECT_TRUE(r.at_end());
  }
  EXPECT_EQ(write([](writer& w) { w.write_varlong(std::numeric_limits<int64_t>::min()); }),
            (bytes{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}));
  EXPECT_EQ(write([](writer& w) { w.write_unsigned_varlong(std::numeric_limits<uint64_t>::max()); }),
            (bytes{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}));
}

TEST(wire, malformed_varints_are_rejected) {
  const bytes too_long{0x80, 0x80, 0x80, 0x80, 0x80, 0x01};
  EXPECT_NE(decode_error_message([&] { reader(too_long).read_unsigned_varint(); }).find("longer than 5 bytes"),
            std::string::npos);
  const bytes overflow{0xff, 0xff, 0xff, 0xff, 0x1f};
  EXPECT_NE(decode_error_message([&] { reader(overflow).read_unsigned_varint(); }).find("32 bits"),
            std::string::npos);
  const bytes long_overflow{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02};
  EXPECT_THROW(reader(long_overflow).read_unsigned_varlong(), decode_error);
  const bytes truncated{0x80, 0x80};
  EXPECT_THROW(reader(truncated).read_unsigned_varint(), decode_error);
  EXPECT_THROW(reader(truncated).read_varlong(), decode_error);
}

TEST(wire, truncated_fixed_reads_name_the_problem) {
  const bytes two{0x00, 0x01};
  reader r(two);
  EXPECT_EQ(decode_error_message([&] { r.read_int32(); }),
            "truncated input: int32 needs 4 bytes, 2 remain at offset 0");
  EXPECT_EQ(r.position(), 0U);  // a failed read consumes nothing
  EXPECT_EQ(r.read_int16(), 1);
  EXPECT_THROW(r.read_int8(), decode_error);
  EXPECT_THROW(r.read_uuid(), decode_error);
}

TEST(wire, classic_and_compact_strings) {
  EXPECT_EQ(write([](writer& w) { w.write_string("ab", false); }), (bytes{0x00, 0x02, 'a', 'b'}));
  EXPECT_EQ(write([](writer& w) { w.write_string("ab", true); }), (bytes{0x03, 'a', 'b'}));
  EXPECT_EQ(write([](writer& w) { w.write_string("", true); }), (bytes{0x01}));
  EXPECT_EQ(write([](writer& w) { w.write_nullable_string(std::nullopt, false); }), (bytes{0xff, 0xff}));
  EXPECT_EQ(write([](writer& w) { w.write_nullable_string(std::nullopt, true); }), (bytes{0x00}));

  const bytes classic_null{0xff, 0xff};
  EXPECT_EQ(reader(classic_null).read_nullable_string(false), std::nullopt);
  EXPECT_NE(decode_error_message([&] { reader(classic_null).read_string(false); }).find("null string"),
            std::string::npos);
  const bytes compact_null{0x00};
  EXPECT_EQ(reader(compact_null).read_nullable_string(true), std::nullopt);
  EXPECT_THROW(reader(compact_null).read_string(true), decode_error);
  const bytes negative{0xff, 0xfe};
  EXPECT_THROW(reader(negative).read_nullable_string(false), decode_error);
}

TEST(wire, lengths_beyond_the_input_are_rejected_before_allocating) {
  bytes input{0x01, 0x2c};  // 300
  input.resize(14, 'x');
  EXPECT_EQ(decode_error_message([&] { reader(input).read_string(false); }),
            "string length 300 exceeds remaining 12 bytes at offset 0");
  const bytes huge_bytes{0x7f, 0xff, 0xff, 0xff, 0x00};
  EXPECT_THROW(reader(huge_bytes).read_bytes(false), decode_error);
  const bytes huge_array{0x7f, 0xff, 0xff, 0xff};
  EXPECT_NE(decode_error_message([&] { reader(huge_array).read_array_length(false); }).find("array length"),
            std::string::npos);
  const bytes compact_huge{0xff, 0xff, 0xff, 0xff, 0x0f};
  EXPECT_THROW(reader(compact_huge).read_nullable_array_length(true), decode_error);
  const bytes negative_array{0xff, 0xff, 0xff, 0xfe};
  EXPECT_THROW(reader(negative_array).read_nullable_array_length(false), decode_error);
  EXPECT_EQ(reader(bytes{0xff, 0xff, 0xff, 0xff}).read_nullable_array_length(false), std::nullopt);
}

TEST(wire, strings_longer_than_int16_are_refused_both_ways) {
  const std::string long_string(max_string_length + 1, 'x');
  EXPECT_THROW(write([&](writer& w) { w.write_string(long_string, false); }), encode_error);
  EXPECT_THROW(write([&](writer& w) { w.write_string(long_string, true); }), encode_error);
  const std::string longest(max_string_length, 'x');
  const bytes ok = write([&](writer& w) { w.write_string(longest, true); });
  EXPECT_EQ(reader(ok).read_string(true).size(), max_string_length);
  // A compact length of 32768 is refused even though the bytes are there.
  bytes compact{0x81, 0x80, 0x02};  // 32769 = length 32768 + 1
  compact.resize(compact.size() + 32768, 'y');
  EXPECT_NE(decode_error_message([&] { reader(compact).read_string(true); }).find("exceeds 32767"),
            std::string::npos);
}

TEST(wire, bytes_classic_and_compact) {
  const bytes data{1, 2, 3};
  EXPECT_EQ(write([&](writer& w) { w.write_bytes(data, false); }), (bytes{0, 0, 0, 3, 1, 2, 3}));
  EXPECT_EQ(write([&](writer& w) { w.write_bytes(data, true); }), (bytes{4, 1, 2, 3}));
  EXPECT_EQ(write([](writer& w) { w.write_nullable_bytes(std::nullopt, false); }), (bytes{0xff, 0xff, 0xff, 0xff}));
  const bytes encoded{4, 1, 2, 3};
  reader r(encoded);
  const auto view = r.read_bytes_view(true);
  EXPECT_EQ(view.data(), encoded.data() + 1);  // zero-copy
  EXPECT_EQ(view.size(), 3U);
}

TEST(wire, array_lengths) {
  EXPECT_EQ(write([](writer& w) { w.write_array_length(2, false); }), (bytes{0, 0, 0, 2}));
  EXPECT_EQ(write([](writer& w) { w.write_array_length(2, true); }), (bytes{3}));
  EXPECT_EQ(write([](writer& w) { w.write_null_array(false); }), (bytes{0xff, 0xff, 0xff, 0xff}));
  EXPECT_EQ(write([](writer& w) { w.write_null_array(true); }), (bytes{0}));
}

TEST(wire, tagged_fields_merge_known_and_unknown_in_tag_order) {
  const unknown_tagged_fields unknown{{0, {0xaa}}, {3, {}}, {200, {0xbb, 0xcc}}};
  bytes out;
  writer w(out);
  tagged_fields_writer tagged;
  tagged.add(1, [](writer& v) { v.write_int8(7); });
  tagged.add(5, [](writer& v) { v.write_int16(9); });
  tagged.finish(w, unknown);
  EXPECT_EQ(out, (bytes{5,                   // count
                        0, 1, 0xaa,          // tag 0 (unknown)
                        1, 1, 7,             // tag 1
                        3, 0,                // tag 3 (unknown, empty)
                        5, 2, 0, 9,          // tag 5
                        0xc8, 0x01, 2, 0xbb, 0xcc}));  // tag 200: two-byte varint tag

  reader r(out);
  unknown_tagged_fields decoded;
  int8_t one = 0;
  int16_t five = 0;
  read_tagged_fields(r, decoded, [&](uint32_t tag, reader& value) {
    if (tag == 1) {
      one = value.read_int8();
      return true;
    }
    if (tag == 5) {
      five = value.read_int16();
      return true;
    }
    return false;
  });
  EXPECT_TRUE(r.at_end());
  EXPECT_EQ(one, 7);
  EXPECT_EQ(five, 9);
  EXPECT_EQ(decoded, unknown);
}

TEST(wire, tagged_field_writer_refuses_bad_unknown_tags) {
  bytes out;
  writer w(out);
  EXPECT_THROW(write_tagged_fields(w, {{3, {}}, {2, {}}}), encode_error);
  EXPECT_THROW(write_tagged_fields(w, {{3, {}}, {3, {}}}), encode_error);
  tagged_fields_writer tagged;
  tagged.add(1, [](writer& v) { v.write_int8(1); });
  EXPECT_THROW(tagged.finish(w, {{1, {}}}), encode_error);
}

TEST(wire, malformed_tagged_sections_are_rejected) {
  unknown_tagged_fields unknown;
  const bytes out_of_order{2, 5, 0, 3, 0};
  EXPECT_NE(decode_error_message([&] {
              reader r(out_of_order);
              read_tagged_fields(r, unknown);
            }).find("strictly ascending"),
            std::string::npos);
  const bytes duplicate{2, 5, 0, 5, 0};
  EXPECT_THROW(
      {
        reader r(duplicate);
        read_tagged_fields(r, unknown);
      },
      decode_error);
  const bytes oversized{1, 0, 9, 1};
  EXPECT_THROW(
      {
        reader r(oversized);
        read_tagged_fields(r, unknown);
      },
      decode_error);
  const bytes too_many{0x7f, 0, 0};
  EXPECT_THROW(
      {
        reader r(too_many);
        read_tagged_fields(r, unknown);
      },
      decode_error);
  // A known tag whose value is not consumed exactly.
  const bytes loose{1, 0, 2, 7, 7};
  EXPECT_THROW(
      {
        reader r(loose);
        read_tagged_fields(r, unknown, [](uint32_t, reader& value) {
          (void)value.read_int8();
          return true;
        });
      },
      decode_error);
}

TEST(wire, writer_size_counts_its_own_bytes) {
  bytes out{1, 2, 3};
  writer w(out);
  EXPECT_EQ(w.size(), 0U);
  w.write_int32(0);
  EXPECT_EQ(w.size(), 4U);
  w.write_tagged_field(3, [](writer& v) { v.write_int64(1); });
  EXPECT_EQ(out.size(), 3U + 4 + 1 + 1 + 8);
  EXPECT_EQ(out[7], 3);  // tag
  EXPECT_EQ(out[8], 8);  // size
}

TEST(uuid, text_form_matches_kafka) {
  // Java: Uuid.ZERO_UUID.toString() and Uuid.METADATA_TOPIC_ID.toString().
  EXPECT_EQ(uuid{}.to_string(), "AAAAAAAAAAAAAAAAAAAAAA");
  uuid one;
  one.value[15] = 1;
  EXPECT_EQ(one.to_string(), "AAAAAAAAAAAAAAAAAAAAAQ");
  uuid all;
  all.value.fill(0xff);
  EXPECT_EQ(all.to_string(), "_____________________w");
  // Uuid(0x0123456789abcdef, 0xfedcba9876543210) in Java.
  uuid mixed{{0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10}};
  EXPECT_EQ(mixed.to_string(), "ASNFZ4mrze_-3LqYdlQyEA");
  EXPECT_EQ(uuid::parse("ASNFZ4mrze_-3LqYdlQyEA"), mixed);
  EXPECT_EQ(uuid::parse("ASNFZ4mrze_-3LqYdlQyEA=="), mixed);
  EXPECT_EQ(uuid::parse("AAAAAAAAAAAAAAAAAAAAAQ"), one);
}

TEST(uuid, parse_rejects_malformed_text) {
  EXPECT_EQ(uuid::parse(""), std::nullopt);
  EXPECT_EQ(uuid::parse("AAAAAAAAAAAAAAAAAAAAA"), std::nullopt);     // 21 chars
  EXPECT_EQ(uuid::parse("AAAAAAAAAAAAAAAAAAAAAAA"), std::nullopt);   // 23 chars
  EXPECT_EQ(uuid::parse("AAAAAAAAAAAAAAAAAAAA+A"), std::nullopt);    // not URL-safe
  EXPECT_EQ(uuid::parse("AAAAAAAAAAAAAAAAAAAAAB"), std::nullopt);    // unused bits set
  EXPECT_EQ(uuid::parse("00000000-0000-0000-0000-000000000000"), std::nullopt);
}

TEST(uuid, random_is_v4_unique_and_never_reserved) {
  std::set<uuid> seen;
  std::unordered_set<uuid> hashed;
  for (int i = 0; i < 1000; ++i) {
    const uuid id = uuid::random();
    EXPECT_FALSE(id.is_zero());
    EXPECT_EQ(id.value[6] >> 4, 4);
    EXPECT_EQ(id.value[8] >> 6, 2);
    const std::string text = id.to_string();
    EXPECT_EQ(text.size(), 22U);
    EXPECT_NE(text.front(), '-');
    EXPECT_EQ(uuid::parse(text), id);
    seen.insert(id);
    hashed.insert(id);
  }
  EXPECT_EQ(seen.size(), 1000U);
  EXPECT_EQ(hashed.size(), 1000U);
}

TEST(uuid, wire_form_is_16_raw_bytes) {
  const uuid id = uuid::random();
  const bytes out = write([&](writer& w) { w.write_uuid(id); });
  EXPECT_EQ(out.size(), 16U);
  reader r(out);
  EXPECT_EQ(r.read_uuid(), id);
}

}  // namespace
}  // namespace geomirror::protocol

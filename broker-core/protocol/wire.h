#pragma once
// Kafka wire runtime used by the generated protocol codec
// (broker-core/protocol/codegen/generate_protocol.py).
//
// Byte layout (all integers big-endian; see
// ../shared/kafka-protocol/README.md, "Wire encoding"):
//
//   int8/16/32/64, uint16/32   fixed width, two's complement
//   float64                    IEEE 754 binary64, 8 bytes
//   uuid                       16 raw bytes
//   unsigned varint / varlong  LEB128, 7 bits per byte, low group first,
//                              at most 5 / 10 bytes
//   signed varint / varlong    zigzag then LEB128 (record batches)
//   string                     classic: int16 length, -1 = null
//                              compact: unsigned varint length+1, 0 = null
//   bytes, records             classic: int32 length, -1 = null
//                              (records: protocol::record_set, record_set.h)
//                              compact: unsigned varint length+1, 0 = null
//   array                      classic: int32 count, -1 = null
//                              compact: unsigned varint count+1, 0 = null
//   tagged-field section       unsigned varint count, then per field in
//                              strictly ascending tag order: unsigned varint
//                              tag, unsigned varint size, `size` value bytes
//
// Error model (STYLE.md 5.4): decoding malformed input throws decode_error
// and nothing else; asking to encode something the wire cannot express
// (null where the version is not nullable, an over-long string) throws
// encode_error, a programming error on our side.
//
// Thread safety: reader and writer are single-threaded cursors; distinct
// instances may be used concurrently.

#include <array>
#include <compare>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "broker-core/protocol/record_set.h"

namespace geomirror::protocol {

using bytes = std::vector<uint8_t>;

// Longest string Kafka serializes: the Java codec refuses longer ones in both
// classic and compact encodings ("field is too long to be serialized").
inline constexpr size_t max_string_length = 0x7fff;

// A Kafka Uuid (topic ids, directory ids). The all-zero value means "none".
struct uuid {
  std::array<uint8_t, 16> value{};

  bool operator==(const uuid&) const = default;
  auto operator<=>(const uuid&) const = default;

  [[nodiscard]] bool is_zero() const noexcept;
  // A random version-4 uuid that is neither reserved (zero, the metadata
  // topic id 1) nor starts with '-' in text form, as Java's Uuid.randomUuid.
  [[nodiscard]] static uuid random();
  // Kafka's text form: URL-safe base64 without padding, 22 characters.
  [[nodiscard]] std::string to_string() const;
  // Parses the 22-character form (a trailing "==" is tolerated); rejects
  // other lengths, other alphabets and non-zero unused trailing bits.
  [[nodiscard]] static std::optional<uuid> parse(std::string_view text);
};

// A tagged field as found on the wire: kept opaque when its tag is unknown
// for the decoded version, so that re-encoding is byte-identical.
struct tagged_field {
  uint32_t tag = 0;
  bytes data;

  bool operator==(const tagged_field&) const = default;
};

// Unknown tagged fields of one struct, in strictly ascending tag order.
using unknown_tagged_fields = std::vector<tagged_field>;

// The only exception decoding throws: the input is malformed.
class decode_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Thrown when asked to encode what the requested version cannot express.
class encode_error : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

// Bounds-checked big-endian cursor over a borrowed buffer. It never reads
// past the end and never allocates more than the remaining input justifies:
// every length or count is checked against remaining() before use. Views it
// returns alias the buffer and live as long as it does.
class reader {
 public:
  explicit reader(std::span<const uint8_t> data) noexcept : data_(data) {}

  [[nodiscard]] size_t remaining() const noexcept { return data_.size() - pos_; }
  [[nodiscard]] size_t position() const noexcept { return pos_; }
  [[nodiscard]] bool at_end() const noexcept { return pos_ == data_.size(); }
  // Throws decode_error naming `what` unless everything was consumed.
  void expect_end(std::string_view what) const;

  int8_t read_int8();
  int16_t read_int16();
  int32_t read_int32();
  int64_t read_int64();
  uint16_t read_uint16();
  uint32_t read_uint32();
  double read_float64();
  // Any non-zero byte is true, as in the Java codec.
  bool read_bool();
  uuid read_uuid();

  uint32_t read_unsigned_varint();
  uint64_t read_unsigned_varlong();
  int32_t read_varint();   // zigzag
  int64_t read_varlong();  // zigzag

  // The next `n` bytes, without copying.
  std::span<const uint8_t> read_raw(size_t n);

  // `compact` selects the flexible-version encoding. The non-nullable forms
  // throw decode_error when the input encodes null.
  std::string read_string(bool compact);
  std::optional<std::string> read_nullable_string(bool compact);
  bytes read_bytes(bool compact);
  std::optional<bytes> read_nullable_bytes(bool compact);
  std::span<const uint8_t> read_bytes_view(bool compact);
  std::optional<std::span<const uint8_t>> read_nullable_bytes_view(bool compact);
  record_set read_records(bool compact);
  std::optional<record_set> read_nullable_records(bool compact);
  // Element counts, checked against remaining() (each element is at least
  // one byte on the wire, as the Java codec assumes).
  size_t read_array_length(bool compact);
  std::optional<size_t> read_nullable_array_length(bool compact);

 private:
  const uint8_t* take(size_t n, const char* what);
  // Length prefix of a string/bytes/array: nullopt for null.
  std::optional<size_t> read_length(bool compact, bool int16_prefix, const char* what);

  std::span<const uint8_t> data_;
  size_t pos_ = 0;
};

// Appends big-endian values to a caller-owned buffer. Record sets made of
// file slices need a splice list: their bytes are not copied into `out`, the
// slices are listed with the position they go before.
class writer {
 public:
  explicit writer(bytes& out, splice_list* splices = nullptr) noexcept
      : out_(&out), start_(out.size()), splices_(splices) {}

  // Bytes appended through this writer.
  [[nodiscard]] size_t size() const noexcept { return out_->size() - start_; }

  void write_int8(int8_t v);
  void write_int16(int16_t v);
  void write_int32(int32_t v);
  void write_int64(int64_t v);
  void write_uint16(uint16_t v);
  void write_uint32(uint32_t v);
  void write_float64(double v);
  void write_bool(bool v);
  void write_uuid(const uuid& v);

  void write_unsigned_varint(uint32_t v);
  void write_unsigned_varlong(uint64_t v);
  void write_varint(int32_t v);   // zigzag
  void write_varlong(int64_t v);  // zigzag

  void write_raw(std::span<const uint8_t> data);

  // Throws encode_error for strings longer than max_string_length.
  void write_string(std::string_view v, bool compact);
  void write_nullable_string(const std::optional<std::string>& v, bool compact);
  void write_bytes(std::span<const uint8_t> v, bool compact);
  void write_nullable_bytes(const std::optional<bytes>& v, bool compact);
  // Throws encode_error for slices without a splice list.
  void write_records(const record_set& v, bool compact);
  void write_nullable_records(const std::optional<record_set>& v, bool compact);
  void write_array_length(size_t count, bool compact);
  void write_null_array(bool compact);

  // Writes tag, size and value of one tagged field; the value is produced by
  // `write_value(writer&)` into a scratch buffer first since its size
  // precedes it on the wire.
  template <class WriteValue>
    requires std::invocable<WriteValue, writer&>
  void write_tagged_field(uint32_t tag, WriteValue&& write_value) {
    bytes value;
    writer value_writer(value);
    std::forward<WriteValue>(write_value)(value_writer);
    write_tagged_field(tag, std::span<const uint8_t>(value));
  }
  void write_tagged_field(uint32_t tag, std::span<const uint8_t> value);

 private:
  uint8_t* grow(size_t n);

  bytes* out_;
  size_t start_;
  splice_list* splices_;
};

// Collects the known tagged fields of one struct (added in ascending tag
// order by the generated code) and writes the struct's tagged section with
// the unknown ones merged in by tag. Throws encode_error when the unknown
// tags are not strictly ascending or repeat a known tag being written.
class tagged_fields_writer {
 public:
  template <class WriteValue>
  void add(uint32_t tag, WriteValue&& write_value) {
    tagged_field& field = known_.emplace_back();
    field.tag = tag;
    writer value_writer(field.data);
    std::forward<WriteValue>(write_value)(value_writer);
  }
  void finish(writer& w, const unknown_tagged_fields& unknown) const;

 private:
  std::vector<tagged_field> known_;
};

// The tagged section of a struct that has no known tagged fields.
void write_tagged_fields(writer& w, const unknown_tagged_fields& unknown);

// Iterates a tagged section: checks that tags are strictly ascending and
// that each value fits in the input.
class tagged_fields_reader {
 public:
  struct field {
    uint32_t tag;
    std::span<const uint8_t> data;
  };
  explicit tagged_fields_reader(reader& r);
  std::optional<field> next();

 private:
  reader* r_;
  uint32_t left_;
  std::optional<uint32_t> last_tag_;
};

// Reads a tagged section. `read_known(tag, value_reader)` decodes a tag
// known in the decoded version and returns true (the value must then be
// consumed exactly), or returns false to keep the field in `unknown`.
template <class ReadKnown>
void read_tagged_fields(reader& r, unknown_tagged_fields& unknown, ReadKnown&& read_known) {
  tagged_fields_reader fields(r);
  while (const auto field = fields.next()) {
    reader value(field->data);
    bool known = false;
    try {
      known = read_known(field->tag, value);
      if (known) value.expect_end("tagged field value");
    } catch (const decode_error& e) {
      throw decode_error("tagged field " + std::to_string(field->tag) + ": " + e.what());
    }
    if (!known) unknown.push_back(tagged_field{field->tag, bytes(field->data.begin(), field->data.end())});
  }
}

// A tagged section without known tags: everything goes to `unknown`.
void read_tagged_fields(reader& r, unknown_tagged_fields& unknown);

// The value of a field that is nullable in some versions but not in
// `version`; throws encode_error naming `field` when it holds null.
template <class T>
const T& require_value(const std::optional<T>& v, std::string_view field, int16_t version) {
  if (!v) {
    throw encode_error(std::string(field) + " is null but not nullable in version " + std::to_string(version));
  }
  return *v;
}

namespace detail {
// Throw encode_error / decode_error for a version outside [min, max].
void check_encode_version(std::string_view message, int16_t version, int16_t min, int16_t max);
void check_decode_version(std::string_view message, int16_t version, int16_t min, int16_t max);
// Prefixes a decode error with the message name and version.
[[noreturn]] void rethrow_decode_error(std::string_view message, int16_t version, const decode_error& e);
}  // namespace detail

// Header versions for an API version, from the generated catalog's first
// flexible version: flexible -> request header 2 / response header 1, else
// 1 / 0. Exceptions: ApiVersions (18) responses always use response header
// 0 (KIP-511, so that any client can read the error and our ranges);
// ControlledShutdown (7) v0 uses request header 0 when that API is in the
// catalog. Unknown api keys get the classic 1 / 0. Versions are not range
// checked: a too-new ApiVersions request still has a parseable header.
[[nodiscard]] int16_t request_header_version(int16_t api_key, int16_t api_version) noexcept;
[[nodiscard]] int16_t response_header_version(int16_t api_key, int16_t api_version) noexcept;

}  // namespace geomirror::protocol

template <>
struct std::hash<geomirror::protocol::uuid> {
  size_t operator()(const geomirror::protocol::uuid& id) const noexcept;
};

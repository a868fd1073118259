#include "broker-core/protocol/wire.h"

#include "broker-core/base/endian.h"

#include <bit>
#include <cstring>
#include <limits>
#include <random>

namespace geomirror::protocol {

namespace {

std::string at(size_t pos) { return " at offset " + std::to_string(pos); }

constexpr std::string_view base64url_alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int base64url_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

}  // namespace

// ---- uuid -------------------------------------------------------------

bool uuid::is_zero() const noexcept { return *this == uuid{}; }

uuid uuid::random() {
  thread_local std::mt19937_64 engine{[] {
    std::random_device device;
    std::seed_seq seed{device(), device(), device(), device(), device(), device()};
    return std::mt19937_64(seed);
  }()};
  uuid metadata_topic_id;
  metadata_topic_id.value[15] = 1;
  for (;;) {
    uuid id;
    for (size_t i = 0; i < id.value.size(); i += 8) base::store_be64(&id.value[i], engine());
    id.value[6] = static_cast<uint8_t>((id.value[6] & 0x0f) | 0x40);  // version 4
    id.value[8] = static_cast<uint8_t>((id.value[8] & 0x3f) | 0x80);  // IETF variant
    if (id.is_zero() || id == metadata_topic_id) continue;
    // Java skips ids whose text starts with '-' (confusable with a CLI flag).
    if ((id.value[0] >> 2) == 62) continue;
    return id;
  }
}

std::string uuid::to_string() const {
  std::string out;
  out.reserve(22);
  uint32_t acc = 0;
  int bits = 0;
  for (uint8_t b : value) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(base64url_alphabet[(acc >> bits) & 0x3f]);
    }
  }
  if (bits > 0) out.push_back(base64url_alphabet[(acc << (6 - bits)) & 0x3f]);
  return out;
}

std::optional<uuid> uuid::parse(std::string_view text) {
  if (text.size() == 24 && text.substr(22) == "==") text.remove_suffix(2);
  if (text.size() != 22) return std::nullopt;
  uuid id;
  uint32_t acc = 0;
  int bits = 0;
  size_t out = 0;
  for (char c : text) {
    const int v = base64url_value(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (out < id.value.size()) id.value[out++] = static_cast<uint8_t>((acc >> bits) & 0xff);
    }
  }
  // 22 characters carry 132 bits: the 4 unused ones must be zero so that
  // every uuid has exactly one text form.
  if (out != id.value.size() || bits != 4 || (acc & 0x0f) != 0) return std::nullopt;
  return id;
}

// ---- reader -----------------------------------------------------------

void reader::expect_end(std::string_view what) const {
  if (!at_end()) {
    throw decode_error(std::to_string(remaining()) + " unread trailing bytes after " + std::string(what) +
                       at(pos_));
  }
}

const uint8_t* reader::take(size_t n, const char* what) {
  if (n > remaining()) {
    throw decode_error(std::string("truncated input: ") + what + " needs " + std::to_string(n) +
                       " bytes, " + std::to_string(remaining()) + " remain" + at(pos_));
  }
  const uint8_t* p = data_.data() + pos_;
  pos_ += n;
  return p;
}

int8_t reader::read_int8() { return static_cast<int8_t>(*take(1, "int8")); }
int16_t reader::read_int16() { return static_cast<int16_t>(base::load_be16(take(2, "int16"))); }
int32_t reader::read_int32() { return static_cast<int32_t>(base::load_be32(take(4, "int32"))); }
int64_t reader::read_int64() { return static_cast<int64_t>(base::load_be64(take(8, "int64"))); }
uint16_t reader::read_uint16() { return base::load_be16(take(2, "uint16")); }
uint32_t reader::read_uint32() { return base::load_be32(take(4, "uint32")); }
double reader::read_float64() { return std::bit_cast<double>(base::load_be64(take(8, "float64"))); }
bool reader::read_bool() { return *take(1, "bool") != 0; }

uuid reader::read_uuid() {
  uuid id;
  std::memcpy(id.value.data(), take(16, "uuid"), 16);
  return id;
}

uint32_t reader::read_unsigned_varint() {
  const size_t start = pos_;
  uint32_t v = 0;
  for (int shift = 0; shift < 35; shift += 7) {
    const uint8_t b = *take(1, "unsigned varint");
    if (shift == 28 && (b & 0xf0) != 0) {
      throw decode_error(std::string((b & 0x80) != 0 ? "unsigned varint longer than 5 bytes"
                                                     : "unsigned varint does not fit in 32 bits") +
                         at(start));
    }
    v |= static_cast<uint32_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) return v;
  }
  throw decode_error("unsigned varint longer than 5 bytes" + at(start));  // unreachable
}

uint64_t reader::read_unsigned_varlong() {
  const size_t start = pos_;
  uint64_t v = 0;
  for (int shift = 0; shift < 70; shift += 7) {
    const uint8_t b = *take(1, "unsigned varlong");
    if (shift == 63 && (b & 0xfe) != 0) {
      throw decode_error(std::string((b & 0x80) != 0 ? "unsigned varlong longer than 10 bytes"
                                                     : "unsigned varlong does not fit in 64 bits") +
                         at(start));
    }
    v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) return v;
  }
  throw decode_error("unsigned varlong longer than 10 bytes" + at(start));  // unreachable
}

int32_t reader::read_varint() {
  const uint32_t n = read_unsigned_varint();
  return static_cast<int32_t>((n >> 1) ^ (~(n & 1) + 1));
}

int64_t reader::read_varlong() {
  const uint64_t n = read_unsigned_varlong();
  return static_cast<int64_t>((n >> 1) ^ (~(n & 1) + 1));
}

std::span<const uint8_t> reader::read_raw(size_t n) { return {take(n, "raw bytes"), n}; }

std::optional<size_t> reader::read_length(bool compact, bool int16_prefix, const char* what) {
  const size_t start = pos_;
  int64_t length = 0;
  if (compact) {
    length = static_cast<int64_t>(read_unsigned_varint()) - 1;
  } else if (int16_prefix) {
    length = read_int16();
  } else {
    length = read_int32();
  }
  if (length == -1) return std::nullopt;
  if (length < 0) {
    throw decode_error(std::string("negative ") + what + " length " + std::to_string(length) + at(start));
  }
  if (static_cast<uint64_t>(length) > remaining()) {
    throw decode_error(std::string(what) + " length " + std::to_string(length) + " exceeds remaining " +
                       std::to_string(remaining()) + " bytes" + at(start));
  }
  return static_cast<size_t>(length);
}

std::optional<std::string> reader::read_nullable_string(bool compact) {
  const size_t start = pos_;
  const auto length = read_length(compact, true, "string");
  if (!length) return std::nullopt;
  if (*length > max_string_length) {
    throw decode_error("string length " + std::to_string(*length) + " exceeds 32767" + at(start));
  }
  const uint8_t* p = take(*length, "string");
  return std::string(reinterpret_cast<const char*>(p), *length);
}

std::string reader::read_string(bool compact) {
  const size_t start = pos_;
  auto s = read_nullable_string(compact);
  if (!s) throw decode_error("null string where the field is not nullable" + at(start));
  return std::move(*s);
}

std::optional<std::span<const uint8_t>> reader::read_nullable_bytes_view(bool compact) {
  const auto length = read_length(compact, false, "bytes");
  if (!length) return std::nullopt;
  return std::span<const uint8_t>(take(*length, "bytes"), *length);
}

std::span<const uint8_t> reader::read_bytes_view(bool compact) {
  const size_t start = pos_;
  const auto view = read_nullable_bytes_view(compact);
  if (!view) throw decode_error("null bytes where the field is not nullable" + at(start));
  return *view;
}

std::optional<bytes> reader::read_nullable_bytes(bool compact) {
  const auto view = read_nullable_bytes_view(compact);
  if (!view) return std::nullopt;
  return bytes(view->begin(), view->end());
}

record_set reader::read_records(bool compact) { return record_set(read_bytes(compact)); }

std::optional<record_set> reader::read_nullable_records(bool compact) {
  auto b = read_nullable_bytes(compact);
  if (!b) return std::nullopt;
  return record_set(std::move(*b));
}

bytes reader::read_bytes(bool compact) {
  const auto view = read_bytes_view(compact);
  return bytes(view.begin(), view.end());
}

std::optional<size_t> reader::read_nullable_array_length(bool compact) {
  return read_length(compact, false, "array");
}

size_t reader::read_array_length(bool compact) {
  const size_t start = pos_;
  const auto count = read_nullable_array_length(compact);
  if (!count) throw decode_error("null array where the field is not nullable" + at(start));
  return *count;
}

// ---- writer -----------------------------------------------------------

uint8_t* writer::grow(size_t n) {
  const size_t old = out_->size();
  out_->resize(old + n);
  return out_->data() + old;
}

void writer::write_int8(int8_t v) { *grow(1) = static_cast<uint8_t>(v); }
void writer::write_int16(int16_t v) { base::store_be16(grow(2), static_cast<uint16_t>(v)); }
void writer::write_int32(int32_t v) { base::store_be32(grow(4), static_cast<uint32_t>(v)); }
void writer::write_int64(int64_t v) { base::store_be64(grow(8), static_cast<uint64_t>(v)); }
void writer::write_uint16(uint16_t v) { base::store_be16(grow(2), v); }
void writer::write_uint32(uint32_t v) { base::store_be32(grow(4), v); }
void writer::write_float64(double v) { base::store_be64(grow(8), std::bit_cast<uint64_t>(v)); }
void writer::write_bool(bool v) { *grow(1) = v ? 1 : 0; }
void writer::write_uuid(const uuid& v) { write_raw(v.value); }

void writer::write_unsigned_varlong(uint64_t v) {
  while (v >= 0x80) {
    *grow(1) = static_cast<uint8_t>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  *grow(1) = static_cast<uint8_t>(v);
}

void writer::write_unsigned_varint(uint32_t v) { write_unsigned_varlong(v); }

void writer::write_varint(int32_t v) {
  const auto u = static_cast<uint32_t>(v);
  write_unsigned_varint((u << 1) ^ (v < 0 ? ~uint32_t{0} : 0));
}

void writer::write_varlong(int64_t v) {
  const auto u = static_cast<uint64_t>(v);
  write_unsigned_varlong((u << 1) ^ (v < 0 ? ~uint64_t{0} : 0));
}

void writer::write_raw(std::span<const uint8_t> data) {
  if (data.empty()) return;
  std::memcpy(grow(data.size()), data.data(), data.size());
}

void writer::write_string(std::string_view v, bool compact) {
  if (v.size() > max_string_length) {
    throw encode_error("string of " + std::to_string(v.size()) + " bytes is longer than 32767");
  }
  if (compact) {
    write_unsigned_varint(static_cast<uint32_t>(v.size() + 1));
  } else {
    write_int16(static_cast<int16_t>(v.size()));
  }
  write_raw({reinterpret_cast<const uint8_t*>(v.data()), v.size()});
}

void writer::write_nullable_string(const std::optional<std::string>& v, bool compact) {
  if (v) {
    write_string(*v, compact);
  } else if (compact) {
    write_unsigned_varint(0);
  } else {
    write_int16(-1);
  }
}

void writer::write_bytes(std::span<const uint8_t> v, bool compact) {
  if (v.size() > static_cast<size_t>(std::numeric_limits<int32_t>::max()) - 1) {
    throw encode_error("bytes of " + std::to_string(v.size()) + " bytes do not fit a length prefix");
  }
  if (compact) {
    write_unsigned_varint(static_cast<uint32_t>(v.size() + 1));
  } else {
    write_int32(static_cast<int32_t>(v.size()));
  }
  write_raw(v);
}

void writer::write_nullable_bytes(const std::optional<bytes>& v, bool compact) {
  if (v) {
    write_bytes(*v, compact);
  } else if (compact) {
    write_unsigned_varint(0);
  } else {
    write_int32(-1);
  }
}

void writer::write_records(const record_set& v, bool compact) {
  if (v.slices().empty()) {
    write_bytes(v.owned(), compact);
    return;
  }
  if (splices_ == nullptr) throw encode_error("record set of file slices written without a splice list");
  const size_t size = v.size();
  if (size > static_cast<size_t>(std::numeric_limits<int32_t>::max()) - 1) {
    throw encode_error("record set of " + std::to_string(size) + " bytes does not fit a length prefix");
  }
  if (compact) {
    write_unsigned_varint(static_cast<uint32_t>(size + 1));
  } else {
    write_int32(static_cast<int32_t>(size));
  }
  for (const auto& slice : v.slices()) splices_->push_back({out_->size(), slice});
}

void writer::write_nullable_records(const std::optional<record_set>& v, bool compact) {
  if (v) {
    write_records(*v, compact);
  } else if (compact) {
    write_unsigned_varint(0);
  } else {
    write_int32(-1);
  }
}

void record_set::append(base::file_slice slice) {
  if (!data_.empty()) throw encode_error("record set mixes owned bytes and file slices");
  slices_.push_back(std::move(slice));
}

size_t record_set::size() const {
  size_t n = data_.size();
  for (const auto& s : slices_) n += s.length;
  return n;
}

void writer::write_array_length(size_t count, bool compact) {
  if (count > static_cast<size_t>(std::numeric_limits<int32_t>::max()) - 1) {
    throw encode_error("array of " + std::to_string(count) + " elements does not fit a count prefix");
  }
  if (compact) {
    write_unsigned_varint(static_cast<uint32_t>(count + 1));
  } else {
    write_int32(static_cast<int32_t>(count));
  }
}

void writer::write_null_array(bool compact) {
  if (compact) {
    write_unsigned_varint(0);
  } else {
    write_int32(-1);
  }
}

void writer::write_tagged_field(uint32_t tag, std::span<const uint8_t> value) {
  if (value.size() > std::numeric_limits<uint32_t>::max()) {
    throw encode_error("tagged field " + std::to_string(tag) + " is too large");
  }
  write_unsigned_varint(tag);
  write_unsigned_varint(static_cast<uint32_t>(value.size()));
  write_raw(value);
}

// ---- tagged sections ----------------------------------------------------

void tagged_fields_writer::finish(writer& w, const unknown_tagged_fields& unknown) const {
  for (size_t i = 1; i < unknown.size(); ++i) {
    if (unknown[i].tag <= unknown[i - 1].tag) {
      throw encode_error("unknown tagged fields are not in strictly ascending tag order (" +
                         std::to_string(unknown[i - 1].tag) + " then " + std::to_string(unknown[i].tag) + ")");
    }
  }
  const size_t total = known_.size() + unknown.size();
  if (total > std::numeric_limits<uint32_t>::max()) throw encode_error("too many tagged fields");
  w.write_unsigned_varint(static_cast<uint32_t>(total));
  auto k = known_.begin();
  auto u = unknown.begin();
  while (k != known_.end() || u != unknown.end()) {
    if (k != known_.end() && u != unknown.end() && k->tag == u->tag) {
      throw encode_error("unknown tagged field " + std::to_string(u->tag) +
                         " collides with a known tagged field being written");
    }
    const bool take_known = u == unknown.end() || (k != known_.end() && k->tag < u->tag);
    const tagged_field& f = take_known ? *k++ : *u++;
    w.write_tagged_field(f.tag, f.data);
  }
}

void write_tagged_fields(writer& w, const unknown_tagged_fields& unknown) {
  tagged_fields_writer{}.finish(w, unknown);
}

tagged_fields_reader::tagged_fields_reader(reader& r) : r_(&r) {
  const size_t start = r.position();
  left_ = r.read_unsigned_varint();
  // Each tagged field takes at least two bytes (tag and size).
  if (left_ > r.remaining() / 2) {
    throw decode_error("tagged field count " + std::to_string(left_) + " exceeds what the remaining " +
                       std::to_string(r.remaining()) + " bytes can hold" + at(start));
  }
}

std::optional<tagged_fields_reader::field> tagged_fields_reader::next() {
  if (left_ == 0) return std::nullopt;
  --left_;
  const size_t start = r_->position();
  const uint32_t tag = r_->read_unsigned_varint();
  if (last_tag_ && tag <= *last_tag_) {
    throw decode_error("tagged field " + std::to_string(tag) + " follows tag " + std::to_string(*last_tag_) +
                       ": tags must be strictly ascending" + at(start));
  }
  last_tag_ = tag;
  const uint32_t size = r_->read_unsigned_varint();
  if (size > r_->remaining()) {
    throw decode_error("tagged field " + std::to_string(tag) + " size " + std::to_string(size) +
                       " exceeds remaining " + std::to_string(r_->remaining()) + " bytes" + at(start));
  }
  return field{tag, r_->read_raw(size)};
}

void read_tagged_fields(reader& r, unknown_tagged_fields& unknown) {
  read_tagged_fields(r, unknown, [](uint32_t, reader&) { return false; });
}

// ---- version checks -----------------------------------------------------

namespace detail {

namespace {
std::string unsupported(std::string_view message, int16_t version, int16_t min, int16_t max) {
  return std::string(message) + ": unsupported version " + std::to_string(version) + " (supported " +
         std::to_string(min) + "-" + std::to_string(max) + ")";
}
}  // namespace

void check_encode_version(std::string_view message, int16_t version, int16_t min, int16_t max) {
  if (version < min || version > max) throw encode_error(unsupported(message, version, min, max));
}

void check_decode_version(std::string_view message, int16_t version, int16_t min, int16_t max) {
  if (version < min || version > max) throw decode_error(unsupported(message, version, min, max));
}

void rethrow_decode_error(std::string_view message, int16_t version, const decode_error& e) {
  throw decode_error(std::string(message) + " v" + std::to_string(version) + ": " + e.what());
}

}  // namespace detail

}  // namespace geomirror::protocol

size_t std::hash<geomirror::protocol::uuid>::operator()(const geomirror::protocol::uuid& id) const noexcept {
  uint64_t hi = 0;
  uint64_t lo = 0;
  std::memcpy(&hi, id.value.data(), 8);
  std::memcpy(&lo, id.value.data() + 8, 8);
  return static_cast<size_t>(hi ^ (lo * 0x9e3779b97f4a7c15ULL));
}

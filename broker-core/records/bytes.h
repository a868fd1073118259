#pragma once
// Byte buffers and big-endian helpers shared by the records and storage
// modules. Kafka's fixed-width integers are all big-endian (RECORDS.md §1).

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>
#include <vector>

namespace geomirror::records {

// An owned byte string (record keys/values, decompressed data, batches).
using bytes = std::vector<uint8_t>;
// A borrowed view; valid only as long as the buffer it points into.
using bytes_view = std::span<const uint8_t>;

inline bytes_view as_bytes_view(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

inline bytes to_bytes(std::string_view s) {
  return bytes(s.begin(), s.end());
}

inline std::string_view as_string_view(bytes_view b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// REQUIRES for all loads/stores: `p` points at enough bytes. memcpy keeps the
// accesses alignment-safe (and UBSan-clean); compilers turn them into a
// single load plus bswap.
inline uint16_t load_be16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, sizeof v);
  return __builtin_bswap16(v);
}
inline uint32_t load_be32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return __builtin_bswap32(v);
}
inline uint64_t load_be64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return __builtin_bswap64(v);
}
inline void store_be16(uint8_t* p, uint16_t v) {
  v = __builtin_bswap16(v);
  std::memcpy(p, &v, sizeof v);
}
inline void store_be32(uint8_t* p, uint32_t v) {
  v = __builtin_bswap32(v);
  std::memcpy(p, &v, sizeof v);
}
inline void store_be64(uint8_t* p, uint64_t v) {
  v = __builtin_bswap64(v);
  std::memcpy(p, &v, sizeof v);
}

}  // namespace geomirror::records

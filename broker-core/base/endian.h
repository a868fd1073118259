#pragma once
// Big-endian loads and stores: Kafka's fixed-width integers on the wire and
// in record batches, and geomirror's own index and state files
// (RECORDS.md §1).

#include <cstdint>
#include <cstring>

namespace geomirror::base {

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

}  // namespace geomirror::base

#include "broker-core/records/crc32c.h"

#include <array>
#include <cstddef>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace geomirror::records {
namespace {

constexpr uint32_t poly = 0x82F63B78u;

// Slice-by-8 tables: table[k][b] is the CRC of byte b followed by k zero bytes.
using slice_tables = std::array<std::array<uint32_t, 256>, 8>;

constexpr slice_tables make_slice_tables() {
  slice_tables t{};
  for (uint32_t n = 0; n < 256; ++n) {
    uint32_t c = n;
    for (int k = 0; k < 8; ++k) {
      c = (c & 1) ? (c >> 1) ^ poly : c >> 1;
    }
    t[0][n] = c;
  }
  for (uint32_t n = 0; n < 256; ++n) {
    uint32_t c = t[0][n];
    for (size_t k = 1; k < 8; ++k) {
      c = t[0][c & 0xff] ^ (c >> 8);
      t[k][n] = c;
    }
  }
  return t;
}

constexpr slice_tables slice = make_slice_tables();

inline uint64_t load64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;  // little-endian host assumed (x86-64, aarch64 LE)
}

uint32_t software_raw(uint32_t crc, const uint8_t* p, size_t n) {
  while (n > 0 && (reinterpret_cast<uintptr_t>(p) & 7) != 0) {
    crc = slice[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
    --n;
  }
  while (n >= 8) {
    const uint64_t w = load64(p) ^ crc;
    crc = slice[7][w & 0xff] ^ slice[6][(w >> 8) & 0xff] ^ slice[5][(w >> 16) & 0xff] ^
          slice[4][(w >> 24) & 0xff] ^ slice[3][(w >> 32) & 0xff] ^
          slice[2][(w >> 40) & 0xff] ^ slice[1][(w >> 48) & 0xff] ^ slice[0][w >> 56];
    p += 8;
    n -= 8;
  }
  while (n > 0) {
    crc = slice[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
    --n;
  }
  return crc;
}

// --- Shift operators for combining the three interleaved streams ----------
// (Technique from Mark Adler's crc32c.c: a GF(2) matrix that appends `len`
// zero bytes to a CRC, expanded into four byte-indexed tables.)

using gf2_matrix = std::array<uint32_t, 32>;

constexpr uint32_t gf2_times(const gf2_matrix& mat, uint32_t vec) {
  uint32_t sum = 0;
  for (size_t i = 0; vec != 0; ++i, vec >>= 1) {
    if (vec & 1) sum ^= mat[i];
  }
  return sum;
}

constexpr gf2_matrix gf2_square(const gf2_matrix& mat) {
  gf2_matrix sq{};
  for (size_t n = 0; n < 32; ++n) sq[n] = gf2_times(mat, mat[n]);
  return sq;
}

// Operator appending `len` zero bytes; len must be a power of two.
constexpr gf2_matrix zeros_operator(size_t len) {
  gf2_matrix odd{};
  odd[0] = poly;  // one zero bit
  uint32_t row = 1;
  for (size_t n = 1; n < 32; ++n) {
    odd[n] = row;
    row <<= 1;
  }
  gf2_matrix even = gf2_square(odd);  // two zero bits
  odd = gf2_square(even);             // four zero bits
  // Each further square doubles: first gives one zero byte.
  while (true) {
    even = gf2_square(odd);
    len >>= 1;
    if (len == 0) return even;
    odd = gf2_square(even);
    len >>= 1;
    if (len == 0) return odd;
  }
}

using shift_tables = std::array<std::array<uint32_t, 256>, 4>;

constexpr shift_tables make_shift_tables(size_t len) {
  const gf2_matrix op = zeros_operator(len);
  shift_tables t{};
  for (uint32_t n = 0; n < 256; ++n) {
    t[0][n] = gf2_times(op, n);
    t[1][n] = gf2_times(op, n << 8);
    t[2][n] = gf2_times(op, n << 16);
    t[3][n] = gf2_times(op, n << 24);
  }
  return t;
}

constexpr size_t long_block = 8192;
constexpr size_t short_block = 256;

[[maybe_unused]] inline uint32_t shift(const shift_tables& t, uint32_t crc) {
  return t[0][crc & 0xff] ^ t[1][(crc >> 8) & 0xff] ^ t[2][(crc >> 16) & 0xff] ^ t[3][crc >> 24];
}

#if defined(__x86_64__)

const shift_tables& long_shift() {
  static constexpr shift_tables t = make_shift_tables(long_block);
  return t;
}
const shift_tables& short_shift() {
  static constexpr shift_tables t = make_shift_tables(short_block);
  return t;
}

__attribute__((target("sse4.2"))) uint32_t hardware_raw(uint32_t crc32, const uint8_t* next,
                                                        size_t len) {
  uint64_t crc0 = crc32;
  while (len > 0 && (reinterpret_cast<uintptr_t>(next) & 7) != 0) {
    crc0 = _mm_crc32_u8(static_cast<uint32_t>(crc0), *next++);
    --len;
  }
  // Three independent streams of long_block bytes each, combined by shifting.
  const shift_tables& lt = long_shift();
  while (len >= long_block * 3) {
    uint64_t crc1 = 0;
    uint64_t crc2 = 0;
    const uint8_t* end = next + long_block;
    do {
      crc0 = _mm_crc32_u64(crc0, load64(next));
      crc1 = _mm_crc32_u64(crc1, load64(next + long_block));
      crc2 = _mm_crc32_u64(crc2, load64(next + 2 * long_block));
      next += 8;
    } while (next < end);
    crc0 = shift(lt, static_cast<uint32_t>(crc0)) ^ crc1;
    crc0 = shift(lt, static_cast<uint32_t>(crc0)) ^ crc2;
    next += long_block * 2;
    len -= long_block * 3;
  }
  const shift_tables& st = short_shift();
  while (len >= short_block * 3) {
    uint64_t crc1 = 0;
    uint64_t crc2 = 0;
    const uint8_t* end = next + short_block;
    do {
      crc0 = _mm_crc32_u64(crc0, load64(next));
      crc1 = _mm_crc32_u64(crc1, load64(next + short_block));
      crc2 = _mm_crc32_u64(crc2, load64(next + 2 * short_block));
      next += 8;
    } while (next < end);
    crc0 = shift(st, static_cast<uint32_t>(crc0)) ^ crc1;
    crc0 = shift(st, static_cast<uint32_t>(crc0)) ^ crc2;
    next += short_block * 2;
    len -= short_block * 3;
  }
  const uint8_t* end = next + (len - (len & 7));
  while (next < end) {
    crc0 = _mm_crc32_u64(crc0, load64(next));
    next += 8;
  }
  len &= 7;
  while (len > 0) {
    crc0 = _mm_crc32_u8(static_cast<uint32_t>(crc0), *next++);
    --len;
  }
  return static_cast<uint32_t>(crc0);
}

bool detect_hardware() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("sse4.2");
}

#endif

const bool hardware = [] {
#if defined(__x86_64__)
  return detect_hardware();
#else
  return false;
#endif
}();

}  // namespace

uint32_t crc32c_software(uint32_t crc, std::span<const uint8_t> data) noexcept {
  return ~software_raw(~crc, data.data(), data.size());
}

uint32_t crc32c_hardware(uint32_t crc, std::span<const uint8_t> data) noexcept {
#if defined(__x86_64__)
  return ~hardware_raw(~crc, data.data(), data.size());
#else
  return crc32c_software(crc, data);
#endif
}

bool crc32c_hardware_available() noexcept { return hardware; }

uint32_t crc32c_extend(uint32_t crc, std::span<const uint8_t> data) noexcept {
  return hardware ? crc32c_hardware(crc, data) : crc32c_software(crc, data);
}

uint32_t crc32c(std::span<const uint8_t> data) noexcept { return crc32c_extend(0, data); }

}  // namespace geomirror::records

// CRC-32C: known vectors, hardware == software on random buffers of many
// sizes and alignments, and incremental extension.

#include "broker-core/records/crc32c.h"

#include <gtest/gtest.h>

#include <random>
#include <string_view>
#include <vector>

namespace geomirror::records {
namespace {

std::span<const uint8_t> view(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

TEST(crc32c, known_vectors) {
  EXPECT_EQ(crc32c(view("123456789")), 0xE3069283u);
  EXPECT_EQ(crc32c(view("")), 0u);
  EXPECT_EQ(crc32c_software(0, view("123456789")), 0xE3069283u);
  // RFC 3720 B.4: 32 bytes of zeros / ones.
  std::vector<uint8_t> zeros(32, 0);
  std::vector<uint8_t> ones(32, 0xff);
  EXPECT_EQ(crc32c(zeros), 0x8A9136AAu);
  EXPECT_EQ(crc32c(ones), 0x62A8AB43u);
  std::vector<uint8_t> inc(32);
  for (size_t i = 0; i < inc.size(); ++i) inc[i] = static_cast<uint8_t>(i);
  EXPECT_EQ(crc32c(inc), 0x46DD794Eu);
}

TEST(crc32c, hardware_matches_software) {
  if (!crc32c_hardware_available()) GTEST_SKIP() << "no SSE4.2";
  std::mt19937_64 rng(42);
  std::vector<uint8_t> buf(200'000 + 16);
  for (auto& b : buf) b = static_cast<uint8_t>(rng());
  const size_t sizes[] = {0, 1, 7, 8, 9, 63, 255, 767, 768, 769, 1000, 4096,
                          8192 * 3 - 1, 8192 * 3, 8192 * 3 + 5, 100'000, 200'000};
  for (size_t size : sizes) {
    for (size_t align = 0; align < 8; ++align) {
      std::span<const uint8_t> s(buf.data() + align, size);
      ASSERT_EQ(crc32c_hardware(0, s), crc32c_software(0, s)) << size << "/" << align;
    }
  }
  for (int i = 0; i < 200; ++i) {
    const size_t size = rng() % 70'000;
    const size_t align = rng() % 16;
    std::span<const uint8_t> s(buf.data() + align, size);
    ASSERT_EQ(crc32c_hardware(0, s), crc32c_software(0, s)) << size;
  }
}

TEST(crc32c, extend_is_concatenation) {
  std::mt19937 rng(7);
  std::vector<uint8_t> buf(50'000);
  for (auto& b : buf) b = static_cast<uint8_t>(rng());
  const uint32_t whole = crc32c(buf);
  for (size_t cut : {size_t{0}, size_t{1}, size_t{100}, size_t{30'000}, buf.size()}) {
    std::span<const uint8_t> all(buf);
    EXPECT_EQ(crc32c_extend(crc32c(all.first(cut)), all.subspan(cut)), whole);
    EXPECT_EQ(crc32c_software(crc32c_software(0, all.first(cut)), all.subspan(cut)), whole);
  }
}

}  // namespace
}  // namespace geomirror::records

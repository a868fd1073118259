#pragma once
// Byte buffers shared by the records and storage modules (big-endian helpers
// are in base/endian.h).

#include <cstddef>
#include <cstdint>
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

}  // namespace geomirror::records

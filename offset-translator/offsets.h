#pragma once
// Source and target offsets as distinct types, so that one can never be
// committed or compared as the other by accident (STYLE.md: strong offset
// types). Conversion to and from int64_t is explicit.

#include <compare>
#include <cstdint>

namespace geomirror::translator {

template <class Tag>
class offset_of {
 public:
  constexpr explicit offset_of(int64_t value) : value_(value) {}
  constexpr int64_t value() const { return value_; }
  constexpr offset_of operator+(int64_t n) const { return offset_of(value_ + n); }
  constexpr int64_t operator-(offset_of other) const { return value_ - other.value_; }
  constexpr auto operator<=>(const offset_of&) const = default;

 private:
  int64_t value_;
};

using source_offset = offset_of<struct source_offset_tag>;
using target_offset = offset_of<struct target_offset_tag>;

}  // namespace geomirror::translator

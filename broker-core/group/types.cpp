#include "broker-core/group/types.h"

#include <array>

namespace geomirror::group {
namespace {

constexpr std::array<std::pair<group_state, std::string_view>, 5> names = {{
    {group_state::empty, "Empty"},
    {group_state::preparing_rebalance, "PreparingRebalance"},
    {group_state::completing_rebalance, "CompletingRebalance"},
    {group_state::stable, "Stable"},
    {group_state::dead, "Dead"},
}};

}  // namespace

std::string_view state_name(group_state state) {
  for (const auto& [s, name] : names) {
    if (s == state) return name;
  }
  return "Unknown";
}

std::optional<group_state> parse_state_name(std::string_view name) {
  for (const auto& [s, n] : names) {
    if (n == name) return s;
  }
  return std::nullopt;
}

}  // namespace geomirror::group

#include "broker-core/config/config_definition.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>

namespace geomirror::config {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](char x, char y) { return std::tolower(x) == std::tolower(y); });
}

std::optional<int64_t> to_int64(std::string_view s) {
  s = trim(s);
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

std::optional<double> to_double(std::string_view s) {
  std::string text(trim(s));
  if (text.empty()) return std::nullopt;
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size()) return std::nullopt;
  return v;
}

std::string describe_range(const config_definition& def) {
  if (def.min != INT64_MIN && def.max != INT64_MAX) return fmt::format("between {} and {}", def.min, def.max);
  if (def.min != INT64_MIN) return fmt::format("at least {}", def.min);
  if (def.max != INT64_MAX) return fmt::format("at most {}", def.max);
  return "any integer";
}

}  // namespace

std::optional<std::string> validate(const config_definition& def, std::string_view value) {
  auto invalid = [&](std::string_view expected) {
    return fmt::format("Invalid value '{}' for configuration {}: expected {}", value, def.name, expected);
  };
  switch (def.type) {
    case config_type::boolean:
      if (iequals(trim(value), "true") || iequals(trim(value), "false")) return std::nullopt;
      return invalid("true or false");
    case config_type::int32:
    case config_type::int64: {
      auto v = to_int64(value);
      int64_t lo = def.min, hi = def.max;
      if (def.type == config_type::int32) {
        lo = std::max<int64_t>(lo, INT32_MIN);
        hi = std::min<int64_t>(hi, INT32_MAX);
      }
      if (!v || *v < lo || *v > hi) {
        config_definition bounded = def;
        bounded.min = lo == INT32_MIN ? INT64_MIN : lo;
        bounded.max = hi == INT32_MAX ? INT64_MAX : hi;
        if (def.type == config_type::int32 && lo == INT32_MIN && hi == INT32_MAX) return invalid("a 32-bit integer");
        return invalid(describe_range(bounded));
      }
      return std::nullopt;
    }
    case config_type::float64: {
      auto v = to_double(value);
      if (!v || *v < static_cast<double>(def.min) || *v > static_cast<double>(def.max)) {
        return invalid(describe_range(def));
      }
      return std::nullopt;
    }
    case config_type::string:
      if (def.allowed.empty()) return std::nullopt;
      for (auto a : def.allowed) {
        if (trim(value) == a) return std::nullopt;
      }
      return invalid(fmt::format("one of [{}]", fmt::join(def.allowed, ", ")));
    case config_type::list: {
      auto items = parse_list(value);
      if (items.empty()) return invalid("a non-empty comma-separated list");
      if (def.allowed.empty()) return std::nullopt;
      for (const auto& item : items) {
        if (std::find(def.allowed.begin(), def.allowed.end(), item) == def.allowed.end()) {
          return invalid(fmt::format("a comma-separated list of [{}]", fmt::join(def.allowed, ", ")));
        }
      }
      return std::nullopt;
    }
  }
  return invalid("a known type");
}

const config_definition* find_definition(std::span<const config_definition> table, std::string_view name) {
  for (const auto& def : table) {
    if (def.name == name) return &def;
  }
  return nullptr;
}

int64_t parse_int64(std::string_view value) { return to_int64(value).value_or(0); }

bool parse_bool(std::string_view value) { return iequals(trim(value), "true"); }

double parse_double(std::string_view value) { return to_double(value).value_or(0.0); }

std::vector<std::string> parse_list(std::string_view value) {
  std::vector<std::string> items;
  while (!value.empty()) {
    auto comma = value.find(',');
    auto item = trim(value.substr(0, comma));
    if (!item.empty()) items.emplace_back(item);
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return items;
}

}  // namespace geomirror::config

#include "broker-core/storage/file_names.h"

#include <charconv>
#include <fmt/format.h>

namespace geomirror::storage {

std::string partition_dir_name(std::string_view topic, int32_t partition) {
  return fmt::format("{}-{}", topic, partition);
}

std::optional<std::pair<std::string, int32_t>> parse_partition_dir_name(std::string_view name) {
  const size_t dash = name.rfind('-');
  if (dash == std::string_view::npos || dash == 0 || dash + 1 == name.size()) return std::nullopt;
  const std::string_view digits = name.substr(dash + 1);
  if (digits.size() > 10) return std::nullopt;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  int64_t p = 0;
  std::from_chars(digits.data(), digits.data() + digits.size(), p);
  if (p > INT32_MAX) return std::nullopt;
  std::string topic(name.substr(0, dash));
  if (!valid_topic_name(topic)) return std::nullopt;
  return std::pair{std::move(topic), static_cast<int32_t>(p)};
}

std::string segment_stem(int64_t base_offset) { return fmt::format("{:020d}", base_offset); }

std::filesystem::path segment_log_path(const std::filesystem::path& dir, int64_t base_offset) {
  return dir / (segment_stem(base_offset) + std::string(log_suffix));
}

std::filesystem::path segment_index_path(const std::filesystem::path& dir, int64_t base_offset) {
  return dir / (segment_stem(base_offset) + std::string(index_suffix));
}

std::filesystem::path segment_time_index_path(const std::filesystem::path& dir,
                                              int64_t base_offset) {
  return dir / (segment_stem(base_offset) + std::string(time_index_suffix));
}

namespace {

// Parses exactly 20 decimal digits into a non-negative int64.
std::optional<int64_t> parse_offset_digits(std::string_view digits) {
  if (digits.size() != 20) return std::nullopt;
  uint64_t v = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    if (v > (static_cast<uint64_t>(INT64_MAX) - static_cast<uint64_t>(c - '0')) / 10) {
      return std::nullopt;
    }
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return static_cast<int64_t>(v);
}

}  // namespace

std::filesystem::path cleaned_path(const std::filesystem::path& file) {
  auto p = file;
  p += cleaned_suffix;
  return p;
}

std::filesystem::path segment_swap_path(const std::filesystem::path& dir, int64_t base_offset,
                                        int64_t end_offset) {
  return dir / fmt::format("{}{}.{}{}", segment_stem(base_offset), log_suffix,
                           segment_stem(end_offset), swap_suffix);
}

std::optional<std::pair<int64_t, int64_t>> parse_segment_swap_file_name(std::string_view name) {
  // <20 digits>.log.<20 digits>.swap
  const size_t expected = 20 + log_suffix.size() + 1 + 20 + swap_suffix.size();
  if (name.size() != expected) return std::nullopt;
  if (name.substr(20, log_suffix.size()) != log_suffix || name[20 + log_suffix.size()] != '.' ||
      name.substr(name.size() - swap_suffix.size()) != swap_suffix) {
    return std::nullopt;
  }
  auto base = parse_offset_digits(name.substr(0, 20));
  auto end = parse_offset_digits(name.substr(20 + log_suffix.size() + 1, 20));
  if (!base || !end || *end < *base) return std::nullopt;
  return std::pair{*base, *end};
}

std::filesystem::path producer_snapshot_path(const std::filesystem::path& dir, int64_t offset) {
  return dir / (segment_stem(offset) + std::string(snapshot_suffix));
}

std::optional<int64_t> parse_producer_snapshot_file_name(std::string_view name) {
  if (name.size() != 20 + snapshot_suffix.size() || name.substr(20) != snapshot_suffix) {
    return std::nullopt;
  }
  return parse_offset_digits(name.substr(0, 20));
}

std::optional<std::pair<int64_t, segment_file_kind>> parse_segment_file_name(
    std::string_view name) {
  constexpr size_t digits = 20;
  if (name.size() <= digits) return std::nullopt;
  const std::string_view suffix = name.substr(digits);
  segment_file_kind kind;
  if (suffix == log_suffix) {
    kind = segment_file_kind::log;
  } else if (suffix == index_suffix) {
    kind = segment_file_kind::index;
  } else if (suffix == time_index_suffix) {
    kind = segment_file_kind::time_index;
  } else {
    return std::nullopt;
  }
  auto base = parse_offset_digits(name.substr(0, digits));
  if (!base) return std::nullopt;
  return std::pair{*base, kind};
}

bool valid_topic_name(std::string_view topic) {
  if (topic.empty() || topic.size() > 249 || topic == "." || topic == "..") return false;
  for (char c : topic) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace geomirror::storage

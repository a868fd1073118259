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
  uint64_t v = 0;
  for (size_t i = 0; i < digits; ++i) {
    const char c = name[i];
    if (c < '0' || c > '9') return std::nullopt;
    if (v > (static_cast<uint64_t>(INT64_MAX) - static_cast<uint64_t>(c - '0')) / 10) {
      return std::nullopt;
    }
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return std::pair{static_cast<int64_t>(v), kind};
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

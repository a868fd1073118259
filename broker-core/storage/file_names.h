#pragma once
// Names of everything the storage layer puts on disk, built and parsed only
// here (leveldb's filename.h habit):
//
//   <data-dir>/<topic>-<partition>/            one directory per partition
//       00000000000000000000.log               segment: batches back to back
//       00000000000000000000.index             sparse offset index
//       00000000000000000000.timeindex         sparse time index
//       00000000000000001234.snapshot          producer (idempotence) state as of offset 1234
//       log-start-offset                       only after DeleteRecords-style moves
//       cleaner-offset-checkpoint              compacted logs: where the dirty section starts
//       *.tmp                                  half-written metadata (removed at open)
//       *.cannotrecover                        unreadable data set aside (never deleted)
//       <base>.log.cleaned (.index/.timeindex)  cleaner output being written (removed at open)
//       <base>.log.<end>.swap                  cleaned segment replacing every segment with
//                                              a base offset in [base, end) (completed at open)
//
// The number is the segment's base offset, zero-padded to 20 digits so that
// names sort in offset order. Topic names may contain '-': a partition
// directory is split at its LAST '-'. Pure functions, thread-safe.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace geomirror::storage {

inline constexpr std::string_view log_suffix = ".log";
inline constexpr std::string_view index_suffix = ".index";
inline constexpr std::string_view time_index_suffix = ".timeindex";
inline constexpr std::string_view cannot_recover_suffix = ".cannotrecover";
inline constexpr std::string_view temp_suffix = ".tmp";
inline constexpr std::string_view log_start_offset_file = "log-start-offset";
inline constexpr std::string_view cleaner_checkpoint_file = "cleaner-offset-checkpoint";
inline constexpr std::string_view snapshot_suffix = ".snapshot";
inline constexpr std::string_view cleaned_suffix = ".cleaned";
inline constexpr std::string_view swap_suffix = ".swap";

// "<topic>-<partition>"
std::string partition_dir_name(std::string_view topic, int32_t partition);
// Inverse of partition_dir_name; nullopt if `name` is not of that shape.
std::optional<std::pair<std::string, int32_t>> parse_partition_dir_name(std::string_view name);

// "00000000000000000042"
std::string segment_stem(int64_t base_offset);
std::filesystem::path segment_log_path(const std::filesystem::path& dir, int64_t base_offset);
std::filesystem::path segment_index_path(const std::filesystem::path& dir, int64_t base_offset);
std::filesystem::path segment_time_index_path(const std::filesystem::path& dir,
                                              int64_t base_offset);

// "<file>.cleaned": where the cleaner writes the replacement of `file`.
std::filesystem::path cleaned_path(const std::filesystem::path& file);
// "<base>.log.<20-digit end>.swap": a cleaned segment that replaces every
// segment whose base offset is in [base, end).
std::filesystem::path segment_swap_path(const std::filesystem::path& dir, int64_t base_offset,
                                        int64_t end_offset);
// Inverse of segment_swap_path's file name: (base, end).
std::optional<std::pair<int64_t, int64_t>> parse_segment_swap_file_name(std::string_view name);

// "<20-digit offset>.snapshot"
std::filesystem::path producer_snapshot_path(const std::filesystem::path& dir, int64_t offset);
std::optional<int64_t> parse_producer_snapshot_file_name(std::string_view name);

enum class segment_file_kind { log, index, time_index };
// Parses "<20 digits><suffix>" into (base offset, kind).
std::optional<std::pair<int64_t, segment_file_kind>> parse_segment_file_name(
    std::string_view name);

// True for names Kafka would accept as a topic: 1..249 chars of
// [a-zA-Z0-9._-], not "." or "..".
bool valid_topic_name(std::string_view topic);

}  // namespace geomirror::storage

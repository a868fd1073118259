#pragma once
// The two small offset files of a partition directory, both written
// atomically (temp file, fdatasync, rename, fsync dir) and both with this
// layout, 14 bytes, big-endian:
//
//   offset size field
//   0      2    version int16 = 0
//   2      8    offset int64
//   10     4    CRC-32C of bytes 0..9
//
//  - `log-start-offset`: the log start offset when it was moved inside a
//    segment (DeleteRecords). Absent otherwise: the start is then the first
//    segment's base offset.
//  - `cleaner-offset-checkpoint` (compacted logs): the first offset the log
//    cleaner has not compacted yet, i.e. where the dirty section starts
//    (Kafka keeps the same number per partition in its data directory's
//    cleaner-offset-checkpoint file).
//
// A file that fails these checks is ignored (with a warning) by the reader.

#include "broker-core/base/result.h"

#include <cstdint>
#include <filesystem>
#include <optional>

namespace geomirror::storage {

// nullopt when the file is absent or unusable (logged).
std::optional<int64_t> read_log_start_offset(const std::filesystem::path& partition_dir);
result<void> write_log_start_offset(const std::filesystem::path& partition_dir, int64_t offset);

std::optional<int64_t> read_cleaner_checkpoint(const std::filesystem::path& partition_dir);
result<void> write_cleaner_checkpoint(const std::filesystem::path& partition_dir, int64_t offset);

}  // namespace geomirror::storage

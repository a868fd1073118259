#pragma once
// The `log-start-offset` file of a partition directory: the log start offset
// when it was moved inside a segment (DeleteRecords). Absent otherwise: the
// start is then the first segment's base offset. Written atomically (temp
// file, fdatasync, rename, fsync dir). Layout, 14 bytes, big-endian:
//
//   offset size field
//   0      2    version int16 = 0
//   2      8    log start offset int64
//   10     4    CRC-32C of bytes 0..9
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

}  // namespace geomirror::storage

#pragma once
// Walks the record batches stored in a segment file between two positions,
// reading in chunks with pread (no per-batch syscalls for small batches).
// With `verify_crc` each batch's CRC-32C is checked, streaming over the body
// in chunks so a huge (or bogus) length never makes us allocate it whole.
//
// The scan stops at the first position that does not hold a whole,
// well-formed batch: end (exactly at `to`), partial (cut short: a torn
// write) or invalid (bad length/magic/CRC, or offsets going backwards).
// position() is then the end of the last good batch -- where recovery
// truncates. I/O errors are returned as errors (errno codes).
//
// Not thread-safe (one scanner per walk); the fd must stay open meanwhile.

#include "broker-core/base/result.h"
#include "broker-core/records/bytes.h"
#include "broker-core/records/record_batch.h"

#include <cstdint>
#include <optional>
#include <system_error>

namespace geomirror::storage {

struct scanned_batch {
  uint64_t position = 0;  // file position of the batch
  records::batch_header header;
};

class batch_scanner {
 public:
  batch_scanner(int fd, uint64_t from, uint64_t to, bool verify_crc,
                size_t chunk_bytes = 64 * 1024);

  // The next batch, or nullopt once the scan stopped (see stop_reason()).
  result<std::optional<scanned_batch>> next();

  uint64_t position() const { return pos_; }
  records::scan_stop stop_reason() const { return stop_; }
  std::error_code stop_error() const { return stop_error_; }

  // Never wait for the disk: a read the page cache cannot serve whole fails
  // with std::errc::operation_would_block (the caller retries on a thread
  // that may block).
  void set_no_wait() { no_wait_ = true; }

  // Lower bound for the next batch's base offset (offsets never go back
  // within a segment); set by the caller before the first next().
  void set_min_base_offset(int64_t offset) { min_base_offset_ = offset; }

 private:
  // Ensures [off, off + n) is buffered; returns a pointer to `off`, or nullptr
  // if the file ends first.
  result<const uint8_t*> ensure(uint64_t off, size_t n);
  std::optional<scanned_batch> stop(records::scan_stop why, std::error_code ec = {});

  int fd_;
  uint64_t pos_;
  uint64_t to_;
  bool verify_crc_;
  bool no_wait_ = false;
  size_t chunk_;
  int64_t min_base_offset_ = INT64_MIN;
  bool done_ = false;
  records::scan_stop stop_ = records::scan_stop::end;
  std::error_code stop_error_;
  records::bytes buf_;
  uint64_t buf_start_ = 0;
  size_t buf_len_ = 0;
};

}  // namespace geomirror::storage

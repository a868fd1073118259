#pragma once
// Thin POSIX file helpers for the storage layer: an owning fd, full
// pread/pwrite loops (EINTR and short transfers handled), fdatasync and
// directory fsync, and the write-temp / fdatasync / rename / fsync-dir
// sequence for small metadata files. Errors are std::error_code values of
// std::system_category (errno), so callers can log the precise cause before
// mapping to storage::errc::io_error. Thread-safe as far as the underlying
// syscalls are (pread/pwrite on one fd from many threads is fine).

#include "broker-core/base/result.h"
#include "broker-core/records/bytes.h"

#include <cstdint>
#include <filesystem>
#include <span>
#include <vector>

namespace geomirror::storage {

// Owns a file descriptor; closes it on destruction. Move-only.
class file_handle {
 public:
  file_handle() = default;
  explicit file_handle(int fd) : fd_(fd) {}
  ~file_handle() { reset(); }
  file_handle(file_handle&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  file_handle& operator=(file_handle&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = o.fd_;
      o.fd_ = -1;
    }
    return *this;
  }
  file_handle(const file_handle&) = delete;
  file_handle& operator=(const file_handle&) = delete;

  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  void reset();

 private:
  int fd_ = -1;
};

// open(2) with O_CLOEXEC added.
result<file_handle> open_file(const std::filesystem::path& path, int flags, unsigned mode = 0644);

// Writes all of `data` at `offset`.
result<void> pwrite_all(int fd, records::bytes_view data, uint64_t offset);
// Reads up to out.size() bytes at `offset`; fewer only at end of file.
result<size_t> pread_full(int fd, std::span<uint8_t> out, uint64_t offset);
// Reads what the page cache holds of [offset, offset + out.size()) without
// waiting for the disk (preadv2 RWF_NOWAIT): fewer bytes, or
// std::errc::operation_would_block when not even the first page is cached.
result<size_t> pread_nowait(int fd, std::span<uint8_t> out, uint64_t offset);
result<uint64_t> file_size(int fd);
result<void> truncate_file(int fd, uint64_t size);
result<void> sync_data(int fd);  // fdatasync
// fsync of a directory, making created/renamed/removed names durable.
result<void> sync_dir(const std::filesystem::path& dir);
// Creates `dir` and its missing parents (like mkdir -p) and fsyncs the parent
// of every directory it created, so the new names survive power loss.
result<void> create_directories_durably(const std::filesystem::path& dir);
// Last modification time of the open file, in ms since the epoch.
result<int64_t> modified_ms(int fd);
// Sets the file's modification time (futimens; access time left alone).
result<void> set_modified_ms(int fd, int64_t ms);

// Removes each file, ignoring failures (files already gone, say): for
// leftovers whose removal nothing depends on.
void remove_files_quietly(const std::vector<std::filesystem::path>& paths);

// Replaces `path` atomically and durably with `data`: writes `path`.tmp,
// fdatasyncs it, renames it over `path`, fsyncs the directory.
result<void> write_file_atomic(const std::filesystem::path& path, records::bytes_view data);

// Reads a whole (small) file; errors if it is larger than `max_bytes`.
result<records::bytes> read_file(const std::filesystem::path& path, size_t max_bytes);

}  // namespace geomirror::storage

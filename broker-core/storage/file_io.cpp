#include "broker-core/storage/file_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

namespace geomirror::storage {
namespace {

std::error_code last_error() { return {errno, std::system_category()}; }

}  // namespace

void file_handle::reset() {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

result<file_handle> open_file(const std::filesystem::path& path, int flags, unsigned mode) {
  int fd;
  do {
    fd = ::open(path.c_str(), flags | O_CLOEXEC, static_cast<mode_t>(mode));
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return last_error();
  return file_handle(fd);
}

result<void> pwrite_all(int fd, records::bytes_view data, uint64_t offset) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::pwrite(fd, data.data() + done, data.size() - done,
                               static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return last_error();
    }
    if (n == 0) return std::error_code(EIO, std::system_category());
    done += static_cast<size_t>(n);
  }
  return outcome::success();
}

result<size_t> pread_full(int fd, std::span<uint8_t> out, uint64_t offset) {
  size_t done = 0;
  while (done < out.size()) {
    const ssize_t n =
        ::pread(fd, out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return last_error();
    }
    if (n == 0) break;  // end of file
    done += static_cast<size_t>(n);
  }
  return done;
}

result<size_t> pread_nowait(int fd, std::span<uint8_t> out, uint64_t offset) {
  size_t done = 0;
  while (done < out.size()) {
    iovec v{out.data() + done, out.size() - done};
    const ssize_t n = ::preadv2(fd, &v, 1, static_cast<off_t>(offset + done), RWF_NOWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN && done > 0) break;
      return last_error();
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return done;
}

void remove_files_quietly(const std::vector<std::filesystem::path>& paths) {
  for (const auto& path : paths) {
    std::error_code ec;
    std::filesystem::remove(path, ec);
  }
}

result<uint64_t> file_size(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return last_error();
  return static_cast<uint64_t>(st.st_size);
}

result<void> truncate_file(int fd, uint64_t size) {
  int rc;
  do {
    rc = ::ftruncate(fd, static_cast<off_t>(size));
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) return last_error();
  return outcome::success();
}

result<void> sync_data(int fd) {
  int rc;
  do {
    rc = ::fdatasync(fd);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) return last_error();
  return outcome::success();
}

result<void> sync_dir(const std::filesystem::path& dir) {
  auto fd = open_file(dir, O_RDONLY | O_DIRECTORY);
  if (!fd) return fd.error();
  int rc;
  do {
    rc = ::fsync(fd.value().get());
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) return last_error();
  return outcome::success();
}

result<void> create_directories_durably(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> missing;  // deepest first
  std::error_code ec;
  for (auto p = dir.lexically_normal(); !p.empty() && !std::filesystem::exists(p, ec);
       p = p.parent_path()) {
    if (ec) return ec;
    missing.push_back(p);
    if (p == p.parent_path()) break;
  }
  if (ec) return ec;
  for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
    std::filesystem::create_directory(*it, ec);
    if (ec) return ec;
    auto parent = it->parent_path();
    if (parent.empty()) parent = ".";
    if (auto r = sync_dir(parent); !r) return r.error();
  }
  return outcome::success();
}

result<int64_t> modified_ms(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return last_error();
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1'000'000;
}

result<void> set_modified_ms(int fd, int64_t ms) {
  struct timespec times[2] {};
  times[0].tv_nsec = UTIME_OMIT;
  times[1].tv_sec = static_cast<time_t>(ms / 1000);
  times[1].tv_nsec = static_cast<long>((ms % 1000) * 1'000'000);
  if (::futimens(fd, times) != 0) return last_error();
  return outcome::success();
}

result<void> write_file_atomic(const std::filesystem::path& path, records::bytes_view data) {
  std::filesystem::path tmp = path;
  tmp += ".tmp";
  {
    auto fd = open_file(tmp, O_WRONLY | O_CREAT | O_TRUNC);
    if (!fd) return fd.error();
    if (auto r = pwrite_all(fd.value().get(), data, 0); !r) return r.error();
    if (auto r = sync_data(fd.value().get()); !r) return r.error();
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) return last_error();
  return sync_dir(path.parent_path());
}

result<records::bytes> read_file(const std::filesystem::path& path, size_t max_bytes) {
  auto fd = open_file(path, O_RDONLY);
  if (!fd) return fd.error();
  auto size = file_size(fd.value().get());
  if (!size) return size.error();
  if (size.value() > max_bytes) return std::error_code(EFBIG, std::system_category());
  records::bytes out(size.value());
  auto n = pread_full(fd.value().get(), out, 0);
  if (!n) return n.error();
  out.resize(n.value());
  return out;
}

}  // namespace geomirror::storage

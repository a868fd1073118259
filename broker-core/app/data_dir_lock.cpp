#include "broker-core/app/data_dir_lock.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

namespace geomirror::app {

data_dir_lock::data_dir_lock(const std::filesystem::path& data_dir) {
  auto path = data_dir / ".lock";
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    throw std::runtime_error(fmt::format("cannot open lock file {}: {}", path.string(), std::strerror(errno)));
  }
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    char buf[32] = {};
    ssize_t n = ::pread(fd_, buf, sizeof(buf) - 1, 0);
    std::string owner = n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string("unknown");
    while (!owner.empty() && (owner.back() == '\n' || owner.back() == ' ')) owner.pop_back();
    ::close(fd_);
    fd_ = -1;
    throw std::runtime_error(fmt::format(
        "data dir {} is already in use by another geomirror-broker (pid {}); stop that broker or choose another "
        "--data-dir",
        data_dir.string(), owner));
  }
  auto pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    // The lock is what matters; the pid is only informative.
  }
}

data_dir_lock::~data_dir_lock() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace geomirror::app

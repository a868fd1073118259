#pragma once
// Exclusive ownership of a data dir: an flock(2)'ed `.lock` file holding the
// owner's pid. The kernel drops the lock when the process dies (even by
// kill -9), so a stale file never blocks a restart.

#include <filesystem>

namespace geomirror::app {

class data_dir_lock {
 public:
  // Throws std::runtime_error naming the owner's pid when another process holds it.
  explicit data_dir_lock(const std::filesystem::path& data_dir);
  ~data_dir_lock();
  data_dir_lock(const data_dir_lock&) = delete;
  data_dir_lock& operator=(const data_dir_lock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace geomirror::app

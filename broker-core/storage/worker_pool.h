#pragma once
// A fixed set of threads running posted tasks first in, first out: the
// storage threads that take blocking file work off the network threads
// (fdatasync for group commit in the flusher; cold reads, segment rolls and
// file deletion in the I/O pool).
//
// Thread-safe. stop() runs whatever is still queued, then joins; after that,
// post() runs the task inline on the caller's thread, so work handed over
// during shutdown still happens.

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace geomirror::storage {

class worker_pool {
 public:
  // `name` (at most 15 characters) names the threads, as top -H shows them.
  worker_pool(size_t threads, std::string name);
  ~worker_pool();
  worker_pool(const worker_pool&) = delete;
  worker_pool& operator=(const worker_pool&) = delete;

  // Tasks must not throw.
  void post(std::function<void()> task);
  void stop();
  size_t thread_count() const { return thread_count_; }

 private:
  void loop();

  const size_t thread_count_;
  const std::string name_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;  // guarded by mutex_
  bool stopping_ = false;                    // guarded by mutex_
  std::vector<std::thread> threads_;
};

}  // namespace geomirror::storage

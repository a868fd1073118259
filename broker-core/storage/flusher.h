#pragma once
// The flusher: a small pool of threads that runs fdatasync off the network
// threads, for group commit (DESIGN.md, broker core). A partition schedules
// itself when it has unsynced appends and is neither queued nor being synced,
// so a partition is in the queue at most once; every append that arrives
// while a sync of that partition runs is covered by its next single sync.
//
// Thread-safe. stop() runs whatever is still queued, then joins; after that,
// schedule() runs the job inline on the caller's thread (so late appends
// during shutdown still get synced).

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace geomirror::storage {

// Something the flusher can sync (partition_log).
class flushable {
 public:
  virtual ~flushable() = default;
  // Runs on a flusher thread; must not throw and must reschedule itself if it
  // wants another turn.
  virtual void run_flush() = 0;
};

class flusher {
 public:
  explicit flusher(size_t threads = 2);
  ~flusher();
  flusher(const flusher&) = delete;
  flusher& operator=(const flusher&) = delete;

  void schedule(std::shared_ptr<flushable> target);
  void stop();
  size_t thread_count() const { return thread_count_; }

 private:
  void loop();

  const size_t thread_count_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<flushable>> queue_;  // guarded by mutex_
  bool stopping_ = false;                         // guarded by mutex_
  std::vector<std::thread> threads_;
};

}  // namespace geomirror::storage

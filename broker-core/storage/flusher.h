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

#include "broker-core/storage/worker_pool.h"

#include <cstddef>
#include <memory>

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
  explicit flusher(size_t threads = 2) : pool_(threads, "gm-flusher") {}
  flusher(const flusher&) = delete;
  flusher& operator=(const flusher&) = delete;

  void schedule(std::shared_ptr<flushable> target) {
    pool_.post([target = std::move(target)] { target->run_flush(); });
  }
  // Other storage work that must not run on a network thread (segment rolls).
  void post(std::function<void()> job) { pool_.post(std::move(job)); }
  void stop() { pool_.stop(); }
  size_t thread_count() const { return pool_.thread_count(); }

 private:
  worker_pool pool_;
};

}  // namespace geomirror::storage

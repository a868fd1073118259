#pragma once
// The bound on memory held by requests (Kafka's queued.max.request.bytes):
// every byte of a request frame being read or waiting for its answer is
// taken from one budget shared by all connections and given back when the
// frame is freed. A connection that cannot get more waits (its reads pause)
// until others give memory back. Waiters are served first come, first
// served, so a stream of small requests cannot starve a large one.
//
// Thread-safe. Grant callbacks run without the lock held, on the thread that
// made the grant possible (acquire() itself or a release()): they must be
// cheap and post to their own executor.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>

namespace geomirror::net {

class memory_budget {
 public:
  explicit memory_budget(size_t limit) : limit_(limit) {}
  memory_budget(const memory_budget&) = delete;
  memory_budget& operator=(const memory_budget&) = delete;

  // Takes `n` bytes now if they are free and nobody waits; false otherwise.
  bool try_acquire(size_t n);
  // Takes `n` bytes (REQUIRES n <= limit()), calling `granted` once they are
  // taken: at once when possible, else after releases make room. Returns an
  // id that cancel() accepts while the grant is pending (0: granted inline).
  uint64_t acquire(size_t n, std::function<void()> granted);
  // Withdraws a pending acquire; false if it was already granted (the bytes
  // are then the caller's to release).
  bool cancel(uint64_t id);
  void release(size_t n);

  size_t limit() const { return limit_; }
  size_t in_use() const;
  size_t waiters() const;

 private:
  struct waiter {
    uint64_t id;
    size_t bytes;
    std::function<void()> granted;
  };

  const size_t limit_;
  mutable std::mutex mutex_;
  size_t used_ = 0;                // guarded by mutex_
  std::deque<waiter> waiting_;     // guarded by mutex_
  uint64_t next_id_ = 1;           // guarded by mutex_
};

}  // namespace geomirror::net

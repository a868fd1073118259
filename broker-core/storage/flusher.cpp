#include "broker-core/storage/flusher.h"

#include <algorithm>

namespace geomirror::storage {

flusher::flusher(size_t threads) : thread_count_(std::max<size_t>(threads, 1)) {
  threads_.reserve(thread_count_);
  for (size_t i = 0; i < thread_count_; ++i) threads_.emplace_back([this] { loop(); });
}

flusher::~flusher() { stop(); }

void flusher::schedule(std::shared_ptr<flushable> target) {
  {
    std::lock_guard lock(mutex_);
    if (!stopping_) {
      queue_.push_back(std::move(target));
      cv_.notify_one();
      return;
    }
  }
  target->run_flush();
}

void flusher::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

void flusher::loop() {
  std::unique_lock lock(mutex_);
  while (true) {
    cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping and drained
    auto target = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    target->run_flush();
    target.reset();
    lock.lock();
  }
}

}  // namespace geomirror::storage

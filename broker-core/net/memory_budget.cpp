#include "broker-core/net/memory_budget.h"

#include <algorithm>
#include <vector>

namespace geomirror::net {

bool memory_budget::try_acquire(size_t n) {
  std::lock_guard lock(mutex_);
  if (!waiting_.empty() || used_ + n > limit_) return false;
  used_ += n;
  return true;
}

uint64_t memory_budget::acquire(size_t n, std::function<void()> granted) {
  {
    std::lock_guard lock(mutex_);
    if (!waiting_.empty() || used_ + n > limit_) {
      const uint64_t id = next_id_++;
      waiting_.push_back({id, n, std::move(granted)});
      return id;
    }
    used_ += n;
  }
  granted();
  return 0;
}

bool memory_budget::cancel(uint64_t id) {
  std::vector<std::function<void()>> grants;
  {
    std::lock_guard lock(mutex_);
    auto it = std::find_if(waiting_.begin(), waiting_.end(), [&](const waiter& w) { return w.id == id; });
    if (it == waiting_.end()) return false;
    const bool was_first = it == waiting_.begin();
    waiting_.erase(it);
    // The head may have been blocking smaller requests behind it.
    while (was_first && !waiting_.empty() && used_ + waiting_.front().bytes <= limit_) {
      used_ += waiting_.front().bytes;
      grants.push_back(std::move(waiting_.front().granted));
      waiting_.pop_front();
    }
  }
  for (auto& g : grants) g();
  return true;
}

void memory_budget::release(size_t n) {
  std::vector<std::function<void()>> grants;
  {
    std::lock_guard lock(mutex_);
    used_ -= std::min(used_, n);
    while (!waiting_.empty() && used_ + waiting_.front().bytes <= limit_) {
      used_ += waiting_.front().bytes;
      grants.push_back(std::move(waiting_.front().granted));
      waiting_.pop_front();
    }
  }
  for (auto& g : grants) g();
}

size_t memory_budget::in_use() const {
  std::lock_guard lock(mutex_);
  return used_;
}

size_t memory_budget::waiters() const {
  std::lock_guard lock(mutex_);
  return waiting_.size();
}

}  // namespace geomirror::net

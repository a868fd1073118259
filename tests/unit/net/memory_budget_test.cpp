// memory_budget: grants within the limit at once, queues the rest first come
// first served, grants queued requests as memory comes back, and a cancelled
// request neither gets memory nor blocks those behind it.

#include "broker-core/net/memory_budget.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace geomirror::net {
namespace {

TEST(memory_budget, grants_within_the_limit_at_once) {
  memory_budget b(100);
  EXPECT_TRUE(b.try_acquire(60));
  EXPECT_FALSE(b.try_acquire(41));
  bool granted = false;
  EXPECT_EQ(b.acquire(40, [&] { granted = true; }), 0u);
  EXPECT_TRUE(granted);
  EXPECT_EQ(b.in_use(), 100u);
  b.release(100);
  EXPECT_EQ(b.in_use(), 0u);
}

TEST(memory_budget, queued_requests_are_granted_in_order_as_memory_returns) {
  memory_budget b(100);
  ASSERT_TRUE(b.try_acquire(90));
  std::vector<int> order;
  EXPECT_NE(b.acquire(50, [&] { order.push_back(1); }), 0u);
  EXPECT_NE(b.acquire(10, [&] { order.push_back(2); }), 0u);
  // A small request behind a waiting large one waits too (no starvation).
  EXPECT_FALSE(b.try_acquire(5));
  EXPECT_EQ(b.waiters(), 2u);
  b.release(30);  // 60 used: 50 does not fit yet
  EXPECT_TRUE(order.empty());
  b.release(60);  // 0 used: both fit
  EXPECT_EQ(order, (std::vector<int>{1, 2}));
  EXPECT_EQ(b.in_use(), 60u);
}

TEST(memory_budget, cancelled_requests_get_nothing_and_unblock_the_queue) {
  memory_budget b(100);
  ASSERT_TRUE(b.try_acquire(80));
  bool big = false, small = false;
  const uint64_t id = b.acquire(60, [&] { big = true; });
  b.acquire(10, [&] { small = true; });
  EXPECT_FALSE(small);
  EXPECT_TRUE(b.cancel(id));
  EXPECT_TRUE(small);
  EXPECT_FALSE(big);
  EXPECT_FALSE(b.cancel(id));
  EXPECT_EQ(b.in_use(), 90u);
}

TEST(memory_budget, concurrent_use_never_exceeds_the_limit) {
  memory_budget b(1000);
  std::atomic<size_t> peak{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20000; ++i) {
        if (!b.try_acquire(300)) continue;
        size_t now = b.in_use();
        size_t seen = peak.load();
        while (now > seen && !peak.compare_exchange_weak(seen, now)) {
        }
        b.release(300);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_LE(peak.load(), 1000u);
  EXPECT_EQ(b.in_use(), 0u);
}

}  // namespace
}  // namespace geomirror::net

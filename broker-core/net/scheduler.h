#pragma once
// Delayed callbacks for request handlers (fetch long polls), without Asio in
// the handlers' headers.

#include <chrono>
#include <functional>
#include <memory>

namespace geomirror::net {

class scheduled_task {
 public:
  virtual ~scheduled_task() = default;
  // Stops the callback from running if it has not started; safe from any thread.
  virtual void cancel() = 0;
};

class scheduler {
 public:
  virtual ~scheduler() = default;
  // Runs `task` on a network thread after `delay`, unless cancelled first.
  virtual std::shared_ptr<scheduled_task> after(std::chrono::milliseconds delay, std::function<void()> task) = 0;
};

}  // namespace geomirror::net

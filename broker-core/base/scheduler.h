#pragma once
// Delayed callbacks (fetch long polls, produce timeouts, group timers) as an
// interface, so the modules that need timers neither include Asio nor depend
// on the network layer; net/ implements it on its io_context.

#include <chrono>
#include <functional>
#include <memory>

namespace geomirror::base {

class scheduled_task {
 public:
  virtual ~scheduled_task() = default;
  // Stops the callback from running if it has not started; safe from any thread.
  virtual void cancel() = 0;
};

class scheduler {
 public:
  virtual ~scheduler() = default;
  // Runs `task` after `delay` (the network layer: on a network thread),
  // unless cancelled first.
  virtual std::shared_ptr<scheduled_task> after(std::chrono::milliseconds delay, std::function<void()> task) = 0;
};

}  // namespace geomirror::base

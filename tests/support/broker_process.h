#pragma once
// A real geomirror-broker child process for C++ integration tests and
// benchmarks: started on 127.0.0.1 with port 0 (a free port picked by the
// kernel), ready once its log says so, stopped with SIGTERM or SIGKILL.
// The binary comes from $GEOMIRROR_BROKER.

#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace geomirror::testing {

class broker_process {
 public:
  // `data_dir` empty: a fresh temporary directory, removed by the destructor.
  explicit broker_process(std::map<std::string, std::string> config = {}, std::filesystem::path data_dir = {});
  ~broker_process();
  broker_process(const broker_process&) = delete;
  broker_process& operator=(const broker_process&) = delete;

  // Starts and waits for the ready line; throws std::runtime_error with the
  // last log lines if the broker exits or is not ready in time.
  void start(int timeout_seconds = 30);
  // SIGTERM and wait; returns the exit status.
  int stop();
  void kill9();

  std::string bootstrap() const { return "127.0.0.1:" + std::to_string(port_); }
  uint16_t port() const { return port_; }
  const std::filesystem::path& data_dir() const { return data_dir_; }
  std::vector<std::string> log_lines() const;
  int pid() const { return pid_; }

 private:
  std::map<std::string, std::string> config_;
  std::filesystem::path data_dir_;
  bool own_dir_ = false;
  uint16_t port_ = 0;
  int pid_ = -1;
  int stderr_fd_ = -1;
  std::thread reader_;
  mutable std::mutex mu_;
  std::vector<std::string> lines_;
};

}  // namespace geomirror::testing

#include "tests/support/broker_process.h"

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string_view>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace geomirror::testing {
namespace {

std::string binary() {
  const char* path = std::getenv("GEOMIRROR_BROKER");
  if (path == nullptr || !std::filesystem::exists(path)) {
    throw std::runtime_error("set GEOMIRROR_BROKER to the geomirror-broker binary (ctest does this)");
  }
  return path;
}

}  // namespace

broker_process::broker_process(std::map<std::string, std::string> config, std::filesystem::path data_dir)
    : config_(std::move(config)), data_dir_(std::move(data_dir)) {
  if (data_dir_.empty()) {
    std::string pattern = (std::filesystem::temp_directory_path() / "geomirror-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    data_dir_ = pattern;
    own_dir_ = true;
  }
}

broker_process::~broker_process() {
  kill9();
  if (own_dir_) {
    std::error_code ec;
    std::filesystem::remove_all(data_dir_, ec);
  }
}

void broker_process::start(int timeout_seconds) {
  std::vector<std::string> args = {binary(), "--listen", "127.0.0.1:" + std::to_string(port_), "--data-dir",
                                   data_dir_.string(), "--cluster-id", "test-cluster"};
  if (!config_.empty()) {
    auto path = data_dir_.string() + ".properties";
    std::ofstream out(path);
    for (const auto& [k, v] : config_) out << k << "=" << v << "\n";
    args.push_back("--config");
    args.push_back(path);
  }
  size_t seen = 0;  // ready lines of an earlier run do not count
  {
    std::lock_guard lock(mu_);
    seen = lines_.size();
  }
  int pipe_fds[2];
  if (::pipe(pipe_fds) != 0) throw std::runtime_error("pipe failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDERR_FILENO);
  posix_spawn_file_actions_addclose(&actions, pipe_fds[0]);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  int rc = ::posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipe_fds[1]);
  if (rc != 0) {
    ::close(pipe_fds[0]);
    throw std::runtime_error("cannot start " + args[0]);
  }
  stderr_fd_ = pipe_fds[0];
  if (reader_.joinable()) reader_.join();
  reader_ = std::thread([this, fd = stderr_fd_] {
    std::string pending;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof(buf))) > 0) {
      pending.append(buf, static_cast<size_t>(n));
      size_t nl;
      while ((nl = pending.find('\n')) != std::string::npos) {
        std::lock_guard lock(mu_);
        lines_.push_back(pending.substr(0, nl));
        pending.erase(0, nl + 1);
      }
    }
    ::close(fd);
  });

  // "geomirror-broker ready: listening on HOST:PORT, ..."
  static constexpr std::string_view ready = "geomirror-broker ready: listening on ";
  auto ready_port = [](const std::string& line) -> int {
    auto at = line.find(ready);
    if (at == std::string::npos) return -1;
    auto comma = line.find(',', at);
    auto colon = line.rfind(':', comma);
    if (colon == std::string::npos || colon < at) return -1;
    return std::atoi(line.c_str() + colon + 1);
  };
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    {
      std::lock_guard lock(mu_);
      for (; seen < lines_.size(); ++seen) {
        if (int port = ready_port(lines_[seen]); port > 0) {
          port_ = static_cast<uint16_t>(port);
          return;
        }
      }
    }
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      std::string tail;
      for (const auto& l : log_lines()) tail += l + "\n";
      throw std::runtime_error("broker exited before it was ready:\n" + tail);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill9();
  throw std::runtime_error("broker not ready in time");
}

int broker_process::stop() {
  if (pid_ < 0) return -1;
  ::kill(pid_, SIGTERM);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  if (reader_.joinable()) reader_.join();
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void broker_process::kill9() {
  if (pid_ < 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  if (reader_.joinable()) reader_.join();
}

std::vector<std::string> broker_process::log_lines() const {
  std::lock_guard lock(mu_);
  return lines_;
}

}  // namespace geomirror::testing

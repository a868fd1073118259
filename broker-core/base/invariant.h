#pragma once
// invariant(cond, fmt, args...): a broken internal assumption. Logs the
// message with its source location and aborts. Never use it to validate
// input from clients, files or configuration.

#include <spdlog/spdlog.h>

#include <cstdlib>

#define GEOMIRROR_INVARIANT(cond, ...)                                                    \
  do {                                                                                    \
    if (!(cond)) [[unlikely]] {                                                           \
      spdlog::critical("invariant failed at {}:{}: {}: {}", __FILE__, __LINE__, #cond,    \
                       fmt::format(__VA_ARGS__));                                         \
      spdlog::default_logger()->flush();                                                  \
      std::abort();                                                                       \
    }                                                                                     \
  } while (false)

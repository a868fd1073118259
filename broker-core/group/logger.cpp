#include "broker-core/group/logger.h"

namespace geomirror::group {

spdlog::logger& group_log() {
  static const std::shared_ptr<spdlog::logger> logger = [] {
    if (auto existing = spdlog::get("broker.group")) return existing;
    auto created = spdlog::default_logger()->clone("broker.group");
    try {
      spdlog::register_logger(created);
    } catch (const spdlog::spdlog_ex&) {
      // Registered concurrently by someone else: use theirs.
      if (auto existing = spdlog::get("broker.group")) return existing;
    }
    return created;
  }();
  return *logger;
}

}  // namespace geomirror::group

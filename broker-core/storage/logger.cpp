#include "broker-core/storage/logger.h"

namespace geomirror::storage {

spdlog::logger& storage_log() {
  static const std::shared_ptr<spdlog::logger> logger = [] {
    if (auto existing = spdlog::get("broker.storage")) return existing;
    auto created = spdlog::default_logger()->clone("broker.storage");
    try {
      spdlog::register_logger(created);
    } catch (const spdlog::spdlog_ex&) {
      // Registered concurrently by someone else: use theirs.
      if (auto existing = spdlog::get("broker.storage")) return existing;
    }
    return created;
  }();
  return *logger;
}

}  // namespace geomirror::storage

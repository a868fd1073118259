#pragma once
// The storage module's spdlog logger ("broker.storage"). Created on first use
// from the default logger's sinks, so configure logging before opening logs.
// Thread-safe.

#include <spdlog/spdlog.h>

namespace geomirror::storage {

spdlog::logger& storage_log();

}  // namespace geomirror::storage

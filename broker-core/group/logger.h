#pragma once
// The group module's spdlog logger ("broker.group"): group state changes at
// info, per-request detail at debug. Created on first use from the default
// logger's sinks. Thread-safe.

#include <spdlog/spdlog.h>

namespace geomirror::group {

spdlog::logger& group_log();

}  // namespace geomirror::group

#pragma once
// Module errors to Kafka wire error codes, in one place. Each mapping is an
// exhaustive switch so a new module error is a compile warning here.

#include "broker-core/group/errc.h"
#include "broker-core/metadata/errc.h"
#include "broker-core/protocol/error_code.h"

#include <system_error>

namespace geomirror::handlers {

protocol::error_code to_wire(metadata::errc e);
protocol::error_code to_wire(group::errc e);
// Any module's error_code (storage, records, metadata, group); unknown categories
// map to UNKNOWN_SERVER_ERROR.
protocol::error_code to_wire(const std::error_code& ec);

}  // namespace geomirror::handlers

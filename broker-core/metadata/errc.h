#pragma once
// Errors of the metadata module (topic catalogue and its database).

#include "broker-core/base/result.h"

#include <boost/outcome/basic_result.hpp>
#include <boost/outcome/policy/terminate.hpp>

#include <string>
#include <system_error>

namespace geomirror::metadata {

enum class errc {
  database = 1,            // SQLite failed (I/O, corruption, full disk)
  topic_exists,
  unknown_topic,
  invalid_topic_name,
  invalid_partitions,
  invalid_replication_factor,
  invalid_replica_assignment,
  invalid_config,
  storage,                 // creating or opening partition logs failed
  topic_deletion_disabled,
};

const std::error_category& metadata_category();

inline std::error_code make_error_code(errc e) { return {static_cast<int>(e), metadata_category()}; }

// An admin operation's failure: what kind, and the message for the client.
struct admin_error {
  errc code;
  std::string message;
};

// What the module's checks and admin operations return: success, or the
// admin_error to answer with (reading the error of a success terminates).
using admin_result = outcome::basic_result<void, admin_error, outcome::policy::terminate>;

}  // namespace geomirror::metadata

template <>
struct std::is_error_code_enum<geomirror::metadata::errc> : std::true_type {};

#pragma once
// Expected failures as values across module boundaries inside broker-core:
// `result<T>` holds either a T or a std::error_code from a module's `errc`
// (each module defines its enum and std::error_category). Exceptions are kept
// for bad start-up configuration and for malformed wire input (decode_error).

#include <boost/outcome/std_result.hpp>

#include <system_error>

namespace geomirror {

namespace outcome = BOOST_OUTCOME_V2_NAMESPACE;

template <class T>
using result = outcome::std_result<T>;

}  // namespace geomirror

#pragma once
// Java .properties text as MirrorMaker 2 reads it (java.util.Properties):
// `key=value`, `key: value` or `key value`; `#` and `!` comment lines; a
// line ending in an odd number of backslashes continues on the next one;
// escapes \t \n \r \f \uXXXX, and `\x` for any other x. Each property keeps
// the line it started on, for error messages.

#include <string>
#include <string_view>
#include <vector>

namespace geomirror::replicator {

struct property {
  std::string key;
  std::string value;
  int line;  // 1-based, where the property starts
};

// In file order; a repeated key appears twice (the later one wins, as in Java).
std::vector<property> parse_properties(std::string_view text);

}  // namespace geomirror::replicator

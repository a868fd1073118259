#include "replicator/properties.h"

#include <cctype>

namespace geomirror::replicator {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\f'; }

// UTF-8 of one code point from a \uXXXX escape.
void append_utf8(std::string& out, unsigned cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xe0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

// Unescapes `s` from `at`; stops (when `key`) at the first unescaped
// separator ('=', ':' or white space) and leaves `at` there.
std::string unescape(std::string_view s, size_t& at, bool key) {
  std::string out;
  while (at < s.size()) {
    char c = s[at];
    if (key && (c == '=' || c == ':' || is_space(c))) break;
    ++at;
    if (c != '\\' || at == s.size()) {
      out += c;
      continue;
    }
    c = s[at++];
    switch (c) {
      case 't': out += '\t'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 'f': out += '\f'; break;
      case 'u': {
        unsigned cp = 0;
        size_t digits = 0;
        while (digits < 4 && at < s.size() && std::isxdigit(static_cast<unsigned char>(s[at]))) {
          cp = cp * 16 + static_cast<unsigned>(std::stoi(std::string(1, s[at]), nullptr, 16));
          ++at;
          ++digits;
        }
        append_utf8(out, cp);
        break;
      }
      default: out += c;
    }
  }
  return out;
}

}  // namespace

std::vector<property> parse_properties(std::string_view text) {
  std::vector<property> out;
  int line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    // One logical line: physical lines joined while they end in an odd run of backslashes.
    std::string logical;
    const int start_line = line_no + 1;
    bool first = true;
    for (;;) {
      size_t end = text.find('\n', pos);
      std::string_view physical = text.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
      pos = end == std::string_view::npos ? text.size() : end + 1;
      ++line_no;
      if (!physical.empty() && physical.back() == '\r') physical.remove_suffix(1);
      size_t lead = 0;
      while (lead < physical.size() && is_space(physical[lead])) ++lead;
      physical.remove_prefix(lead);
      if (first && (physical.empty() || physical[0] == '#' || physical[0] == '!')) break;
      first = false;
      size_t slashes = 0;
      while (slashes < physical.size() && physical[physical.size() - 1 - slashes] == '\\') ++slashes;
      if (slashes % 2 == 1 && pos < text.size()) {
        physical.remove_suffix(1);
        logical += physical;
        continue;
      }
      if (slashes % 2 == 1) physical.remove_suffix(1);  // a continuation at the end of the file
      logical += physical;
      break;
    }
    if (first) continue;  // blank or comment
    size_t at = 0;
    property p;
    p.line = start_line;
    p.key = unescape(logical, at, true);
    while (at < logical.size() && is_space(logical[at])) ++at;
    if (at < logical.size() && (logical[at] == '=' || logical[at] == ':')) ++at;
    while (at < logical.size() && is_space(logical[at])) ++at;
    p.value = unescape(logical, at, false);
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace geomirror::replicator

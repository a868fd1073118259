#pragma once
// Small pieces every benchmark uses: a command-line parser for `--name value`
// options and `--switch`es, and latency percentiles.

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace geomirror::bench {

// Each benchmark declares its options, then parse() fills them; a missing
// value, a value that is not a number or an unknown option throws
// std::invalid_argument naming it.
class option_parser {
 public:
  explicit option_parser(std::string program) : program_(std::move(program)) {}

  template <class Integer>
  option_parser& number(const std::string& name, Integer& out) {
    valued_[name] = [&out, name](const std::string& v) {
      size_t used = 0;
      long long n = 0;
      try {
        n = std::stoll(v, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != v.size() || v.empty()) throw std::invalid_argument(name + " needs a whole number, not '" + v + "'");
      out = static_cast<Integer>(n);
    };
    return *this;
  }
  option_parser& text(const std::string& name, std::string& out) {
    valued_[name] = [&out](const std::string& v) { out = v; };
    return *this;
  }
  option_parser& flag(const std::string& name, bool& out) {
    switches_[name] = &out;
    return *this;
  }

  void parse(int argc, char** argv) const {
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      if (auto s = switches_.find(a); s != switches_.end()) {
        *s->second = true;
      } else if (auto v = valued_.find(a); v != valued_.end()) {
        if (i + 1 >= argc) throw std::invalid_argument(a + " needs a value");
        v->second(argv[++i]);
      } else {
        throw std::invalid_argument("unknown option " + a + " (see the comment at the top of " + program_ + ".cpp)");
      }
    }
  }

 private:
  std::string program_;
  std::map<std::string, std::function<void(const std::string&)>> valued_;
  std::map<std::string, bool*> switches_;
};

// The p-th percentile (0..100) of latencies in microseconds, in milliseconds;
// 0 for none.
inline double percentile_ms(std::vector<int64_t> us, double p) {
  if (us.empty()) return 0;
  const auto k = static_cast<size_t>(p / 100.0 * static_cast<double>(us.size() - 1));
  std::nth_element(us.begin(), us.begin() + static_cast<long>(k), us.end());
  return static_cast<double>(us[k]) / 1000.0;
}

}  // namespace geomirror::bench

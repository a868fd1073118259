#include "broker-core/metadata/producer_ids.h"

#include "broker-core/metadata/errc.h"

#include <spdlog/spdlog.h>

#include <charconv>
#include <string>

namespace geomirror::metadata {
namespace {

constexpr const char* reserved_setting = "producer.id.reserved.until";

}  // namespace

result<int64_t> producer_id_allocator::next() {
  std::lock_guard lock(mu_);
  if (next_ == block_end_) {
    auto stored = store_.get_setting(reserved_setting);
    if (!stored) return stored.error();
    int64_t start = 0;
    if (stored.value()) {
      const auto& text = *stored.value();
      std::from_chars(text.data(), text.data() + text.size(), start);
    }
    int64_t end = start + block_size;
    if (auto saved = store_.put_setting(reserved_setting, std::to_string(end)); !saved) return saved.error();
    spdlog::debug("reserved producer ids {}..{}", start, end - 1);
    next_ = start;
    block_end_ = end;
  }
  return next_++;
}

}  // namespace geomirror::metadata

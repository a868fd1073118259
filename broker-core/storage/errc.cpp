#include "broker-core/storage/errc.h"

#include <string>

namespace geomirror::storage {
namespace {

class storage_category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "storage"; }

  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::offset_out_of_range:
        return "offset out of range";
      case errc::io_error:
        return "storage I/O error";
      case errc::log_failed:
        return "partition log failed after an earlier I/O error";
      case errc::corrupt:
        return "corrupt log data";
      case errc::closed:
        return "partition log closed";
      case errc::invalid_batch:
        return "not a whole record batch";
      case errc::not_found:
        return "partition log not found";
      case errc::already_exists:
        return "partition log already exists";
      case errc::invalid_argument:
        return "invalid argument";
      case errc::out_of_order_sequence:
        return "out of order sequence number for the producer";
      case errc::invalid_producer_epoch:
        return "producer epoch is older than the current one (fenced)";
      case errc::would_block:
        return "the read would wait for the disk";
    }
    return "unknown storage error " + std::to_string(ev);
  }
};

}  // namespace

const std::error_category& error_category() noexcept {
  static const storage_category category;
  return category;
}

}  // namespace geomirror::storage

#include "broker-core/records/errc.h"

#include <string>

namespace geomirror::records {
namespace {

class records_category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "records"; }

  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::batch_too_short:
        return "record batch too short";
      case errc::length_mismatch:
        return "batch length field inconsistent with the bytes given";
      case errc::invalid_length:
        return "invalid batch length field";
      case errc::unsupported_magic:
        return "unsupported record batch magic (only magic 2 is accepted)";
      case errc::crc_mismatch:
        return "record batch CRC-32C mismatch";
      case errc::invalid_attributes:
        return "record batch has unknown attribute bits set";
      case errc::invalid_records_count:
        return "invalid records count";
      case errc::invalid_last_offset_delta:
        return "invalid lastOffsetDelta";
      case errc::records_count_mismatch:
        return "recordsCount differs from lastOffsetDelta + 1";
      case errc::invalid_base_offset:
        return "produced batch must have base offset 0";
      case errc::control_batch_not_allowed:
        return "clients may not produce control batches";
      case errc::invalid_record:
        return "malformed record inside batch";
      case errc::invalid_offset_delta:
        return "record offset deltas out of order";
      case errc::trailing_bytes:
        return "bytes left after the declared records";
      case errc::unsupported_compression:
        return "unsupported compression codec";
      case errc::corrupt_compressed_data:
        return "corrupt compressed data";
      case errc::truncated_compressed_data:
        return "truncated compressed data";
      case errc::decompressed_too_large:
        return "decompressed data exceeds the size limit";
    }
    return "unknown records error " + std::to_string(ev);
  }
};

}  // namespace

const std::error_category& error_category() noexcept {
  static const records_category category;
  return category;
}

}  // namespace geomirror::records

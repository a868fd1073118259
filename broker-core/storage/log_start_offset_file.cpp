#include "broker-core/storage/log_start_offset_file.h"

#include "broker-core/base/endian.h"
#include "broker-core/records/bytes.h"
#include "broker-core/records/crc32c.h"
#include "broker-core/storage/file_io.h"
#include "broker-core/storage/file_names.h"
#include "broker-core/storage/logger.h"

namespace geomirror::storage {
namespace {

constexpr size_t file_size_bytes = 14;

std::optional<int64_t> read_offset_file(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::nullopt;
  auto data = read_file(path, 64);
  if (!data) {
    storage_log().warn("cannot read {}: {}; ignoring it", path.string(), data.error().message());
    return std::nullopt;
  }
  const records::bytes& b = data.value();
  if (b.size() != file_size_bytes || base::load_be16(b.data()) != 0 ||
      base::load_be32(b.data() + 10) != records::crc32c({b.data(), 10})) {
    storage_log().warn("{} is corrupt ({} bytes); ignoring it", path.string(), b.size());
    return std::nullopt;
  }
  const auto offset = static_cast<int64_t>(base::load_be64(b.data() + 2));
  if (offset < 0) return std::nullopt;
  return offset;
}

result<void> write_offset_file(const std::filesystem::path& path, int64_t offset) {
  records::bytes b(file_size_bytes);
  base::store_be16(b.data(), 0);
  base::store_be64(b.data() + 2, static_cast<uint64_t>(offset));
  base::store_be32(b.data() + 10, records::crc32c({b.data(), 10}));
  return write_file_atomic(path, b);
}

}  // namespace

std::optional<int64_t> read_log_start_offset(const std::filesystem::path& partition_dir) {
  return read_offset_file(partition_dir / log_start_offset_file);
}

result<void> write_log_start_offset(const std::filesystem::path& partition_dir, int64_t offset) {
  return write_offset_file(partition_dir / log_start_offset_file, offset);
}

std::optional<int64_t> read_cleaner_checkpoint(const std::filesystem::path& partition_dir) {
  return read_offset_file(partition_dir / cleaner_checkpoint_file);
}

result<void> write_cleaner_checkpoint(const std::filesystem::path& partition_dir, int64_t offset) {
  return write_offset_file(partition_dir / cleaner_checkpoint_file, offset);
}

}  // namespace geomirror::storage

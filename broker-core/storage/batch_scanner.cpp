#include "broker-core/storage/batch_scanner.h"

#include "broker-core/records/crc32c.h"
#include "broker-core/records/errc.h"
#include "broker-core/storage/file_io.h"

#include <algorithm>

namespace geomirror::storage {

using records::scan_stop;

batch_scanner::batch_scanner(int fd, uint64_t from, uint64_t to, bool verify_crc,
                             size_t chunk_bytes)
    : fd_(fd), pos_(from), to_(to), verify_crc_(verify_crc), chunk_(std::max<size_t>(chunk_bytes, 4096)) {}

result<const uint8_t*> batch_scanner::ensure(uint64_t off, size_t n) {
  if (off >= buf_start_ && off + n <= buf_start_ + buf_len_) {
    return buf_.data() + (off - buf_start_);
  }
  const size_t want = static_cast<size_t>(std::min<uint64_t>(std::max(chunk_, n), to_ - off));
  if (want < n) return nullptr;
  if (buf_.size() < want) buf_.resize(want);
  auto got = no_wait_ ? pread_nowait(fd_, std::span<uint8_t>(buf_.data(), want), off)
                      : pread_full(fd_, std::span<uint8_t>(buf_.data(), want), off);
  if (!got) return got.error();
  // `to` never lies past the end of the file: short means not cached.
  if (no_wait_ && got.value() < want) return std::make_error_code(std::errc::operation_would_block);
  buf_start_ = off;
  buf_len_ = got.value();
  if (buf_len_ < n) return nullptr;  // the file is shorter than the caller thought
  return buf_.data();
}

std::optional<scanned_batch> batch_scanner::stop(scan_stop why, std::error_code ec) {
  done_ = true;
  stop_ = why;
  stop_error_ = ec;
  return std::nullopt;
}

result<std::optional<scanned_batch>> batch_scanner::next() {
  if (done_) return std::optional<scanned_batch>{};
  if (pos_ >= to_) return stop(scan_stop::end);
  const uint64_t avail = to_ - pos_;
  if (avail < records::batch_header_size) return stop(scan_stop::partial);
  auto head = ensure(pos_, records::batch_header_size);
  if (!head) return head.error();
  if (head.value() == nullptr) return stop(scan_stop::partial);
  auto h = records::parse_batch_header({head.value(), records::batch_header_size});
  if (!h) return stop(scan_stop::invalid, h.error());
  const records::batch_header& hdr = h.value();
  const uint64_t size = hdr.size_bytes();
  if (size > avail) return stop(scan_stop::partial);
  if (hdr.last_offset_delta < 0 || hdr.base_offset < min_base_offset_) {
    return stop(scan_stop::invalid, records::errc::invalid_last_offset_delta);
  }
  if (verify_crc_) {
    uint32_t crc = 0;
    uint64_t at = pos_ + records::batch_layout::attributes;
    const uint64_t end = pos_ + size;
    while (at < end) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(end - at, chunk_));
      auto p = ensure(at, n);
      if (!p) return p.error();
      if (p.value() == nullptr) return stop(scan_stop::partial);
      crc = records::crc32c_extend(crc, {p.value(), n});
      at += n;
    }
    if (crc != hdr.crc) return stop(scan_stop::invalid, records::errc::crc_mismatch);
  }
  scanned_batch out{pos_, hdr};
  pos_ += size;
  min_base_offset_ = hdr.next_offset();
  return std::optional<scanned_batch>(out);
}

}  // namespace geomirror::storage

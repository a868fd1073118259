#pragma once
// The value of a `records` field: RecordBatches back to back. Decoded
// requests own their bytes; a Fetch response may name slices of segment files
// instead, which a writer with a splice list leaves out of the encoded buffer
// and the network layer sends with sendfile(2) (zero copy). A set holds owned
// bytes or slices, never both.

#include "broker-core/base/file_slice.h"

#include <cstddef>
#include <cstdint>
#include <vector>

namespace geomirror::protocol {

using bytes = std::vector<uint8_t>;

class record_set {
 public:
  record_set() = default;
  record_set(bytes data) : data_(std::move(data)) {}  // NOLINT: implicit, as a records value

  // The owned bytes (empty when the set is made of slices).
  bytes& owned() { return data_; }
  const bytes& owned() const { return data_; }

  // Appends a file slice. REQUIRES: no owned bytes.
  void append(base::file_slice slice);
  const std::vector<base::file_slice>& slices() const { return slices_; }

  size_t size() const;
  bool empty() const { return size() == 0; }

  bool operator==(const record_set&) const = default;

 private:
  bytes data_;
  std::vector<base::file_slice> slices_;
};

using base::splice_list;

}  // namespace geomirror::protocol

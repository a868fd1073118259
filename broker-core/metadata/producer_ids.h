#pragma once
// Hands out idempotent producer ids that are never reused, even across a
// crash: ids are reserved in blocks, and the end of the current block is
// committed to the metadata store before any id of it is used (as Kafka's
// ProducerIdManager reserves blocks). Thread-safe.

#include "broker-core/base/result.h"
#include "broker-core/metadata/metadata_store.h"

#include <cstdint>
#include <mutex>

namespace geomirror::metadata {

class producer_id_allocator {
 public:
  static constexpr int64_t block_size = 1000;

  explicit producer_id_allocator(metadata_store& store) : store_(store) {}

  // The next unused producer id; errc::database if the reservation cannot be stored.
  result<int64_t> next();

 private:
  metadata_store& store_;
  std::mutex mu_;
  int64_t next_ = 0;
  int64_t block_end_ = 0;  // exclusive; next_ == block_end_ means "reserve a block"
};

}  // namespace geomirror::metadata

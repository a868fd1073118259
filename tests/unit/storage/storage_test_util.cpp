#include "tests/unit/storage/storage_test_util.h"

#include "broker-core/records/record_batch.h"
#include "broker-core/storage/file_names.h"

#include <condition_variable>
#include <cstdlib>
#include <future>
#include <mutex>

namespace geomirror::storage::test {

temp_dir::temp_dir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "geomirror-storage-XXXXXX").string();
  char* made = ::mkdtemp(pattern.data());
  if (made == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = made;
}

temp_dir::~temp_dir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

records::bytes make_batch(int count, int64_t timestamp, int first_value,
                          records::compression_codec codec, size_t value_size) {
  records::batch_builder b(codec);
  for (int i = 0; i < count; ++i) {
    std::string value = "v" + std::to_string(first_value + i);
    if (value.size() < value_size) value.resize(value_size, 'x');
    b.add("k", value, timestamp + i);
  }
  return b.build();
}

append_info append_durable(partition_log& log, records::bytes batch, int64_t now_ms) {
  auto info = log.append_and_wait(batch, now_ms);
  EXPECT_TRUE(info) << info.error().message();
  if (!info) return {};
  std::promise<std::error_code> done;
  log.when_durable(info.value().last_offset, [&](std::error_code ec) { done.set_value(ec); });
  auto fut = done.get_future();
  EXPECT_EQ(fut.wait_for(std::chrono::seconds(20)), std::future_status::ready);
  EXPECT_FALSE(fut.get());
  return info.value();
}

records::bytes data_of(const read_result& read) {
  auto bytes = read_bytes(read);
  EXPECT_TRUE(bytes) << bytes.error().message();
  return bytes ? std::move(bytes).value() : records::bytes{};
}

std::vector<records::record> read_all(const partition_log& log, int64_t from, int32_t max_bytes) {
  std::vector<records::record> out;
  int64_t next = from < 0 ? log.log_start_offset() : from;
  while (true) {
    auto r = log.read(next, max_bytes, true);
    EXPECT_TRUE(r) << r.error().message();
    if (!r || data_of(r.value()).empty()) break;
    int64_t last = next;
    records::for_each_batch(data_of(r.value()), [&](const records::batch_view& b) {
      EXPECT_TRUE(records::validate_batch(b.data)) << "batch at " << b.header.base_offset;
      auto recs = records::decode_records(b.data);
      EXPECT_TRUE(recs);
      if (recs) {
        for (auto& rec : recs.value()) {
          if (rec.offset >= next) out.push_back(std::move(rec));
        }
      }
      last = b.header.last_offset();
      return true;
    });
    next = last + 1;
  }
  return out;
}

std::vector<batch_span> batches_in(const records::bytes& data) {
  std::vector<batch_span> out;
  auto r = records::for_each_batch(data, [&](const records::batch_view& b) {
    out.push_back({b.header.base_offset, b.header.last_offset()});
    return true;
  });
  EXPECT_EQ(r.reason, records::scan_stop::end);
  return out;
}

struct held_flusher::blocker final : flushable {
  std::mutex mu;
  std::condition_variable cv;
  bool held = false;
  bool entered = false;

  void run_flush() override {
    std::unique_lock lock(mu);
    entered = true;
    cv.notify_all();
    cv.wait(lock, [this] { return !held; });
    entered = false;
    cv.notify_all();
  }
};

held_flusher::held_flusher() : blocker_(std::make_shared<blocker>()) {}

held_flusher::~held_flusher() { release(); }

void held_flusher::hold() {
  {
    std::lock_guard lock(blocker_->mu);
    blocker_->held = true;
  }
  flusher_.schedule(blocker_);
  std::unique_lock lock(blocker_->mu);
  blocker_->cv.wait(lock, [this] { return blocker_->entered; });
}

void held_flusher::release() {
  std::unique_lock lock(blocker_->mu);
  blocker_->held = false;
  blocker_->cv.notify_all();
  // Until the thread has left the blocker, a hold() right after this one
  // would find it still inside and never let it go.
  blocker_->cv.wait(lock, [this] { return !blocker_->entered; });
}

log_config small_segments(int64_t segment_bytes, int32_t index_interval) {
  log_config c;
  c.segment_bytes = segment_bytes;
  c.index_interval_bytes = index_interval;
  return c;
}

records::bytes keyed_batch(const std::vector<kv>& recs, int64_t timestamp,
                           records::compression_codec codec, int64_t producer_id, int16_t epoch,
                           int32_t base_sequence) {
  records::batch_builder b(codec);
  b.set_producer(producer_id, epoch, base_sequence);
  int64_t ts = timestamp;
  for (const auto& r : recs) {
    b.add(std::string_view(r.key),
          r.value ? std::optional<std::string_view>(*r.value) : std::nullopt, ts++);
  }
  return b.build();
}

log_config compacted(int64_t segment_bytes) {
  log_config c = small_segments(segment_bytes, 256);
  c.compact = true;
  c.delete_enabled = false;
  c.flush_messages = 1'000'000;
  return c;
}

int64_t active_segment_base(const std::filesystem::path& partition_dir) {
  int64_t base = -1;
  for (const auto& e : std::filesystem::directory_iterator(partition_dir)) {
    auto p = parse_segment_file_name(e.path().filename().string());
    if (p && p->second == segment_file_kind::log) base = std::max(base, p->first);
  }
  return base;
}

}  // namespace geomirror::storage::test

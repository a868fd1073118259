#pragma once
// partition_log: the durable, segmented log of one topic partition, stored in
// `<data-dir>/<topic>-<partition>/` (docs/formats/segment-files.md).
//
// Durability (DESIGN.md, broker core):
//  - strict (log_config::strict_durability(), the default): append() writes
//    the batch into the active segment (page cache) and returns; the high
//    watermark, which bounds what readers see, advances only after an
//    fdatasync covering the batch. Syncs run on the flusher with group commit:
//    one sync covers every append made before it started. when_durable()
//    calls back once the offset is synced.
//  - relaxed (flush_messages > 1 or a finite flush_ms, like Kafka): the high
//    watermark is the log end offset right after the write; the flusher syncs
//    after flush_messages records, tick() after flush_ms; when_durable() calls
//    back at once.
//  A failed write or fdatasync marks the log failed: pending waiters get
//  errc::io_error, later appends errc::log_failed.
//
// Segment rolls never block the caller of append() (a network thread): the
// batch that needs a new segment, and every batch appended after it until the
// roll is done, waits in the partition's queue while a storage thread (the
// flusher's pool) creates the new segment and appends the queue into it.
// Only then does that thread seal the old segment (index writes, fdatasync of
// its files), fsync the directory and write the producer snapshot; the
// durable offset (and in strict mode the high watermark) does not pass the
// old segment's end before all of that is done. Retention and DeleteRecords
// do their file work (unlinks, directory fsync, the log-start-offset file)
// outside the append lock, so appends never wait behind it.
//
// Thread safety: every public member is thread-safe. Appends are serialized
// by a per-partition mutex (different partitions append in parallel). Reads
// snapshot the segment list and high watermark under a short state lock and
// pread outside it, so they never wait for a write or a sync. Callbacks
// (when_durable, high watermark waiters) run without any partition lock
// held, on whichever thread completed the work (an appender, a flusher
// thread, close()); they must be cheap -- post to your own executor.
//
// Idempotent producers (producer_state.h): batches with a producer id and a
// base sequence are checked against, and recorded in, the partition's
// producer state under the append lock, atomically with the write; a retried
// batch is answered with its original offsets and not written again. The
// state is snapshotted to `<offset>.snapshot` when a segment rolls and at
// close; open() loads the newest valid snapshot and replays the batch headers
// after it, so the state survives kill -9.
//
// Compaction (cleanup.policy=compact, log_cleaner.h): clean() rewrites
// closed segments keeping the newest record per key, offsets unchanged, and
// swaps the result in with a crash-safe rename protocol; it reads a snapshot
// of the segment list without holding the partition locks and takes the
// append lock only for the swap itself, so produce and fetch go on.
//
// Lifetime: always held by shared_ptr (the flusher keeps one while a sync is
// queued). close() flushes and stops the log; remove() also deletes its
// directory. Both wake every waiter.

#include "broker-core/base/result.h"
#include "broker-core/records/bytes.h"
#include "broker-core/records/record_batch.h"
#include "broker-core/storage/flusher.h"
#include "broker-core/storage/log_cleaner.h"
#include "broker-core/storage/log_config.h"
#include "broker-core/storage/producer_state.h"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <system_error>
#include <vector>

namespace geomirror::storage {

class segment;

struct append_info {
  int64_t base_offset = -1;
  int64_t last_offset = -1;
  int64_t log_append_time_ms = -1;  // -1 unless the topic uses LogAppendTime
  int64_t log_start_offset = 0;
  // A retry of a batch still in its producer's last five: nothing was
  // written; the offsets (and append time) are the original batch's.
  bool duplicate = false;
};

// A byte range of one segment file; the segment keeps its file open (even
// once retention or compaction removed it from the log) while held.
struct read_slice {
  std::shared_ptr<const segment> seg;
  uint64_t position = 0;
  uint64_t length = 0;
  int fd() const;
};

struct read_result {
  std::vector<read_slice> slices;  // whole batches in log order, possibly none
  int64_t high_watermark = 0;
  int64_t log_start_offset = 0;
  int64_t log_end_offset = 0;
  uint64_t size() const;
};

// The bytes of a read's slices (blocking preads). Errors: io_error.
result<records::bytes> read_bytes(const read_result& read);

struct timestamp_and_offset {
  int64_t timestamp = -1;
  int64_t offset = -1;
};

class partition_log final : public flushable,
                            public std::enable_shared_from_this<partition_log> {
 public:
  using durable_callback = std::function<void(std::error_code)>;

  // Opens (recovering) or creates the log in `data_dir`/<topic>-<partition>.
  // Recovery: the last segment is validated batch by batch (length, magic,
  // CRC-32C) and a torn/corrupt tail truncated at the last whole batch (one
  // warn line); older segments keep their indexes when consistent, else they
  // are rebuilt; unreadable segments are renamed *.cannotrecover; stray index
  // and temp files are removed. The active segment is then fdatasync'ed and
  // the high watermark set to the log end offset. `f` must outlive the log.
  static result<std::shared_ptr<partition_log>> open(std::filesystem::path data_dir,
                                                     std::string topic, int32_t partition,
                                                     log_config config, flusher& f);
  ~partition_log() override;
  partition_log(const partition_log&) = delete;
  partition_log& operator=(const partition_log&) = delete;

  const std::string& topic() const { return topic_; }
  int32_t partition() const { return partition_; }
  const std::filesystem::path& dir() const { return dir_; }

  // Appends one whole batch already validated by the caller
  // (records::validate_produced_batch; transactional batches are refused
  // above this layer). Rewrites baseOffset and partitionLeaderEpoch (0) --
  // and for LogAppendTime topics the timestamp type, maxTimestamp and CRC --
  // then writes the bytes as they are. A batch with producerId >= 0 and
  // baseSequence >= 0 is checked against the producer state first: a
  // duplicate returns the original offsets with `duplicate` set; errors
  // errc::invalid_producer_epoch, errc::out_of_order_sequence.
  // `done` gets the outcome: before append() returns when the batch could be
  // written at once, else from the storage thread that rolled the segment
  // (see above). Batches of one partition are appended in call order.
  using append_callback = std::function<void(result<append_info>)>;
  void append(records::bytes batch, int64_t now_ms, append_callback done);
  // append() and wait for its outcome: for tests and tools, never on a
  // network thread.
  result<append_info> append_and_wait(records::bytes batch, int64_t now_ms);

  // Calls `cb` once the record at `offset` is durable: in strict mode after
  // the fdatasync covering it (callbacks of one sync fire in offset order), in
  // relaxed mode at once. Errors: io_error/log_failed after an I/O failure,
  // closed if the log closes before `offset` exists.
  void when_durable(int64_t offset, durable_callback cb);

  // Where the whole batches from the one containing `fetch_offset` lie,
  // never beyond the high watermark, at most `max_bytes` (trimmed to whole
  // batches) unless `min_one_batch` and the first batch alone is larger
  // (KIP-74); continues into the next segments while bytes remain. No record
  // data is read: batch headers are found from the sparse index (a few small
  // reads), the data is for the caller to send (sendfile) or copy. With
  // `may_block` false (a network thread) nothing waits for the disk: when a
  // header read or the slices themselves are not in the page cache, the read
  // fails with would_block. Errors: offset_out_of_range when fetch_offset <
  // log start or > log end ([HW, LEO] gives no slices); io_error.
  result<read_result> read(int64_t fetch_offset, int32_t max_bytes, bool min_one_batch,
                           bool may_block = true) const;

  int64_t log_start_offset() const;
  int64_t high_watermark() const;
  int64_t log_end_offset() const;
  // Every offset below this is fdatasync'ed (<= log_end_offset()).
  int64_t durable_offset() const;
  // fdatasyncs of segment data so far (group commit effectiveness: compare
  // with the number of appends).
  uint64_t sync_count() const { return sync_count_.load(std::memory_order_relaxed); }

  // ListOffsets by timestamp: the first record (offset order) at or after the
  // log start offset, below the high watermark, whose timestamp >= `ts`;
  // nullopt if none.
  result<std::optional<timestamp_and_offset>> offset_for_timestamp(int64_t ts) const;
  // ListOffsets -3 (MAX_TIMESTAMP): the record with the largest timestamp
  // (the first one if several share it) below the high watermark; nullopt if
  // there is none.
  result<std::optional<timestamp_and_offset>> max_timestamp_record() const;

  // DeleteRecords: moves the log start offset forward (never back) and
  // persists it (log-start-offset file: temp, fdatasync, rename, fsync dir).
  // Segments entirely below it are deleted by the next apply_retention().
  // Errors: offset_out_of_range if `offset` > high watermark.
  result<void> advance_log_start_offset(int64_t offset);

  // Deletes whole segments breached by the log start offset, retention_ms
  // (newest record older than now - retention_ms; an expired non-empty active
  // segment is rolled first) and retention_bytes, oldest first and only below
  // the high watermark. Time and size retention only apply when the config
  // has delete_enabled. Returns the number of segments deleted.
  size_t apply_retention(int64_t now_ms);
  // Rolls the active segment if segment_ms elapsed (idle partitions).
  bool maybe_roll(int64_t now_ms);
  // Relaxed policy: schedules a sync when the oldest unsynced append is older
  // than flush_ms. Cheap; called periodically by log_manager.
  void tick(int64_t now_ms);
  // Syncs everything appended so far, on the calling thread.
  result<void> flush();

  void set_config(const log_config& config);
  log_config config() const;

  // One-shot callback fired when the high watermark next advances, or when
  // the log closes. Register, then re-check high_watermark(): no wakeup can
  // be missed. Returns an id for remove_high_watermark_waiter (use it when a
  // long poll times out, so idle partitions do not accumulate waiters).
  uint64_t add_high_watermark_waiter(std::function<void()> cb);
  bool remove_high_watermark_waiter(uint64_t id);

  // --- idempotent producers ----------------------------------------------
  // The state remembered for `producer_id` (a copy), or nullopt.
  std::optional<producer_entry> producer_state(int64_t producer_id) const;
  size_t producer_count() const;
  // Drops producers whose last append is older than now_ms - expiration_ms
  // (producer.id.expiration.ms). Returns how many.
  size_t remove_expired_producers(int64_t now_ms, int64_t expiration_ms);

  // --- compaction (log_cleaner.h) ------------------------------------------
  // Where the cleaner stands: nullopt unless the config has `compact` and the
  // log is open and cleanable. `due` says whether the cleaner should pick it.
  std::optional<cleanable_estimate> cleanable(int64_t now_ms) const;
  // One cleaning pass over the closed segments, whatever the dirty ratio:
  // builds the key -> latest offset map over the dirty section (at most
  // `map_memory_bytes` of keys, then the pass stops at a batch boundary),
  // rewrites the segments from the log start up to the end of that section,
  // swaps them in and persists the cleaner checkpoint. Returns what it did
  // (`cleaned` false when there was nothing to clean or the pass was aborted
  // because retention changed the segments meanwhile). Errors: closed,
  // log_failed, io_error, corrupt (the log is then left alone until reopened).
  result<clean_stats> clean(int64_t now_ms,
                            size_t map_memory_bytes = default_cleaner_map_bytes);
  // The first offset not yet compacted (persisted in cleaner-offset-checkpoint).
  int64_t cleaner_checkpoint() const { return cleaner_checkpoint_.load(); }

  // Flushes, seals the active segment, snapshots the producer state and
  // stops. Idempotent.
  void close();
  // close(), waits for a running clean(), and deletes the partition directory.
  result<void> remove();

  bool failed() const { return failed_.load(); }
  bool closed() const { return closed_.load(); }
  uint64_t size_bytes() const;
  size_t segment_count() const;

  // flushable: one group-commit sync of the active segment.
  void run_flush() override;

 private:
  void mark_expired_tombstones(cleanable_estimate& estimate, int64_t now_ms) const;
  struct pending_callbacks;

  partition_log(std::filesystem::path dir, std::string topic, int32_t partition,
                log_config config, flusher& f);

  result<void> recover();

  // --- appends and rolls (partition_log.cpp) --------------------------------
  struct queued_append {
    records::bytes batch;
    records::batch_header header;
    int64_t now_ms;
    append_callback done;
  };
  // What a segment switch leaves for complete_seal() to do off the lock.
  struct pending_seal {
    std::shared_ptr<segment> old;
    int64_t end_offset = 0;      // the old segment's next offset
    uint64_t end_position = 0;   // and size
    int64_t snapshot_offset = 0;
    records::bytes snapshot;     // producer state at snapshot_offset
  };
  enum class append_step { written, needs_roll, failed };
  // Writes one batch into the active segment unless it must roll first.
  append_step append_locked(queued_append& a, result<append_info>& outcome, bool& schedule,
                            pending_callbacks& out);
  // Runs on a storage thread: creates the next segment, appends the queue
  // into it, then seals the old one.
  void run_roll();
  // Creates the files of the segment at `base` (no directory fsync).
  result<std::shared_ptr<segment>> create_segment(int64_t base);
  // Makes `next` the active segment (it must start at log_end_offset_).
  pending_seal switch_segment_locked(std::shared_ptr<segment> next);
  // Seals the old segment, fsyncs the directory, writes the producer
  // snapshot, then lets durability pass the old segment's end.
  void complete_seal(pending_seal seal);
  // A roll outside the append path (segment.ms, retention emptying the log):
  // false if the log changed meanwhile or a roll is already under way.
  bool roll_now(int64_t now_ms);
  // Waits until no roll is running (`lock` holds append_mutex_).
  void wait_for_rolls(std::unique_lock<std::mutex>& lock);
  bool should_roll_locked(const records::batch_header& h, uint64_t batch_size,
                          int64_t now_ms) const;
  void fail_locked(std::error_code ec, const char* what, pending_callbacks& out);
  // Answer every when_durable waiter with `ec` / wake every high-watermark
  // waiter (through `out`, after the locks are released).
  void answer_durable_waiters_locked(std::error_code ec, pending_callbacks& out);
  void wake_hw_waiters_locked(pending_callbacks& out);
  void advance_durable_locked(const std::shared_ptr<segment>& seg, int64_t end_offset,
                              uint64_t end_position, pending_callbacks& out);
  void set_hw_locked(int64_t hw, int64_t segment_base, uint64_t position,
                     pending_callbacks& out);
  bool sync_wanted_locked() const;
  bool try_schedule_locked();
  result<void> sync_now();
  // Takes the first `count` segments off the list (count < segments);
  // their files are for delete_files() once the lock is released.
  std::vector<std::shared_ptr<segment>> delete_prefix_locked(size_t count, const char* reason,
                                                             std::vector<std::filesystem::path>& unlink);
  void delete_files(const std::vector<std::shared_ptr<segment>>& doomed,
                    const std::vector<std::filesystem::path>& unlink);
  uint64_t read_limit_locked(const segment& seg) const;
  result<uint64_t> whole_batches_end(const std::shared_ptr<segment>& seg, uint64_t from, uint64_t end,
                                     bool may_block) const;
  std::string name() const;

  // Producer snapshots (partition_log_producers.cpp); *_locked under append_mutex_.
  // Writes the state as of the log end (close; rolls use pending_seal).
  void write_producer_snapshot_locked();
  // Records a written snapshot and lists the files no longer kept.
  void snapshot_written_locked(int64_t offset, std::vector<std::filesystem::path>& unlink);
  void prune_producer_snapshots_locked(std::vector<std::filesystem::path>& unlink);
  result<void> load_producer_state(const std::set<int64_t>& snapshots);
  // Cleaner (partition_log_cleaner.cpp): replaces `group` (still in segments_)
  // by `cleaned`; false (cleaned files removed) if the segments changed.
  result<bool> swap_cleaned(const std::vector<std::shared_ptr<segment>>& group,
                            const std::shared_ptr<segment>& cleaned);
  // Recovery (partition_log_recovery.cpp): removes cleaner output that never
  // reached the swap and completes swaps that did; true if files changed.
  result<bool> recover_cleaner_leftovers();

  const std::filesystem::path dir_;
  const std::string topic_;
  const int32_t partition_;
  flusher& flusher_;

  // One clean() at a time; remove() waits for it.
  // Lock order: clean_mutex_ -> append_mutex_ -> mutex_ -> flusher's queue lock.
  std::mutex clean_mutex_;
  // Serializes writers: append, roll, retention, flush, close, config, the
  // cleaner's swap; guards the producer state.
  mutable std::mutex append_mutex_;
  // Guards the state below; held only for short, non-blocking sections.
  mutable std::mutex mutex_;

  log_config config_;
  std::atomic<bool> log_append_time_{false};  // mirror of config_ for the lock-free path
  std::vector<std::shared_ptr<segment>> segments_;  // by base offset; back() is active
  int64_t log_start_offset_ = 0;
  int64_t log_end_offset_ = 0;
  int64_t high_watermark_ = 0;
  int64_t hw_segment_base_ = 0;  // the HW lies in this segment ...
  uint64_t hw_position_ = 0;     // ... at this byte position
  int64_t durable_offset_ = 0;   // every offset below this is fdatasync'ed
  bool sync_scheduled_ = false;  // queued on the flusher
  bool sync_running_ = false;    // a flusher thread is syncing
  int seals_pending_ = 0;        // rolled segments not yet sealed: no sync may advance
  int64_t oldest_unflushed_ms_ = -1;
  std::multimap<int64_t, durable_callback> durable_waiters_;
  std::map<uint64_t, std::function<void()>> hw_waiters_;
  uint64_t next_waiter_id_ = 1;
  bool failure_logged_ = false;
  std::atomic<bool> failed_{false};
  std::atomic<bool> closed_{false};
  std::atomic<uint64_t> sync_count_{0};

  // Guarded by append_mutex_.
  producer_state_table producers_;
  std::set<int64_t> snapshot_offsets_;  // `<offset>.snapshot` files on disk
  std::deque<queued_append> queue_;     // appends waiting for a roll
  bool rolling_ = false;                // a roll job is queued or running
  int roll_jobs_ = 0;                   // roll jobs not finished (close waits)
  std::condition_variable rolls_done_;  // with append_mutex_
  // Serializes DeleteRecords' writes of the log-start-offset file.
  std::mutex start_file_mutex_;

  std::atomic<int64_t> cleaner_checkpoint_{0};
  // Set when the cleaner met data it cannot read: no more cleaning (logged once).
  std::atomic<bool> uncleanable_{false};
  // The latest delete horizon of the tombstones the last cleaning pass kept
  // (-1: none): once it passes, the log is due for a pass that drops them.
  std::atomic<int64_t> latest_delete_horizon_ms_{-1};
};

}  // namespace geomirror::storage

#pragma once
// One segment of a partition log: the `<base>.log` file holding record
// batches back to back exactly as produced (base offset and leader epoch
// assigned, nothing re-encoded), plus its sparse offset and time indexes
// (offset_index.h, time_index.h; layout in docs/formats/segment-files.md).
//
// Lifetime: shared_ptr. A reader or the flusher may keep a segment after
// retention removed it from the log; its files are unlinked at once but the
// fds stay valid until the last reference goes (POSIX semantics), so reads
// and syncs never race with deletion.
//
// Thread safety: segment has no lock of its own; partition_log guards it.
//  - fd() and base_offset() are immutable: use them from any thread.
//  - write(), flush_indexes(), seal(), recover(), remove_files() run under
//    the partition's append lock (one writer). A segment made by
//    create_cleaned() is written by the cleaner thread alone, before the swap
//    publishes it (sealed) under both partition locks.
//  - A sealed segment never changes again, so the cleaner and readers may
//    use the observers of closed segments from a snapshot of the list.
//  - on_appended() runs under the append lock AND the partition state lock;
//    the observers (size(), next_offset(), lookups, timestamps) are read
//    under either of the two.
// Index entries are buffered in memory and written in chunks (every
// index_flush_entries entries) and completely by seal(), which runs before a
// roll lets the next segment take appends. The last segment's index files
// are always rebuilt at recovery, so lazily written entries are safe.

#include "broker-core/base/result.h"
#include "broker-core/records/bytes.h"
#include "broker-core/records/record_batch.h"
#include "broker-core/storage/file_io.h"
#include "broker-core/storage/offset_index.h"
#include "broker-core/storage/time_index.h"

#include <cstdint>
#include <filesystem>
#include <memory>

namespace geomirror::storage {

class segment {
 public:
  // Buffered index entries are written once this many are pending.
  static constexpr size_t index_flush_entries = 512;

  // Creates the files of a new, empty segment (fails if the .log exists) and,
  // with `sync_directory`, fsyncs the directory so the names are durable (a
  // roll does that later, off the append path).
  static result<std::shared_ptr<segment>> create(const std::filesystem::path& dir,
                                                 int64_t base_offset, bool sync_directory = true);
  // Creates the cleaner's output for the segment at `base_offset`:
  // `<base>.log.cleaned` with `.index.cleaned` and `.timeindex.cleaned`
  // (truncated if left over). Filled with write()/on_appended() and sealed, it
  // becomes a regular segment when partition_log renames the files (the fds
  // follow the renames; paths derived later are the regular ones).
  static result<std::shared_ptr<segment>> create_cleaned(const std::filesystem::path& dir,
                                                         int64_t base_offset);
  // Opens an existing segment's .log; call recover() next.
  static result<std::shared_ptr<segment>> open(const std::filesystem::path& dir,
                                               int64_t base_offset);

  segment(const segment&) = delete;
  segment& operator=(const segment&) = delete;
  ~segment();

  struct recovery_outcome {
    uint64_t bytes_dropped = 0;   // torn/corrupt tail removed
    bool indexes_rebuilt = false;
    std::error_code stop_error;   // why the scan stopped early (if it did)
  };
  // Establishes size, next offset, max timestamp and indexes.
  //  full_scan = true (the last segment): validates every batch (length,
  //    magic, CRC-32C, offsets), truncates the log after the last good batch
  //    and rebuilds both index files.
  //  full_scan = false (older segments): trusts the index files if they are
  //    consistent with the log (sizes, bounds, ordering, and a header walk
  //    from the last indexed batch to the end of the file); otherwise
  //    rebuilds them as above, copying a corrupt tail aside to
  //    `<base>.log.<pos>.cannotrecover` before truncating, and seals.
  // Errors are I/O errors: the caller sets the segment aside.
  result<recovery_outcome> recover(bool full_scan, int32_t index_interval_bytes);

  int64_t base_offset() const { return base_offset_; }
  int fd() const { return log_.get(); }

  // --- observers (see thread safety above) ---------------------------------
  uint64_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  int64_t next_offset() const { return next_offset_; }
  // Largest batch maxTimestamp (INT64_MIN when empty) and the base offset of
  // the first batch carrying it.
  int64_t max_timestamp() const { return max_timestamp_; }
  int64_t offset_of_max_timestamp() const { return offset_of_max_timestamp_; }
  // Kafka's segment "largest timestamp" for time retention: the max record
  // timestamp, or the file's modification time when no batch had one.
  int64_t retention_timestamp() const {
    return max_timestamp_ >= 0 ? max_timestamp_ : last_modified_ms_;
  }
  // Wall time of the first append (segment.ms rolling); -1 when empty.
  int64_t rolling_base_ms() const { return rolling_base_ms_; }
  // The .log's modification time at open, or the time of the last append.
  int64_t last_modified_ms() const { return last_modified_ms_; }
  // Position of the last indexed batch starting at or before `offset`
  // (0 if none): a safe place to start walking batch headers.
  uint64_t position_for_offset(int64_t offset) const;
  // Position of the last indexed batch starting at or before byte `position`
  // (0 if none): a batch boundary to walk headers from.
  uint64_t batch_position_at_or_before(uint64_t position) const;
  // A position before every batch that could hold a record with timestamp
  // >= `timestamp` (from the time index).
  uint64_t position_for_timestamp(int64_t timestamp) const;

  // --- write path ------------------------------------------------------------
  // Writes one batch at `position` (== size()); nothing becomes visible.
  result<void> write(uint64_t position, records::bytes_view batch);
  // Records a written batch (header carries its assigned offsets): size, next
  // offset, max timestamp, index entries. now_ms < 0 keeps the time fields.
  void on_appended(const records::batch_header& h, uint64_t position, int64_t now_ms,
                   int32_t index_interval_bytes);
  // Writes pending index entries if at least index_flush_entries are pending
  // (or any, with force).
  result<void> flush_indexes(bool force);
  // fdatasync of the .log only (group commit path).
  result<void> sync();
  // Adds the final time index entry (the segment's max timestamp), in
  // memory. Mutates lookup state: run under both partition locks, before
  // seal().
  void finish_time_index();
  // All index entries written, .log and indexes fdatasync'ed, index fds
  // closed (no in-memory changes). Run before the next segment takes appends
  // and at close.
  result<void> seal();
  // Makes a sealed segment writable again (recovery edge case: the segment
  // after it was set aside). Rewrites and reopens the index files.
  result<void> reopen_for_append();
  // Sets the .log's modification time (a cleaned segment takes that of the
  // last segment it replaces, as Kafka does, so time retention of records
  // without timestamps is not reset by cleaning).
  result<void> set_last_modified(int64_t ms);
  // Unlinks the three files (fds stay usable until the segment dies).
  void remove_files();
  // Renames the files aside with the .cannotrecover suffix.
  static void rename_aside(const std::filesystem::path& dir, int64_t base_offset);

 private:
  segment(std::filesystem::path dir, int64_t base_offset, file_handle log);

  bool try_load_indexes(uint64_t file_size);
  result<recovery_outcome> rebuild(uint64_t file_size, bool older_segment,
                                   int32_t index_interval_bytes);
  result<void> rewrite_index_files();
  int32_t relative(int64_t offset) const { return static_cast<int32_t>(offset - base_offset_); }

  const std::filesystem::path dir_;
  const int64_t base_offset_;
  file_handle log_;
  file_handle index_file_;       // open while the segment takes appends
  file_handle time_index_file_;  // idem

  uint64_t size_ = 0;
  int64_t next_offset_;
  int64_t max_timestamp_ = INT64_MIN;
  int64_t offset_of_max_timestamp_ = -1;
  int64_t rolling_base_ms_ = -1;
  int64_t last_modified_ms_ = 0;
  uint64_t bytes_since_index_entry_ = 0;
  offset_index index_;
  time_index time_index_;
  size_t index_persisted_ = 0;       // entries already in the .index file
  size_t time_index_persisted_ = 0;  // entries already in the .timeindex file
  bool sealed_ = false;
};

}  // namespace geomirror::storage

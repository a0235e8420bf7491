#pragma once
// The log of one partition: its folder of segments, offsets, high watermark, epoch cache and
// producer state, recovery at open, truncation and retention.
//
// Files in a partition folder:
//   partition.format          "sluice-partition-format 1": the version of everything below
//   <20-digit base>.log       RecordBatch v2 bytes exactly as Kafka clients see them
//   <base>.index/.timeindex   sparse indexes (index_file.hpp)
//   recovery-checkpoint       recovery point and log start offset
//   leader-epoch-checkpoint   epoch -> start offset (Kafka's format)
//   producer.snapshot         idempotent producer state and the offset it covers
//   clean-shutdown            present only between a clean close and the next open
//
// Thread: mutating members (marked "writer") are called only by the partition's writer
// thread. Reads (marked "any thread") may run on any thread at the same time: they snapshot
// the segment list under mu_ and then read files without the lock, never past the high
// watermark.

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "store/epoch_cache.hpp"
#include "store/log_config.hpp"
#include "store/producer_state.hpp"
#include "store/record.hpp"
#include "store/record_batch.hpp"
#include "store/segment.hpp"

namespace sluice::store {

struct append_result {
    errc error = errc::ok;
    offset base_offset{-1};
    offset last_offset{-1};
    bool duplicate = false;  // an idempotent retry: these are the offsets of the original
};

// A byte range of a segment file holding whole batches, for sendfile(fd, position, length).
// The shared_ptr keeps the file open while the range is in use, even if retention deletes
// the segment meanwhile.
struct file_range {
    std::shared_ptr<const segment> file;
    std::uint64_t position = 0;
    std::uint64_t length = 0;
    int fd() const { return file->fd(); }
};

struct read_result {
    errc error = errc::ok;
    std::vector<file_range> ranges;
    std::uint64_t bytes = 0;
    offset next_offset{0};  // one past the last batch returned (== from when empty)
    offset high_watermark{0};
    offset log_start{0};
};

struct recovery_report {
    bool clean_start = false;
    std::size_t segments = 0;
    std::size_t segments_checked = 0;  // CRC-scanned
    std::uint64_t bytes_checked = 0;   // bytes of valid batches CRC-scanned
    std::size_t segments_deleted = 0;  // after a corrupt one, or stray
    std::uint64_t bytes_truncated = 0;
    std::uint64_t zeroed_tail_bytes = 0;  // zeros written ahead of the appends, cut (no damage)
    std::vector<std::string> problems;  // human-readable, one per repaired or ignored file
};

using clock_fn = std::function<std::int64_t()>;  // milliseconds since the epoch

class partition_log {
  public:
    // Opens (creating if needed) the partition folder and recovers it. Returns nullptr with
    // error set when the folder cannot be used at all (unknown format version, I/O error).
    static std::unique_ptr<partition_log> open(const std::string& dir, const log_config& config,
                                               clock_fn clock, errc& error);
    ~partition_log();

    // writer: validates, deduplicates, stamps offsets and epoch, and queues the write.
    append_result append(record_batch& batch, leader_epoch epoch);
    // writer: a follower's append: the batch keeps the leader's offsets and epoch.
    append_result append_as_follower(record_batch& batch);
    // writer: writes the queued batches (no fsync).
    errc flush_writes();
    // writer: fdatasync of the active segment.
    errc sync();
    // writer: under `always`, keeps zeros written ahead of the active segment's end (up to
    // zero_ahead_bytes, not past segment_bytes), so most fdatasyncs commit data only
    // (segment::zero_ahead). Best effort: a failure only costs that saving. Not on tmpfs or
    // ramfs, where there is no journal to spare, and zeros would only hold space that a
    // reopen after a full disk would give back.
    void zero_ahead();
    static constexpr std::uint64_t zero_ahead_bytes = 64 * 1024;
    // writer: makes everything appended so far visible to readers (high watermark = end).
    void commit();
    // writer: drops every record at or after o (a follower's divergent tail).
    errc truncate_to(offset o);
    // writer: deletes old segments by age and size; returns how many.
    std::size_t enforce_retention(std::int64_t now_ms);
    // writer: swaps a closed segment for its compacted copy at cleaned_path.
    errc replace_segment(const std::shared_ptr<segment>& old, const std::string& cleaned_path);
    // writer: syncs everything, writes checkpoints and the clean-shutdown marker.
    errc close_clean();
    // writer: the epoch stamped on leader appends.
    void set_leader_epoch(leader_epoch e) { epoch_ = e; }

    // any thread
    read_result read(offset from, std::uint64_t max_bytes) const;
    // any thread: like read() but copies the bytes and CRC-checks every batch; stops before
    // the first bad batch (corrupt_message if that is the first one).
    errc read_copy(offset from, std::uint64_t max_bytes, byte_buffer& out, offset& next) const;
    // any thread: decodes every record from `from` up to the high watermark, in order, and
    // calls fn until it returns false. For replaying internal topics at start-up.
    errc for_each_record(offset from, const std::function<bool(const record&)>& fn) const;
    // any thread: first offset whose record timestamp is >= ts.
    std::optional<offset> offset_for_timestamp(std::int64_t ts) const;
    offset log_start_offset() const;
    offset log_end_offset() const;
    offset high_watermark() const;
    std::vector<std::shared_ptr<segment>> segments() const;
    const epoch_cache& epochs() const { return epochs_; }
    const recovery_report& recovery() const { return report_; }
    const log_config& config() const { return config_; }
    const std::string& dir() const { return dir_; }
    bool failed() const { return failed_; }

    // writer
    const producer_state& producers() const { return producers_; }

  private:
    partition_log(std::string dir, log_config config, clock_fn clock);
    errc load();
    errc roll();
    append_result append_stamped(record_batch& batch, const batch_header& h);
    bool write_checkpoint();
    void rebuild_producer_state(offset from);
    void scan_headers(offset from, const std::function<void(const batch_header&)>& fn) const;
    void report(std::string problem);

    const std::string dir_;
    const log_config config_;
    const clock_fn clock_;

    mutable std::mutex mu_;  // guards segments_, hw_, log_start_ (the reader-visible state)
    std::map<std::int64_t, std::shared_ptr<segment>> segments_;
    offset hw_{0};
    offset log_start_{0};

    // writer thread only
    std::shared_ptr<segment> active_;
    offset leo_{0};
    std::atomic<std::int64_t> leo_published_{0};  // leo_ for other threads
    offset recovery_point_{0};
    std::uint64_t write_pos_ = 0;        // end of the active segment including queued bytes
    std::uint64_t pending_start_ = 0;    // where the queued bytes start
    std::vector<record_batch> pending_;  // written by flush_writes()
    std::uint64_t pending_bytes_ = 0;
    leader_epoch epoch_{0};
    producer_state producers_;
    bool failed_ = false;
    bool zero_ahead_useful_ = true;  // false on tmpfs and ramfs (zero_ahead)

    epoch_cache epochs_;
    recovery_report report_;
};

}  // namespace sluice::store

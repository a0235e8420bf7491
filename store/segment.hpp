#pragma once
// One segment of a partition: <base>.log (RecordBatch v2 bytes, nothing else, so file ranges
// can be sent to Kafka clients as they are), <base>.index and <base>.timeindex.
// Thread: the partition's writer appends, truncates and syncs; any thread reads (pread on
// fd(), index lookups). Readers hold a shared_ptr, which keeps the fd open even after the
// segment is deleted or replaced.

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "store/file_util.hpp"
#include "store/index_file.hpp"
#include "store/record_batch.hpp"
#include "store/types.hpp"

struct iovec;

namespace sluice::store {

std::string segment_file_name(offset base, const char* suffix);  // "00000000000000000042.log"

struct segment_recovery {
    bool truncated = false;         // a torn or corrupt tail was cut off
    std::uint64_t valid_bytes = 0;  // file size after recovery
    std::uint64_t dropped_bytes = 0;
    std::uint64_t zeroed_bytes = 0;  // a tail of zeros written ahead of the appends, cut off
    std::size_t batches = 0;
};

class segment {
  public:
    segment(std::string dir, offset base) : dir_(std::move(dir)), base_(base) {}
    segment(const segment&) = delete;
    segment& operator=(const segment&) = delete;

    // New empty segment (files truncated if present).
    static std::shared_ptr<segment> create(const std::string& dir, offset base);
    // Existing segment after a clean shutdown: trusts the indexes after sanity checks and
    // reads only the batch headers after the last index entry. nullptr when anything looks
    // wrong, and the caller falls back to recover().
    static std::shared_ptr<segment> open_clean(const std::string& dir, offset base);
    // Existing segment after a crash (or with bad indexes): CRC-checks every batch, rebuilds
    // both indexes and truncates the file at the first torn or corrupt byte. min_offset is the
    // lowest base offset a batch may have (the previous segment's end).
    static std::shared_ptr<segment> recover(const std::string& dir, offset base,
                                            std::size_t index_interval, segment_recovery& report);

    offset base_offset() const { return base_; }
    int fd() const { return log_.get(); }
    std::string log_path() const;
    std::uint64_t size() const { return size_.load(std::memory_order_acquire); }
    // Bytes at or below the high watermark: what readers may see.
    std::uint64_t readable_size() const { return readable_.load(std::memory_order_acquire); }
    offset next_offset() const { return offset{next_offset_.load(std::memory_order_acquire)}; }
    std::int64_t max_timestamp() const { return max_timestamp_.load(std::memory_order_acquire); }
    std::int64_t created_ms() const { return created_ms_; }
    bool empty() const { return size() == 0; }

    // Writer thread. on_batch() records a batch that is (or is about to be) written at
    // position: index entries, max timestamp, next offset, size. write() writes the bytes.
    bool write(const struct iovec* iov, int count, std::uint64_t total, std::uint64_t position);
    void on_batch(const batch_header& h, std::uint64_t position, std::size_t index_interval);
    void set_readable(std::uint64_t bytes) { readable_.store(bytes, std::memory_order_release); }
    void set_created_ms(std::int64_t ms) { created_ms_ = ms; }
    bool sync_data();
    bool sync_all();
    // Writer thread. Writes zeros past `end` (the end of the batches written) up to `limit`
    // when fewer than `chunk / 2` bytes are zeroed ahead of it, `chunk` bytes at a time: an
    // fdatasync after an append into bytes already written commits no change of the file's
    // size or extents to the journal, only the data. The zeroed tail is not part of the
    // segment (size() ends at the last batch): trim_zeroed_tail() cuts it at a roll or a
    // clean close, and recovery after a crash cuts it without calling it damage. False when
    // the zeros could not be written (the appends are not affected: they just extend the
    // file as they would without it).
    bool zero_ahead(std::uint64_t end, std::uint64_t chunk, std::uint64_t limit);
    bool trim_zeroed_tail();
    std::uint64_t zeroed_end() const { return zeroed_end_; }
    // Cuts everything from the first batch whose last offset is >= o.
    bool truncate_to(offset o);
    // Closes and deletes the files (open fds held by readers stay valid).
    void remove_files();
    void close();

    // Any thread: file position of the batch containing o or an earlier one.
    std::uint64_t position_floor(offset o) const;
    // Any thread: (offset, position) to start a scan for the first batch whose max timestamp
    // is >= ts.
    std::uint64_t position_for_timestamp(std::int64_t ts) const;

  private:
    bool rebuild_indexes_from(std::uint64_t from, std::uint64_t to, std::size_t index_interval,
                              bool check_crc, segment_recovery* report);
    void maybe_index(const batch_header& h, std::uint64_t position, std::size_t index_interval);

    std::string dir_;
    offset base_;
    unique_fd log_;
    offset_index index_;
    time_index time_index_;
    std::atomic<std::uint64_t> size_{0};
    std::atomic<std::uint64_t> readable_{0};
    std::atomic<std::int64_t> next_offset_{0};
    std::atomic<std::int64_t> max_timestamp_{-1};
    std::int64_t created_ms_ = 0;
    std::uint64_t bytes_since_index_ = 0;  // writer thread only
    bool indexed_once_ = false;            // writer thread only
    std::uint64_t zeroed_end_ = 0;         // writer thread only: file bytes written (data or zeros)
};

}  // namespace sluice::store

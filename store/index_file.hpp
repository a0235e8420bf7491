#pragma once
// The two sparse per-segment indexes, one file each:
//   .index      offset -> file position   entries: relative offset u32, position u32
//   .timeindex  time -> offset            entries: timestamp i64, relative offset u32
// Every file starts with a 16-byte header: magic u32 ("SLOI" / "SLTI"), format version u16
// (1), entry size u16, segment base offset i64; all big-endian. Entries are appended as the
// segment grows and kept in memory for lookups.
// Thread: appended and truncated by the partition's writer; looked up by any thread (a mutex
// guards the entries).

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "store/file_util.hpp"
#include "store/types.hpp"

namespace sluice::store {

struct offset_index_entry {
    std::uint32_t relative_offset;
    std::uint32_t position;
    static constexpr std::size_t disk_size = 8;
};

struct time_index_entry {
    std::int64_t timestamp;
    std::uint32_t relative_offset;
    static constexpr std::size_t disk_size = 12;
};

constexpr std::uint16_t index_format_version = 1;
constexpr std::size_t index_header_size = 16;

template <typename Entry>
class index_file {
  public:
    // Opens path and loads it. Returns false (leaving an empty index) if the file is missing,
    // has a bad header or entries that are out of order: the caller then rebuilds it.
    bool load(const std::string& path, offset base);
    // Truncates path to an empty index (header only).
    bool create(const std::string& path, offset base);
    bool append(const Entry& e);
    // Keeps the entries for which keep(e) holds (they are a prefix), drops the rest.
    template <typename Pred>
    bool truncate_while(Pred keep);
    bool sync();
    void close() { fd_.reset(); }

    std::vector<Entry> entries() const {
        std::lock_guard lock(mu_);
        return entries_;
    }
    std::optional<Entry> last() const {
        std::lock_guard lock(mu_);
        if (entries_.empty()) return std::nullopt;
        return entries_.back();
    }
    // Last entry for which before(e) holds (entries are sorted by that key).
    template <typename Pred>
    std::optional<Entry> floor(Pred before) const;

  private:
    bool write_header(offset base);
    mutable std::mutex mu_;  // guards entries_ against readers while the writer appends
    std::vector<Entry> entries_;
    unique_fd fd_;
};

template <typename Entry>
template <typename Pred>
bool index_file<Entry>::truncate_while(Pred keep) {
    std::lock_guard lock(mu_);
    std::size_t n = 0;
    while (n < entries_.size() && keep(entries_[n])) ++n;
    entries_.resize(n);
    return fd_ && ::ftruncate(fd_.get(),
                              static_cast<off_t>(index_header_size + n * Entry::disk_size)) == 0;
}

template <typename Entry>
template <typename Pred>
std::optional<Entry> index_file<Entry>::floor(Pred before) const {
    std::lock_guard lock(mu_);
    auto it = std::partition_point(entries_.begin(), entries_.end(), before);
    if (it == entries_.begin()) return std::nullopt;
    return *(it - 1);
}

using offset_index = index_file<offset_index_entry>;
using time_index = index_file<time_index_entry>;

}  // namespace sluice::store

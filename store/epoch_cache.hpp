#pragma once
// Leader epoch -> first offset written in that epoch, persisted in Kafka's own checkpoint
// format (file "leader-epoch-checkpoint": a version line "0", a count line, then
// "<epoch> <start offset>" lines). A follower uses it to find where its log diverges.
// Thread: the partition's writer mutates; readers copy under the mutex.

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "store/types.hpp"

namespace sluice::store {

struct epoch_entry {
    std::int32_t epoch;
    std::int64_t start_offset;
    bool operator==(const epoch_entry&) const = default;
};

class epoch_cache {
  public:
    // Records that epoch begins at start if it is newer than the latest known epoch.
    void assign(std::int32_t epoch, offset start);
    // Drops entries that start at or after end (log truncated to end).
    void truncate_from_end(offset end);
    void clear();
    std::vector<epoch_entry> entries() const;
    std::optional<std::int32_t> latest_epoch() const;
    // Kafka's OffsetForLeaderEpoch: the end offset of epoch (start of the next larger epoch,
    // or log_end if it is the latest), and the largest epoch <= the one asked.
    std::optional<std::pair<std::int32_t, offset>> end_offset_for(std::int32_t epoch,
                                                                  offset log_end) const;

    std::string serialize() const;
    // False (cache left empty) on a malformed file.
    bool parse(const std::string& text);

  private:
    mutable std::mutex mu_;
    std::vector<epoch_entry> entries_;
};

}  // namespace sluice::store

#pragma once
// Idempotent producers (Kafka's rules): per producer id the current epoch and its last 5
// batches. A batch equal to one of them is a duplicate (the caller returns the original
// offsets); an older epoch is fenced; a sequence gap is out of order.
// Persisted as "producer.snapshot" (text: a version line, the offset it covers, one line per
// producer and batch, and a CRC-32C line) and rebuilt from the log tail after it.
// Thread: the partition's writer only.

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <unordered_map>

#include "store/error.hpp"
#include "store/record_batch.hpp"

namespace sluice::store {

constexpr std::size_t producer_batches_kept = 5;

struct producer_batch {
    std::int32_t first_sequence;
    std::int32_t last_sequence;
    std::int64_t first_offset;
    std::int64_t last_offset;
    bool operator==(const producer_batch&) const = default;
};

struct producer_entry {
    std::int16_t epoch = 0;
    std::deque<producer_batch> batches;  // oldest first
};

struct producer_check {
    errc error = errc::ok;
    std::optional<producer_batch> duplicate_of;
};

class producer_state {
  public:
    // Decides what to do with a batch before offsets are assigned.
    producer_check check(const batch_header& h) const;
    // Records an appended batch (h carries its final offsets). Also used to replay the log.
    void update(const batch_header& h);
    void clear() { producers_.clear(); }
    std::size_t size() const { return producers_.size(); }
    const producer_entry* find(std::int64_t producer_id) const;

    std::string serialize(offset covered_up_to) const;
    // Returns the offset the snapshot covers; nullopt (state left empty) if it is malformed.
    std::optional<offset> parse(const std::string& text);

  private:
    std::unordered_map<std::int64_t, producer_entry> producers_;
};

}  // namespace sluice::store

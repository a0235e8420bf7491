#pragma once

#include <cstdint>
#include <unordered_map>
#include <vector>

namespace sluice::bench {

// Counts what arrived from each publisher, per receiving unit, to find lost, duplicated and
// reordered messages. A unit is what should get one copy of every matching message: a plain
// subscriber, or a whole `$share` group (whose members split the messages between them).
// Reordering is judged per receiving connection, since a broker only orders messages within
// one delivery stream.
//
// Threads: not synchronised; owned by the worker thread that receives the messages.
class sequence_tracker {
public:
    struct counts {
        std::uint64_t unique = 0;      // distinct sequence numbers received
        std::uint64_t duplicates = 0;  // a sequence number the unit already had
        std::uint64_t reordered = 0;   // lower than one this connection already received
    };

    // Returns true when (unit, publisher, sequence) is new.
    bool on_message(std::uint32_t unit, std::uint32_t connection, std::uint32_t publisher,
                    std::uint64_t sequence);

    // Totals per publisher over every unit.
    std::unordered_map<std::uint32_t, counts> per_publisher() const;
    std::uint64_t total_unique() const { return total_unique_; }

private:
    static std::uint64_t key(std::uint32_t a, std::uint32_t b) {
        return (std::uint64_t{a} << 32) | b;
    }
    struct unit_stream {
        std::vector<std::uint64_t> seen;  // bitmap by sequence number
        counts c;
    };
    std::unordered_map<std::uint64_t, unit_stream> units_;             // (unit, publisher)
    std::unordered_map<std::uint64_t, std::uint64_t> next_in_order_;  // (connection, publisher)
    std::uint64_t total_unique_ = 0;
};

}  // namespace sluice::bench

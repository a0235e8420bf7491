#include "loadtest/mqtt/sequence_tracker.hpp"

namespace sluice::bench {

bool sequence_tracker::on_message(std::uint32_t unit, std::uint32_t connection,
                                  std::uint32_t publisher, std::uint64_t sequence) {
    auto& stream = units_[key(unit, publisher)];
    const std::uint64_t word = sequence / 64;
    const std::uint64_t bit = std::uint64_t{1} << (sequence % 64);
    if (word >= stream.seen.size()) stream.seen.resize(word + 1 + word / 2, 0);
    if (stream.seen[word] & bit) {
        ++stream.c.duplicates;
        return false;
    }
    stream.seen[word] |= bit;
    ++stream.c.unique;
    ++total_unique_;

    // A new message below the highest this connection has seen from the publisher arrived
    // out of order. Kept as highest + 1 so that 0 means "nothing yet".
    auto& next = next_in_order_[key(connection, publisher)];
    if (sequence + 1 < next) ++stream.c.reordered;
    if (sequence + 1 > next) next = sequence + 1;
    return true;
}

std::unordered_map<std::uint32_t, sequence_tracker::counts> sequence_tracker::per_publisher()
    const {
    std::unordered_map<std::uint32_t, counts> out;
    for (const auto& [k, stream] : units_) {
        auto& c = out[static_cast<std::uint32_t>(k & 0xffffffffu)];
        c.unique += stream.c.unique;
        c.duplicates += stream.c.duplicates;
        c.reordered += stream.c.reordered;
    }
    return out;
}

}  // namespace sluice::bench

#pragma once
// Strong types for log positions. An offset is never confused with a byte position or a
// count: mixing them is a compile error, as in Redpanda's model::offset.

#include <compare>
#include <cstdint>
#include <span>
#include <vector>

namespace sluice::store {

using byte_buffer = std::vector<std::uint8_t>;
using byte_span = std::span<const std::uint8_t>;

// The position of a record in a partition (Kafka's offset).
struct offset {
    std::int64_t value = 0;
    constexpr auto operator<=>(const offset&) const = default;
    constexpr offset next() const { return offset{value + 1}; }
    constexpr offset prev() const { return offset{value - 1}; }
    constexpr offset operator+(std::int64_t delta) const { return offset{value + delta}; }
};

// The partition leader epoch stamped on every batch (Kafka's partitionLeaderEpoch).
struct leader_epoch {
    std::int32_t value = 0;
    constexpr auto operator<=>(const leader_epoch&) const = default;
};

}  // namespace sluice::store

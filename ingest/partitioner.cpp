#include "ingest/partitioner.hpp"

namespace sluice::ingest {

std::int32_t murmur2(std::string_view key) {
    // Unsigned arithmetic: Java's int wraps, C++'s signed overflow would be undefined.
    constexpr std::uint32_t seed = 0x9747b28c;
    constexpr std::uint32_t m = 0x5bd1e995;
    constexpr int r = 24;
    const auto* data = reinterpret_cast<const unsigned char*>(key.data());
    const std::size_t length = key.size();
    std::uint32_t h = seed ^ static_cast<std::uint32_t>(length);
    const std::size_t length4 = length / 4;
    for (std::size_t i = 0; i < length4; ++i) {
        const std::size_t i4 = i * 4;
        std::uint32_t k = static_cast<std::uint32_t>(data[i4]) |
                          (static_cast<std::uint32_t>(data[i4 + 1]) << 8) |
                          (static_cast<std::uint32_t>(data[i4 + 2]) << 16) |
                          (static_cast<std::uint32_t>(data[i4 + 3]) << 24);
        k *= m;
        k ^= k >> r;
        k *= m;
        h *= m;
        h ^= k;
    }
    const std::size_t tail = length & ~static_cast<std::size_t>(3);
    switch (length % 4) {
        case 3:
            h ^= static_cast<std::uint32_t>(data[tail + 2]) << 16;
            [[fallthrough]];
        case 2:
            h ^= static_cast<std::uint32_t>(data[tail + 1]) << 8;
            [[fallthrough]];
        case 1:
            h ^= static_cast<std::uint32_t>(data[tail]);
            h *= m;
            break;
        default:
            break;
    }
    h ^= h >> 13;
    h *= m;
    h ^= h >> 15;
    return static_cast<std::int32_t>(h);
}

int kafka_partition(std::string_view key, int partitions) {
    const auto positive = static_cast<std::uint32_t>(murmur2(key)) & 0x7fffffffu;
    return static_cast<int>(positive % static_cast<std::uint32_t>(partitions < 1 ? 1 : partitions));
}

}  // namespace sluice::ingest

#pragma once

#include <time.h>

#include <cstdint>

namespace sluice::bench {

// CLOCK_MONOTONIC in nanoseconds: one clock for every process on the machine, so a timestamp
// written by a publisher in one worker can be subtracted from the time a subscriber in another
// worker receives it. std::chrono::steady_clock reads the same clock on Linux.
inline std::uint64_t monotonic_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<std::uint64_t>(ts.tv_nsec);
}

}  // namespace sluice::bench

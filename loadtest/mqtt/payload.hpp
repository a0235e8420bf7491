#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>

namespace sluice::bench {

// What a benchmark message carries at the start of its payload: who sent it, its place in that
// publisher's sequence and when it was sent. The rest of the payload is filler up to the
// requested size. Byte order is the host's: sender and receiver are on one machine, as the
// timestamp (CLOCK_MONOTONIC) already requires.
struct payload_header {
    static constexpr std::uint32_t magic_value = 0x534c4231;  // "SLB1"
    static constexpr std::size_t size = 24;

    std::uint32_t publisher = 0;  // global publisher index in the run
    std::uint64_t sequence = 0;   // 0, 1, 2, ... per publisher
    std::uint64_t sent_ns = 0;    // CLOCK_MONOTONIC nanoseconds

    // `out` must have room for `size` bytes.
    void write(std::uint8_t* out) const {
        const std::uint32_t magic = magic_value;
        std::memcpy(out, &magic, 4);
        std::memcpy(out + 4, &publisher, 4);
        std::memcpy(out + 8, &sequence, 8);
        std::memcpy(out + 16, &sent_ns, 8);
    }

    // Payloads that did not come from sluice-bench (wrong size or magic) yield nothing.
    static std::optional<payload_header> read(const std::uint8_t* data, std::size_t length) {
        if (length < size) return std::nullopt;
        std::uint32_t magic = 0;
        std::memcpy(&magic, data, 4);
        if (magic != magic_value) return std::nullopt;
        payload_header h;
        std::memcpy(&h.publisher, data + 4, 4);
        std::memcpy(&h.sequence, data + 8, 8);
        std::memcpy(&h.sent_ns, data + 16, 8);
        return h;
    }
};

}  // namespace sluice::bench

#pragma once
// Kafka's record fields: zigzag-encoded base-128 varints (protobuf style). Decoding reads
// untrusted bytes, so it reports overruns instead of reading past the end.

#include <cstddef>
#include <cstdint>
#include <optional>

#include "store/types.hpp"

namespace sluice::store {

inline void put_varlong(byte_buffer& out, std::int64_t value) {
    auto v = (static_cast<std::uint64_t>(value) << 1) ^ static_cast<std::uint64_t>(value >> 63);
    while (v >= 0x80) {
        out.push_back(static_cast<std::uint8_t>(v | 0x80));
        v >>= 7;
    }
    out.push_back(static_cast<std::uint8_t>(v));
}
inline void put_varint(byte_buffer& out, std::int32_t value) {
    put_varlong(out, value);
}

inline std::size_t varlong_size(std::int64_t value) {
    auto v = (static_cast<std::uint64_t>(value) << 1) ^ static_cast<std::uint64_t>(value >> 63);
    std::size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        ++n;
    }
    return n;
}

// A cursor over untrusted bytes; every read fails (returns nullopt) rather than overrun.
// Thread: a local value of the decoding thread.
class byte_reader {
  public:
    byte_reader(const std::uint8_t* p, std::size_t n) : p_(p), end_(p + n) {}

    std::optional<std::int64_t> varlong() {
        std::uint64_t v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (p_ == end_) return std::nullopt;
            std::uint8_t b = *p_++;
            v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
            if (!(b & 0x80)) return static_cast<std::int64_t>((v >> 1) ^ (~(v & 1) + 1));
        }
        return std::nullopt;  // longer than 10 bytes
    }
    std::optional<std::int32_t> varint() {
        auto v = varlong();
        if (!v || *v < INT32_MIN || *v > INT32_MAX) return std::nullopt;
        return static_cast<std::int32_t>(*v);
    }
    std::optional<std::int8_t> int8() {
        if (p_ == end_) return std::nullopt;
        return static_cast<std::int8_t>(*p_++);
    }
    // Returns a pointer to n bytes and skips them.
    const std::uint8_t* take(std::size_t n) {
        if (static_cast<std::size_t>(end_ - p_) < n) return nullptr;
        auto* r = p_;
        p_ += n;
        return r;
    }
    std::size_t remaining() const { return static_cast<std::size_t>(end_ - p_); }
    const std::uint8_t* position() const { return p_; }

  private:
    const std::uint8_t* p_;
    const std::uint8_t* end_;
};

}  // namespace sluice::store

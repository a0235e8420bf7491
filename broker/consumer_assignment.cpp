#include "broker/consumer_assignment.hpp"

namespace sluice::broker {

std::optional<std::map<std::string, std::vector<std::int32_t>>> decode_consumer_assignment(
    const std::vector<std::uint8_t>& bytes) {
    std::size_t pos = 0;
    bool ok = true;
    auto take = [&](std::size_t n) -> std::uint64_t {
        if (!ok || bytes.size() - pos < n) {
            ok = false;
            return 0;
        }
        std::uint64_t v = 0;
        for (std::size_t i = 0; i < n; ++i) v = (v << 8) | bytes[pos++];
        return v;
    };
    auto i32 = [&] { return static_cast<std::int32_t>(static_cast<std::uint32_t>(take(4))); };

    std::map<std::string, std::vector<std::int32_t>> out;
    if (bytes.empty()) return out;  // a member with nothing assigned
    const auto version = static_cast<std::int16_t>(static_cast<std::uint16_t>(take(2)));
    if (!ok || version < 0) return std::nullopt;
    const std::int32_t topics = i32();
    // Each entry takes at least 6 bytes: an absurd count fails here, before any allocation.
    if (!ok || topics < 0 || static_cast<std::size_t>(topics) > (bytes.size() - pos) / 6)
        return std::nullopt;
    for (std::int32_t t = 0; t < topics; ++t) {
        const auto len = static_cast<std::int16_t>(static_cast<std::uint16_t>(take(2)));
        if (!ok || len < 0 || bytes.size() - pos < static_cast<std::size_t>(len))
            return std::nullopt;
        std::string name(bytes.begin() + static_cast<std::ptrdiff_t>(pos),
                         bytes.begin() + static_cast<std::ptrdiff_t>(pos) + len);
        pos += static_cast<std::size_t>(len);
        const std::int32_t n = i32();
        if (!ok || n < 0 || static_cast<std::size_t>(n) > (bytes.size() - pos) / 4)
            return std::nullopt;
        auto& parts = out[name];
        for (std::int32_t i = 0; i < n; ++i) parts.push_back(i32());
    }
    if (!ok) return std::nullopt;
    return out;
}

}  // namespace sluice::broker

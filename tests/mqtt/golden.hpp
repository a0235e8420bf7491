#pragma once

#include <catch2/catch.hpp>

#include <optional>
#include <variant>

#include "mqtt/decoder.hpp"
#include "mqtt/encoder.hpp"
#include "tests/mqtt/wire_text.hpp"

namespace sluice::mqtt::test {

// Decodes `bytes` as one whole packet and returns it as a T (failing the test otherwise).
template <typename T>
T decode_as(const std::vector<std::uint8_t>& bytes, std::optional<protocol_version> version,
            decoder_role role = decoder_role::any) {
    auto r = decode_packet(bytes, version, role);
    INFO("bytes: " << hex(bytes) << " error: " << r.error.detail);
    REQUIRE(r.pkt.has_value());
    REQUIRE(std::holds_alternative<T>(*r.pkt));
    return std::get<T>(*r.pkt);
}

// The encoder writes exactly the hand-written bytes.
inline void check_encodes_to(const packet& p, protocol_version version,
                             const std::vector<std::uint8_t>& expected) {
    std::vector<std::uint8_t> out;
    REQUIRE(encode(p, version, out));
    CHECK(hex(out) == hex(expected));
    CHECK(encoded_size(p, version) == expected.size());
}

}  // namespace sluice::mqtt::test

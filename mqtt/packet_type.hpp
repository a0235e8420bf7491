#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace sluice::mqtt {

// The control packet type, the high nibble of the fixed header's first byte.
enum class packet_type : std::uint8_t {
    connect = 1,
    connack = 2,
    publish = 3,
    puback = 4,
    pubrec = 5,
    pubrel = 6,
    pubcomp = 7,
    subscribe = 8,
    suback = 9,
    unsubscribe = 10,
    unsuback = 11,
    pingreq = 12,
    pingresp = 13,
    disconnect = 14,
    auth = 15,
};

// A packet type as one bit of a mask, for the spec's tables of which packet may carry which
// property or reason code.
constexpr std::uint32_t packet_type_bit(packet_type t) {
    return 1u << static_cast<unsigned>(t);
}

// The spec's name of a packet type ("PUBLISH"), for logs.
constexpr std::string_view to_string(packet_type t) {
    constexpr std::string_view names[] = {"RESERVED",  "CONNECT",  "CONNACK",     "PUBLISH",
                                          "PUBACK",    "PUBREC",   "PUBREL",      "PUBCOMP",
                                          "SUBSCRIBE", "SUBACK",   "UNSUBSCRIBE", "UNSUBACK",
                                          "PINGREQ",   "PINGRESP", "DISCONNECT",  "AUTH"};
    const auto i = static_cast<std::size_t>(t);
    return i < 16 ? names[i] : "UNKNOWN";
}

}  // namespace sluice::mqtt

#pragma once

#include <cstdint>

namespace sluice::mqtt {

// The protocol level byte of CONNECT. A connection's level is fixed by its CONNECT and every
// later packet on it is encoded and decoded for that level.
enum class protocol_version : std::uint8_t {
    v3_1 = 3,    // MQTT 3.1 (protocol name "MQIsdp")
    v3_1_1 = 4,  // MQTT 3.1.1 (protocol name "MQTT")
    v5 = 5,      // MQTT 5.0 (protocol name "MQTT")
};

// The quality of service of a message or subscription.
enum class qos : std::uint8_t {
    at_most_once = 0,
    at_least_once = 1,
    exactly_once = 2,
};

}  // namespace sluice::mqtt

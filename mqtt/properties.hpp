#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "mqtt/packet_type.hpp"
#include "mqtt/protocol_version.hpp"

namespace sluice::mqtt {

// MQTT 5.0 property identifiers (spec 2.2.2.2).
enum class property_id : std::uint8_t {
    payload_format_indicator = 0x01,
    message_expiry_interval = 0x02,
    content_type = 0x03,
    response_topic = 0x08,
    correlation_data = 0x09,
    subscription_identifier = 0x0B,
    session_expiry_interval = 0x11,
    assigned_client_identifier = 0x12,
    server_keep_alive = 0x13,
    authentication_method = 0x15,
    authentication_data = 0x16,
    request_problem_information = 0x17,
    will_delay_interval = 0x18,
    request_response_information = 0x19,
    response_information = 0x1A,
    server_reference = 0x1C,
    reason_string = 0x1F,
    receive_maximum = 0x21,
    topic_alias_maximum = 0x22,
    topic_alias = 0x23,
    maximum_qos = 0x24,
    retain_available = 0x25,
    user_property = 0x26,
    maximum_packet_size = 0x27,
    wildcard_subscription_available = 0x28,
    subscription_identifier_available = 0x29,
    shared_subscription_available = 0x2A,
};

// The payload format indicator's two legal values.
enum class payload_format : std::uint8_t {
    unspecified = 0,  // bytes
    utf8 = 1,         // UTF-8 encoded character data
};

using user_property = std::pair<std::string, std::string>;

// The MQTT 5.0 properties of one packet (or of a CONNECT's will), one typed field per property.
// Only user properties and subscription identifiers may repeat; their order is kept. Binary
// data (correlation data, authentication data) is held as bytes in a std::string. Strings hold
// validated UTF-8 after decoding. Level 3/4 connections carry no properties: the encoder
// ignores this struct and the decoder leaves it empty.
//
// Ranges the decoder enforces (protocol error otherwise): receive maximum, maximum packet size,
// topic alias and subscription identifier are never 0; subscription identifiers are at most
// 268,435,455; one-byte flags are 0 or 1; maximum QoS is 0 or 1.
struct properties {
    std::optional<payload_format> payload_format_indicator{};  // 0x01 PUBLISH, will
    std::optional<std::uint32_t> message_expiry_interval{};    // 0x02 PUBLISH, will (seconds)
    std::optional<std::string> content_type{};                 // 0x03 PUBLISH, will
    std::optional<std::string> response_topic{};               // 0x08 PUBLISH, will
    std::optional<std::string> correlation_data{};             // 0x09 PUBLISH, will (binary)
    std::vector<std::uint32_t> subscription_identifiers{};   // 0x0B PUBLISH (many), SUBSCRIBE (one)
    std::optional<std::uint32_t> session_expiry_interval{};  // 0x11 CONNECT, CONNACK, DISCONNECT
    std::optional<std::string> assigned_client_identifier{};  // 0x12 CONNACK
    std::optional<std::uint16_t> server_keep_alive{};         // 0x13 CONNACK (seconds)
    std::optional<std::string> authentication_method{};       // 0x15 CONNECT, CONNACK, AUTH
    std::optional<std::string> authentication_data{};       // 0x16 CONNECT, CONNACK, AUTH (binary)
    std::optional<bool> request_problem_information{};      // 0x17 CONNECT
    std::optional<std::uint32_t> will_delay_interval{};     // 0x18 will (seconds)
    std::optional<bool> request_response_information{};     // 0x19 CONNECT
    std::optional<std::string> response_information{};      // 0x1A CONNACK
    std::optional<std::string> server_reference{};          // 0x1C CONNACK, DISCONNECT
    std::optional<std::string> reason_string{};             // 0x1F acks, DISCONNECT, AUTH
    std::optional<std::uint16_t> receive_maximum{};         // 0x21 CONNECT, CONNACK
    std::optional<std::uint16_t> topic_alias_maximum{};     // 0x22 CONNECT, CONNACK
    std::optional<std::uint16_t> topic_alias{};             // 0x23 PUBLISH
    std::optional<qos> maximum_qos{};                       // 0x24 CONNACK (0 or 1)
    std::optional<bool> retain_available{};                 // 0x25 CONNACK
    std::vector<user_property> user_properties{};           // 0x26 every packet but PING*
    std::optional<std::uint32_t> maximum_packet_size{};     // 0x27 CONNECT, CONNACK
    std::optional<bool> wildcard_subscription_available{};  // 0x28 CONNACK
    std::optional<bool> subscription_identifier_available{};  // 0x29 CONNACK
    std::optional<bool> shared_subscription_available{};      // 0x2A CONNACK

    bool empty() const { return *this == properties{}; }
    bool operator==(const properties&) const = default;
};

// True when the spec lets `id` appear in a packet of type `type` (spec 2.2.2.2, table 2-4).
bool property_allowed(property_id id, packet_type type);

// True when `id` may appear in a CONNECT's will properties.
bool property_allowed_in_will(property_id id);

}  // namespace sluice::mqtt

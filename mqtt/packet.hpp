#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "mqtt/packet_type.hpp"
#include "mqtt/properties.hpp"
#include "mqtt/protocol_version.hpp"
#include "mqtt/reason_code.hpp"
#include "mqtt/shared_bytes.hpp"

// One struct per MQTT control packet. The same structs serve every protocol level: fields that
// a level lacks (properties and most reason codes before 5.0) are ignored by the encoder and
// left at their defaults by the decoder, so decode(encode(p)) == p for every decoded p.
namespace sluice::mqtt {

struct will_message {
    std::string topic{};
    shared_bytes payload{};
    qos qos_level = qos::at_most_once;
    bool retain = false;
    properties props{};  // will properties (5.0)

    bool operator==(const will_message&) const = default;
};

struct connect {
    // Chosen by the client; the decoder fills it from the protocol level byte and the encoder
    // writes the matching protocol name ("MQIsdp" for 3, "MQTT" for 4 and 5).
    protocol_version version = protocol_version::v5;
    bool clean_start = true;  // "clean session" before 5.0
    std::uint16_t keep_alive = 0;
    std::string client_id{};
    std::optional<will_message> will{};
    std::optional<std::string> username{};
    std::optional<std::string> password{};  // binary
    properties props{};

    bool operator==(const connect&) const = default;
};

struct connack {
    bool session_present = false;
    reason_code reason = reason_code::success;  // 3.1.1 return codes are mapped (reason_code.hpp)
    properties props{};

    bool operator==(const connack&) const = default;
};

struct publish {
    bool dup = false;
    qos qos_level = qos::at_most_once;
    bool retain = false;
    std::string topic{};          // may be empty in 5.0 when a topic alias is set
    std::uint16_t packet_id = 0;  // 0 (absent) for QoS 0, 1..65535 otherwise
    properties props{};
    shared_bytes payload{};

    bool operator==(const publish&) const = default;
};

// PUBACK, PUBREC, PUBREL and PUBCOMP share a shape but are distinct types so a handler cannot
// confuse them. The reason code and properties exist on the wire only in 5.0 (and are omitted
// there when the reason is success and there are no properties).
struct puback {
    std::uint16_t packet_id = 0;
    reason_code reason = reason_code::success;
    properties props{};
    bool operator==(const puback&) const = default;
};
struct pubrec {
    std::uint16_t packet_id = 0;
    reason_code reason = reason_code::success;
    properties props{};
    bool operator==(const pubrec&) const = default;
};
struct pubrel {
    std::uint16_t packet_id = 0;
    reason_code reason = reason_code::success;
    properties props{};
    bool operator==(const pubrel&) const = default;
};
struct pubcomp {
    std::uint16_t packet_id = 0;
    reason_code reason = reason_code::success;
    properties props{};
    bool operator==(const pubcomp&) const = default;
};

enum class retain_handling : std::uint8_t {
    send_on_subscribe = 0,
    send_if_new_subscription = 1,
    do_not_send = 2,
};

// The subscription options byte. Before 5.0 only max_qos exists on the wire.
struct subscription_options {
    qos max_qos = qos::at_most_once;
    bool no_local = false;
    bool retain_as_published = false;
    retain_handling handling = retain_handling::send_on_subscribe;

    bool operator==(const subscription_options&) const = default;
};

struct subscription {
    std::string filter{};  // may be a shared subscription, "$share/<group>/<filter>"
    subscription_options options{};

    bool operator==(const subscription&) const = default;
};

struct subscribe {
    std::uint16_t packet_id = 0;
    std::vector<subscription> subscriptions{};  // at least one
    properties props{};                         // at most one subscription identifier

    bool operator==(const subscribe&) const = default;
};

struct suback {
    std::uint16_t packet_id = 0;
    // One per subscription: granted_qos_0..2 or a failure code. Before 5.0 any failure is
    // written as 0x80.
    std::vector<reason_code> reasons{};
    properties props{};

    bool operator==(const suback&) const = default;
};

struct unsubscribe {
    std::uint16_t packet_id = 0;
    std::vector<std::string> filters{};  // at least one
    properties props{};

    bool operator==(const unsubscribe&) const = default;
};

struct unsuback {
    std::uint16_t packet_id = 0;
    std::vector<reason_code> reasons{};  // 5.0 only; empty before 5.0
    properties props{};

    bool operator==(const unsuback&) const = default;
};

struct pingreq {
    bool operator==(const pingreq&) const = default;
};

struct pingresp {
    bool operator==(const pingresp&) const = default;
};

struct disconnect {
    reason_code reason = reason_code::normal_disconnection;  // 5.0 only
    properties props{};

    bool operator==(const disconnect&) const = default;
};

// 5.0 only.
struct auth {
    reason_code reason = reason_code::success;
    properties props{};

    bool operator==(const auth&) const = default;
};

// The alternative's index + 1 is its packet type value.
using packet = std::variant<connect, connack, publish, puback, pubrec, pubrel, pubcomp, subscribe,
                            suback, unsubscribe, unsuback, pingreq, pingresp, disconnect, auth>;

inline packet_type type_of(const packet& p) {
    return static_cast<packet_type>(p.index() + 1);
}

}  // namespace sluice::mqtt

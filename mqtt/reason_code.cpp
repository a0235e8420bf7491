#include "mqtt/reason_code.hpp"

namespace sluice::mqtt {

namespace {

// Bit t set: allowed in packet type t (spec 2.4, table 2-6).

constexpr std::uint32_t connack = packet_type_bit(packet_type::connack);
constexpr std::uint32_t puback = packet_type_bit(packet_type::puback);
constexpr std::uint32_t pubrec = packet_type_bit(packet_type::pubrec);
constexpr std::uint32_t pubrel = packet_type_bit(packet_type::pubrel);
constexpr std::uint32_t pubcomp = packet_type_bit(packet_type::pubcomp);
constexpr std::uint32_t suback = packet_type_bit(packet_type::suback);
constexpr std::uint32_t unsuback = packet_type_bit(packet_type::unsuback);
constexpr std::uint32_t disconnect = packet_type_bit(packet_type::disconnect);
constexpr std::uint32_t auth = packet_type_bit(packet_type::auth);

struct entry {
    std::uint8_t value;
    std::uint32_t packets;
    std::string_view name;
};

constexpr entry table[] = {
    {0x00, connack | puback | pubrec | pubrel | pubcomp | suback | unsuback | disconnect | auth,
     "success"},
    {0x01, suback, "granted qos 1"},
    {0x02, suback, "granted qos 2"},
    {0x04, disconnect, "disconnect with will message"},
    {0x10, puback | pubrec, "no matching subscribers"},
    {0x11, unsuback, "no subscription existed"},
    {0x18, auth, "continue authentication"},
    {0x19, auth, "re-authenticate"},
    {0x80, connack | puback | pubrec | suback | unsuback | disconnect, "unspecified error"},
    {0x81, connack | disconnect, "malformed packet"},
    {0x82, connack | disconnect, "protocol error"},
    {0x83, connack | puback | pubrec | suback | unsuback | disconnect,
     "implementation specific error"},
    {0x84, connack, "unsupported protocol version"},
    {0x85, connack, "client identifier not valid"},
    {0x86, connack, "bad user name or password"},
    {0x87, connack | puback | pubrec | suback | unsuback | disconnect, "not authorized"},
    {0x88, connack, "server unavailable"},
    {0x89, connack | disconnect, "server busy"},
    {0x8A, connack, "banned"},
    {0x8B, disconnect, "server shutting down"},
    {0x8C, connack | disconnect, "bad authentication method"},
    {0x8D, disconnect, "keep alive timeout"},
    {0x8E, disconnect, "session taken over"},
    {0x8F, suback | unsuback | disconnect, "topic filter invalid"},
    {0x90, connack | puback | pubrec | disconnect, "topic name invalid"},
    {0x91, puback | pubrec | suback | unsuback, "packet identifier in use"},
    {0x92, pubrel | pubcomp, "packet identifier not found"},
    {0x93, disconnect, "receive maximum exceeded"},
    {0x94, disconnect, "topic alias invalid"},
    {0x95, connack | disconnect, "packet too large"},
    {0x96, disconnect, "message rate too high"},
    {0x97, connack | puback | pubrec | suback | disconnect, "quota exceeded"},
    {0x98, disconnect, "administrative action"},
    {0x99, connack | puback | pubrec | disconnect, "payload format invalid"},
    {0x9A, connack | disconnect, "retain not supported"},
    {0x9B, connack | disconnect, "qos not supported"},
    {0x9C, connack | disconnect, "use another server"},
    {0x9D, connack | disconnect, "server moved"},
    {0x9E, suback | disconnect, "shared subscriptions not supported"},
    {0x9F, connack | disconnect, "connection rate exceeded"},
    {0xA0, disconnect, "maximum connect time"},
    {0xA1, suback | disconnect, "subscription identifiers not supported"},
    {0xA2, suback | disconnect, "wildcard subscriptions not supported"},
};

const entry* find(std::uint8_t value) {
    for (const auto& e : table) {
        if (e.value == value) return &e;
    }
    return nullptr;
}

}  // namespace

bool is_known_reason_code(std::uint8_t value) {
    return find(value) != nullptr;
}

bool reason_code_allowed(packet_type type, reason_code rc) {
    const entry* e = find(static_cast<std::uint8_t>(rc));
    return e != nullptr && (e->packets & packet_type_bit(type)) != 0;
}

std::string_view to_string(reason_code rc) {
    const entry* e = find(static_cast<std::uint8_t>(rc));
    return e != nullptr ? e->name : "unknown reason code";
}

std::uint8_t connack_return_code_v3(reason_code rc) {
    switch (rc) {
        case reason_code::success:
            return 0;
        case reason_code::unsupported_protocol_version:
            return 1;
        case reason_code::client_identifier_not_valid:
            return 2;
        case reason_code::server_unavailable:
            return 3;
        case reason_code::bad_user_name_or_password:
            return 4;
        case reason_code::not_authorized:
        case reason_code::banned:
            return 5;
        default:
            return 3;
    }
}

std::optional<reason_code> reason_code_from_connack_v3(std::uint8_t return_code) {
    switch (return_code) {
        case 0:
            return reason_code::success;
        case 1:
            return reason_code::unsupported_protocol_version;
        case 2:
            return reason_code::client_identifier_not_valid;
        case 3:
            return reason_code::server_unavailable;
        case 4:
            return reason_code::bad_user_name_or_password;
        case 5:
            return reason_code::not_authorized;
        default:
            return std::nullopt;
    }
}

}  // namespace sluice::mqtt

#include "mqtt/properties_codec.hpp"

#include <bitset>

namespace sluice::mqtt {

namespace {

// Bit 0 (no packet type has value 0) stands for a CONNECT's will properties.
constexpr std::uint32_t will_bit = 1u;

constexpr std::uint32_t allowed_mask(property_id id) {
    constexpr std::uint32_t connect = packet_type_bit(packet_type::connect);
    constexpr std::uint32_t connack = packet_type_bit(packet_type::connack);
    constexpr std::uint32_t publish = packet_type_bit(packet_type::publish);
    constexpr std::uint32_t acks =
        packet_type_bit(packet_type::puback) | packet_type_bit(packet_type::pubrec) |
        packet_type_bit(packet_type::pubrel) | packet_type_bit(packet_type::pubcomp);
    constexpr std::uint32_t subscribe = packet_type_bit(packet_type::subscribe);
    constexpr std::uint32_t suback = packet_type_bit(packet_type::suback);
    constexpr std::uint32_t unsubscribe = packet_type_bit(packet_type::unsubscribe);
    constexpr std::uint32_t unsuback = packet_type_bit(packet_type::unsuback);
    constexpr std::uint32_t disconnect = packet_type_bit(packet_type::disconnect);
    constexpr std::uint32_t auth = packet_type_bit(packet_type::auth);
    switch (id) {
        case property_id::payload_format_indicator:
        case property_id::message_expiry_interval:
        case property_id::content_type:
        case property_id::response_topic:
        case property_id::correlation_data:
            return publish | will_bit;
        case property_id::subscription_identifier:
            return publish | subscribe;
        case property_id::session_expiry_interval:
            return connect | connack | disconnect;
        case property_id::assigned_client_identifier:
        case property_id::server_keep_alive:
        case property_id::response_information:
        case property_id::maximum_qos:
        case property_id::retain_available:
        case property_id::wildcard_subscription_available:
        case property_id::subscription_identifier_available:
        case property_id::shared_subscription_available:
            return connack;
        case property_id::authentication_method:
        case property_id::authentication_data:
            return connect | connack | auth;
        case property_id::request_problem_information:
        case property_id::request_response_information:
            return connect;
        case property_id::will_delay_interval:
            return will_bit;
        case property_id::server_reference:
            return connack | disconnect;
        case property_id::reason_string:
            return connack | acks | suback | unsuback | disconnect | auth;
        case property_id::receive_maximum:
        case property_id::topic_alias_maximum:
        case property_id::maximum_packet_size:
            return connect | connack;
        case property_id::topic_alias:
            return publish;
        case property_id::user_property:
            return connect | connack | publish | will_bit | acks | subscribe | suback |
                   unsubscribe | unsuback | disconnect | auth;
    }
    return 0;
}

bool known_property(std::uint32_t id) {
    switch (id) {
        case 0x01:
        case 0x02:
        case 0x03:
        case 0x08:
        case 0x09:
        case 0x0B:
        case 0x11:
        case 0x12:
        case 0x13:
        case 0x15:
        case 0x16:
        case 0x17:
        case 0x18:
        case 0x19:
        case 0x1A:
        case 0x1C:
        case 0x1F:
        case 0x21:
        case 0x22:
        case 0x23:
        case 0x24:
        case 0x25:
        case 0x26:
        case 0x27:
        case 0x28:
        case 0x29:
        case 0x2A:
            return true;
        default:
            return false;
    }
}

}  // namespace

bool property_allowed(property_id id, packet_type type) {
    return (allowed_mask(id) & packet_type_bit(type)) != 0;
}

bool property_allowed_in_will(property_id id) {
    return (allowed_mask(id) & will_bit) != 0;
}

namespace detail {

namespace {

using wire::malformed;
using wire::protocol_error;
using wire::result;

result read_flag(wire::reader& r, std::optional<bool>& out) {
    std::uint8_t v = 0;
    if (auto e = r.u8(v)) return e;
    if (v > 1) return protocol_error("property value must be 0 or 1");
    out = v == 1;
    return {};
}

result read_nonzero_u16(wire::reader& r, std::optional<std::uint16_t>& out,
                        std::string_view zero_error) {
    std::uint16_t v = 0;
    if (auto e = r.u16(v)) return e;
    if (v == 0) return protocol_error(zero_error);
    out = v;
    return {};
}

template <typename T>
result read_int(wire::reader& r, std::optional<T>& out) {
    T v{};
    result e;
    if constexpr (sizeof(T) == 2) {
        e = r.u16(v);
    } else {
        e = r.u32(v);
    }
    if (e) return e;
    out = v;
    return {};
}

result read_string(wire::reader& r, std::optional<std::string>& out) {
    std::string v;
    if (auto e = r.utf8(v)) return e;
    out = std::move(v);
    return {};
}

result read_binary(wire::reader& r, std::optional<std::string>& out) {
    std::string v;
    if (auto e = r.binary(v)) return e;
    out = std::move(v);
    return {};
}

result read_property(wire::reader& r, property_id id, packet_type type, properties& p) {
    switch (id) {
        case property_id::payload_format_indicator: {
            std::uint8_t v = 0;
            if (auto e = r.u8(v)) return e;
            if (v > 1) return protocol_error("payload format indicator must be 0 or 1");
            p.payload_format_indicator = static_cast<payload_format>(v);
            return {};
        }
        case property_id::message_expiry_interval:
            return read_int(r, p.message_expiry_interval);
        case property_id::content_type:
            return read_string(r, p.content_type);
        case property_id::response_topic:
            return read_string(r, p.response_topic);
        case property_id::correlation_data:
            return read_binary(r, p.correlation_data);
        case property_id::subscription_identifier: {
            std::uint32_t v = 0;
            if (auto e = r.varint(v)) return e;
            if (v == 0) return protocol_error("subscription identifier 0");
            if (type == packet_type::subscribe && !p.subscription_identifiers.empty()) {
                return protocol_error("more than one subscription identifier in SUBSCRIBE");
            }
            p.subscription_identifiers.push_back(v);
            return {};
        }
        case property_id::session_expiry_interval:
            return read_int(r, p.session_expiry_interval);
        case property_id::assigned_client_identifier:
            return read_string(r, p.assigned_client_identifier);
        case property_id::server_keep_alive:
            return read_int(r, p.server_keep_alive);
        case property_id::authentication_method:
            return read_string(r, p.authentication_method);
        case property_id::authentication_data:
            return read_binary(r, p.authentication_data);
        case property_id::request_problem_information:
            return read_flag(r, p.request_problem_information);
        case property_id::will_delay_interval:
            return read_int(r, p.will_delay_interval);
        case property_id::request_response_information:
            return read_flag(r, p.request_response_information);
        case property_id::response_information:
            return read_string(r, p.response_information);
        case property_id::server_reference:
            return read_string(r, p.server_reference);
        case property_id::reason_string:
            return read_string(r, p.reason_string);
        case property_id::receive_maximum:
            return read_nonzero_u16(r, p.receive_maximum, "receive maximum 0");
        case property_id::topic_alias_maximum:
            return read_int(r, p.topic_alias_maximum);
        case property_id::topic_alias: {
            std::uint16_t v = 0;
            if (auto e = r.u16(v)) return e;
            // A topic alias of 0 is never valid [MQTT-3.3.2-8]; the spec's code for a bad
            // alias is 0x94.
            if (v == 0) return wire::fail(reason_code::topic_alias_invalid, "topic alias 0");
            p.topic_alias = v;
            return {};
        }
        case property_id::maximum_qos: {
            std::uint8_t v = 0;
            if (auto e = r.u8(v)) return e;
            if (v > 1) return protocol_error("maximum qos must be 0 or 1");
            p.maximum_qos = static_cast<qos>(v);
            return {};
        }
        case property_id::retain_available:
            return read_flag(r, p.retain_available);
        case property_id::user_property: {
            std::string key;
            std::string value;
            if (auto e = r.utf8(key)) return e;
            if (auto e = r.utf8(value)) return e;
            p.user_properties.emplace_back(std::move(key), std::move(value));
            return {};
        }
        case property_id::maximum_packet_size: {
            std::uint32_t v = 0;
            if (auto e = r.u32(v)) return e;
            if (v == 0) return protocol_error("maximum packet size 0");
            p.maximum_packet_size = v;
            return {};
        }
        case property_id::wildcard_subscription_available:
            return read_flag(r, p.wildcard_subscription_available);
        case property_id::subscription_identifier_available:
            return read_flag(r, p.subscription_identifier_available);
        case property_id::shared_subscription_available:
            return read_flag(r, p.shared_subscription_available);
    }
    return malformed("unknown property identifier");
}

}  // namespace

wire::result decode_properties(wire::reader& r, property_context where, properties& out) {
    std::uint32_t length = 0;
    if (auto e = r.varint(length)) return e;
    wire::reader body(nullptr, 0);
    if (auto e = r.sub(length, body)) return malformed("property length exceeds packet");
    std::bitset<64> seen;
    const std::uint32_t context = where.will ? will_bit : packet_type_bit(where.type);
    while (!body.at_end()) {
        std::uint32_t raw = 0;
        if (auto e = body.varint(raw)) return e;
        // An identifier we cannot size makes the rest of the packet unparseable.
        if (!known_property(raw)) return malformed("unknown property identifier");
        const auto id = static_cast<property_id>(raw);
        // An identifier not valid for its packet makes the packet malformed (spec 2.2.2.2).
        if ((allowed_mask(id) & context) == 0) {
            return malformed("property not allowed in this packet");
        }
        const bool may_repeat =
            id == property_id::user_property || id == property_id::subscription_identifier;
        if (!may_repeat && seen.test(raw)) return protocol_error("duplicate property");
        seen.set(raw);
        if (auto e = read_property(body, id, where.type, out)) return e;
    }
    if (out.authentication_data && !out.authentication_method) {
        return protocol_error("authentication data without authentication method");
    }
    return {};
}

namespace {

bool put_string_property(std::vector<std::uint8_t>& out, property_id id,
                         const std::optional<std::string>& v) {
    if (!v) return true;
    if (v->size() > wire::max_string_length) return false;
    wire::put_u8(out, static_cast<std::uint8_t>(id));
    wire::put_string(out, *v);
    return true;
}

void put_u8_property(std::vector<std::uint8_t>& out, property_id id,
                     std::optional<std::uint8_t> v) {
    if (!v) return;
    wire::put_u8(out, static_cast<std::uint8_t>(id));
    wire::put_u8(out, *v);
}

void put_flag_property(std::vector<std::uint8_t>& out, property_id id, std::optional<bool> v) {
    if (v) put_u8_property(out, id, *v ? 1 : 0);
}

void put_u16_property(std::vector<std::uint8_t>& out, property_id id,
                      std::optional<std::uint16_t> v) {
    if (!v) return;
    wire::put_u8(out, static_cast<std::uint8_t>(id));
    wire::put_u16(out, *v);
}

void put_u32_property(std::vector<std::uint8_t>& out, property_id id,
                      std::optional<std::uint32_t> v) {
    if (!v) return;
    wire::put_u8(out, static_cast<std::uint8_t>(id));
    wire::put_u32(out, *v);
}

}  // namespace

bool append_property_fields(const properties& p, std::vector<std::uint8_t>& out,
                            property_subset subset) {
    const bool all = subset == property_subset::all;
    if (p.payload_format_indicator) {
        put_u8_property(out, property_id::payload_format_indicator,
                        static_cast<std::uint8_t>(*p.payload_format_indicator));
    }
    put_u32_property(out, property_id::message_expiry_interval, p.message_expiry_interval);
    bool ok = put_string_property(out, property_id::content_type, p.content_type);
    ok = ok && put_string_property(out, property_id::response_topic, p.response_topic);
    ok = ok && put_string_property(out, property_id::correlation_data, p.correlation_data);
    if (all) {
        for (std::uint32_t id : p.subscription_identifiers) {
            if (id > wire::max_remaining_length) return false;
            wire::put_u8(out, static_cast<std::uint8_t>(property_id::subscription_identifier));
            wire::put_varint(out, id);
        }
    }
    put_u32_property(out, property_id::session_expiry_interval, p.session_expiry_interval);
    ok = ok && put_string_property(out, property_id::assigned_client_identifier,
                                   p.assigned_client_identifier);
    put_u16_property(out, property_id::server_keep_alive, p.server_keep_alive);
    ok =
        ok && put_string_property(out, property_id::authentication_method, p.authentication_method);
    ok = ok && put_string_property(out, property_id::authentication_data, p.authentication_data);
    put_flag_property(out, property_id::request_problem_information, p.request_problem_information);
    put_u32_property(out, property_id::will_delay_interval, p.will_delay_interval);
    put_flag_property(out, property_id::request_response_information,
                      p.request_response_information);
    ok = ok && put_string_property(out, property_id::response_information, p.response_information);
    ok = ok && put_string_property(out, property_id::server_reference, p.server_reference);
    ok = ok && put_string_property(out, property_id::reason_string, p.reason_string);
    put_u16_property(out, property_id::receive_maximum, p.receive_maximum);
    put_u16_property(out, property_id::topic_alias_maximum, p.topic_alias_maximum);
    if (all) put_u16_property(out, property_id::topic_alias, p.topic_alias);
    if (p.maximum_qos) {
        put_u8_property(out, property_id::maximum_qos, static_cast<std::uint8_t>(*p.maximum_qos));
    }
    put_flag_property(out, property_id::retain_available, p.retain_available);
    for (const auto& [key, value] : p.user_properties) {
        if (key.size() > wire::max_string_length || value.size() > wire::max_string_length) {
            return false;
        }
        wire::put_u8(out, static_cast<std::uint8_t>(property_id::user_property));
        wire::put_string(out, key);
        wire::put_string(out, value);
    }
    put_u32_property(out, property_id::maximum_packet_size, p.maximum_packet_size);
    put_flag_property(out, property_id::wildcard_subscription_available,
                      p.wildcard_subscription_available);
    put_flag_property(out, property_id::subscription_identifier_available,
                      p.subscription_identifier_available);
    put_flag_property(out, property_id::shared_subscription_available,
                      p.shared_subscription_available);
    return ok;
}

bool append_properties(const properties& p, std::vector<std::uint8_t>& out) {
    const std::size_t start = out.size();
    if (!append_property_fields(p, out)) return false;
    const std::size_t length = out.size() - start;
    if (length > wire::max_remaining_length) return false;
    // The length prefix goes before the fields; properties are small, so moving them is cheap.
    std::uint8_t prefix[4];
    std::size_t n = 0;
    auto v = static_cast<std::uint32_t>(length);
    do {
        std::uint8_t byte = v & 0x7F;
        v >>= 7;
        if (v != 0) byte |= 0x80;
        prefix[n++] = byte;
    } while (v != 0);
    out.insert(out.begin() + static_cast<std::ptrdiff_t>(start), prefix, prefix + n);
    return true;
}

}  // namespace detail
}  // namespace sluice::mqtt

#include "mqtt/encoder.hpp"

#include "mqtt/properties_codec.hpp"
#include "mqtt/wire.hpp"

namespace sluice::mqtt {

namespace {

using out_t = std::vector<std::uint8_t>;

constexpr std::uint8_t first_byte(packet_type t, std::uint8_t flags = 0) {
    return static_cast<std::uint8_t>((static_cast<unsigned>(t) << 4) | flags);
}

bool put_string(out_t& out, std::string_view s) {
    if (s.size() > wire::max_string_length) return false;
    wire::put_string(out, s);
    return true;
}

// Each body encoder appends the variable header and payload and returns the fixed header's
// first byte, or 0 when the packet cannot be represented (no valid first byte is 0).

std::uint8_t body(const connect& c, protocol_version, out_t& out) {
    const protocol_version v = c.version;  // CONNECT carries its own level
    const bool v5 = v == protocol_version::v5;
    if (!put_string(out, v == protocol_version::v3_1 ? "MQIsdp" : "MQTT")) return 0;
    wire::put_u8(out, static_cast<std::uint8_t>(v));
    std::uint8_t flags = 0;
    if (c.username) flags |= 0x80;
    if (c.password) flags |= 0x40;
    if (c.will) {
        flags |= 0x04;
        flags |= static_cast<std::uint8_t>(static_cast<unsigned>(c.will->qos_level) << 3);
        if (c.will->retain) flags |= 0x20;
    }
    if (c.clean_start) flags |= 0x02;
    wire::put_u8(out, flags);
    wire::put_u16(out, c.keep_alive);
    if (v5 && !detail::append_properties(c.props, out)) return 0;
    if (!put_string(out, c.client_id)) return 0;
    if (c.will) {
        if (v5 && !detail::append_properties(c.will->props, out)) return 0;
        if (!put_string(out, c.will->topic)) return 0;
        if (!put_string(out, c.will->payload.view())) return 0;
    }
    if (c.username && !put_string(out, *c.username)) return 0;
    if (c.password && !put_string(out, *c.password)) return 0;
    return first_byte(packet_type::connect);
}

std::uint8_t body(const connack& c, protocol_version v, out_t& out) {
    if (v == protocol_version::v5) {
        wire::put_u8(out, c.session_present ? 1 : 0);
        wire::put_u8(out, static_cast<std::uint8_t>(c.reason));
        if (!detail::append_properties(c.props, out)) return 0;
    } else {
        // 3.1 has no session present flag; its first byte is reserved.
        wire::put_u8(out, v == protocol_version::v3_1_1 && c.session_present ? 1 : 0);
        wire::put_u8(out, connack_return_code_v3(c.reason));
    }
    return first_byte(packet_type::connack);
}

std::uint8_t body(const publish& p, protocol_version v, out_t& out) {
    if (!put_string(out, p.topic)) return 0;
    if (p.qos_level != qos::at_most_once) wire::put_u16(out, p.packet_id);
    if (v == protocol_version::v5 && !detail::append_properties(p.props, out)) return 0;
    wire::put_bytes(out, p.payload.view());
    std::uint8_t flags = static_cast<std::uint8_t>(static_cast<unsigned>(p.qos_level) << 1);
    if (p.dup) flags |= 0x08;
    if (p.retain) flags |= 0x01;
    return first_byte(packet_type::publish, flags);
}

// PUBACK, PUBREC, PUBREL, PUBCOMP: 5.0 omits a success reason without properties.
template <typename Ack>
bool ack_body(const Ack& a, protocol_version v, out_t& out) {
    wire::put_u16(out, a.packet_id);
    if (v != protocol_version::v5) return true;
    const bool has_props = !a.props.empty();
    if (a.reason != reason_code::success || has_props) {
        wire::put_u8(out, static_cast<std::uint8_t>(a.reason));
    }
    return !has_props || detail::append_properties(a.props, out);
}

std::uint8_t body(const puback& a, protocol_version v, out_t& out) {
    return ack_body(a, v, out) ? first_byte(packet_type::puback) : 0;
}
std::uint8_t body(const pubrec& a, protocol_version v, out_t& out) {
    return ack_body(a, v, out) ? first_byte(packet_type::pubrec) : 0;
}
std::uint8_t body(const pubrel& a, protocol_version v, out_t& out) {
    return ack_body(a, v, out) ? first_byte(packet_type::pubrel, 0x02) : 0;
}
std::uint8_t body(const pubcomp& a, protocol_version v, out_t& out) {
    return ack_body(a, v, out) ? first_byte(packet_type::pubcomp) : 0;
}

std::uint8_t body(const subscribe& s, protocol_version v, out_t& out) {
    const bool v5 = v == protocol_version::v5;
    wire::put_u16(out, s.packet_id);
    if (v5 && !detail::append_properties(s.props, out)) return 0;
    for (const auto& sub : s.subscriptions) {
        if (!put_string(out, sub.filter)) return 0;
        auto options = static_cast<std::uint8_t>(sub.options.max_qos);
        if (v5) {
            if (sub.options.no_local) options |= 0x04;
            if (sub.options.retain_as_published) options |= 0x08;
            options |= static_cast<std::uint8_t>(static_cast<unsigned>(sub.options.handling) << 4);
        }
        wire::put_u8(out, options);
    }
    return first_byte(packet_type::subscribe, 0x02);
}

std::uint8_t body(const suback& s, protocol_version v, out_t& out) {
    const bool v5 = v == protocol_version::v5;
    wire::put_u16(out, s.packet_id);
    if (v5 && !detail::append_properties(s.props, out)) return 0;
    for (reason_code rc : s.reasons) {
        auto value = static_cast<std::uint8_t>(rc);
        // Before 5.0 a subscription either gets a QoS or fails with 0x80.
        if (!v5 && value > 2) value = 0x80;
        wire::put_u8(out, value);
    }
    return first_byte(packet_type::suback);
}

std::uint8_t body(const unsubscribe& u, protocol_version v, out_t& out) {
    wire::put_u16(out, u.packet_id);
    if (v == protocol_version::v5 && !detail::append_properties(u.props, out)) return 0;
    for (const auto& f : u.filters) {
        if (!put_string(out, f)) return 0;
    }
    return first_byte(packet_type::unsubscribe, 0x02);
}

std::uint8_t body(const unsuback& u, protocol_version v, out_t& out) {
    wire::put_u16(out, u.packet_id);
    if (v == protocol_version::v5) {
        if (!detail::append_properties(u.props, out)) return 0;
        for (reason_code rc : u.reasons) wire::put_u8(out, static_cast<std::uint8_t>(rc));
    }
    return first_byte(packet_type::unsuback);
}

std::uint8_t body(const pingreq&, protocol_version, out_t&) {
    return first_byte(packet_type::pingreq);
}

std::uint8_t body(const pingresp&, protocol_version, out_t&) {
    return first_byte(packet_type::pingresp);
}

// DISCONNECT and AUTH: 5.0 omits a 0x00 reason without properties.
template <typename P>
bool reason_body(const P& p, out_t& out) {
    const bool has_props = !p.props.empty();
    if (p.reason != reason_code::success || has_props) {
        wire::put_u8(out, static_cast<std::uint8_t>(p.reason));
    }
    return !has_props || detail::append_properties(p.props, out);
}

std::uint8_t body(const disconnect& d, protocol_version v, out_t& out) {
    if (v == protocol_version::v5 && !reason_body(d, out)) return 0;
    return first_byte(packet_type::disconnect);
}

std::uint8_t body(const auth& a, protocol_version v, out_t& out) {
    if (v != protocol_version::v5) return 0;  // AUTH does not exist before 5.0
    return reason_body(a, out) ? first_byte(packet_type::auth) : 0;
}

}  // namespace

bool encode(const packet& p, protocol_version version, std::vector<std::uint8_t>& out) {
    const std::size_t start = out.size();
    const std::uint8_t first = std::visit([&](const auto& x) { return body(x, version, out); }, p);
    const std::size_t length = out.size() - start;
    if (first == 0 || length > wire::max_remaining_length) {
        out.resize(start);
        return false;
    }
    // The body is written first because its length is only known afterwards; the header is
    // then slid in front of it (one memmove of the body).
    std::uint8_t header[5];
    std::size_t n = 0;
    header[n++] = first;
    auto v = static_cast<std::uint32_t>(length);
    do {
        std::uint8_t byte = v & 0x7F;
        v >>= 7;
        if (v != 0) byte |= 0x80;
        header[n++] = byte;
    } while (v != 0);
    out.insert(out.begin() + static_cast<std::ptrdiff_t>(start), header, header + n);
    return true;
}

std::size_t encoded_size(const packet& p, protocol_version version) {
    std::vector<std::uint8_t> scratch;
    return encode(p, version, scratch) ? scratch.size() : 0;
}

}  // namespace sluice::mqtt

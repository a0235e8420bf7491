#include "mqtt/packet_decoder.hpp"

#include <utility>

#include "mqtt/properties_codec.hpp"
#include "mqtt/topic.hpp"

namespace sluice::mqtt::detail {

namespace {

using wire::malformed;
using wire::protocol_error;
using wire::reader;
using wire::result;

constexpr bool is_v5(protocol_version v) {
    return v == protocol_version::v5;
}

result read_packet_id(reader& r, std::uint16_t& id) {
    if (auto e = r.u16(id)) return e;
    if (id == 0) return protocol_error("packet identifier 0");
    return {};
}

result read_properties(reader& r, packet_type type, protocol_version v, properties& p) {
    if (!is_v5(v)) return {};
    return decode_properties(r, {type, false}, p);
}

result expect_end(const reader& r) {
    if (!r.at_end()) return malformed("unexpected bytes at the end of the packet");
    return {};
}

result decode_connect(reader& r, std::optional<protocol_version>& version, connect& c) {
    std::string_view name;
    std::uint8_t level = 0;
    if (auto e = r.utf8(name)) return e;
    if (auto e = r.u8(level)) return e;
    if (name == "MQTT" && (level == 4 || level == 5)) {
        c.version = static_cast<protocol_version>(level);
    } else if (name == "MQIsdp" && level == 3) {
        c.version = protocol_version::v3_1;
    } else {
        return wire::fail(reason_code::unsupported_protocol_version,
                          "unsupported protocol name or level");
    }
    version = c.version;  // known now, so a failure below can be answered at this level
    const bool v5 = is_v5(c.version);

    std::uint8_t flags = 0;
    if (auto e = r.u8(flags)) return e;
    if (flags & 0x01) return malformed("CONNECT reserved flag set");
    const bool has_will = flags & 0x04;
    const auto will_qos = static_cast<std::uint8_t>((flags >> 3) & 0x03);
    const bool will_retain = flags & 0x20;
    const bool has_password = flags & 0x40;
    const bool has_username = flags & 0x80;
    if (will_qos == 3) return malformed("will QoS 3");
    if (!has_will && (will_qos != 0 || will_retain)) {
        return malformed("will QoS or retain set without will flag");
    }
    if (!v5 && has_password && !has_username) return malformed("password without user name");
    c.clean_start = flags & 0x02;
    if (auto e = r.u16(c.keep_alive)) return e;
    if (v5) {
        if (auto e = decode_properties(r, {packet_type::connect, false}, c.props)) return e;
    }
    if (auto e = r.utf8(c.client_id)) return e;
    if (has_will) {
        will_message w;
        w.qos_level = static_cast<qos>(will_qos);
        w.retain = will_retain;
        if (v5) {
            if (auto e = decode_properties(r, {packet_type::connect, true}, w.props)) return e;
        }
        if (auto e = r.utf8(w.topic)) return e;
        if (!valid_topic_name(w.topic)) return malformed("invalid will topic");
        std::string_view payload;
        if (auto e = r.binary(payload)) return e;
        w.payload = shared_bytes(payload);
        c.will = std::move(w);
    }
    if (has_username) {
        std::string username;
        if (auto e = r.utf8(username)) return e;
        c.username = std::move(username);
    }
    if (has_password) {
        std::string password;
        if (auto e = r.binary(password)) return e;
        c.password = std::move(password);
    }
    if (auto e = expect_end(r)) return e;
    // Before 5.0 a server cannot assign an identifier to a client that keeps its session
    // [MQTT-3.1.3-8], and 3.1 requires 1..23 characters (the length limit is left to policy).
    if (c.client_id.empty() && (c.version == protocol_version::v3_1 ||
                                (c.version == protocol_version::v3_1_1 && !c.clean_start))) {
        return wire::fail(reason_code::client_identifier_not_valid, "empty client identifier");
    }
    return {};
}

result decode_connack(reader& r, protocol_version v, connack& c) {
    std::uint8_t flags = 0;
    std::uint8_t code = 0;
    if (auto e = r.u8(flags)) return e;
    if (auto e = r.u8(code)) return e;
    if (v == protocol_version::v3_1) {
        // 3.1's first byte is unused and has no session present flag.
        c.session_present = false;
    } else {
        if (flags & 0xFE) return malformed("CONNACK reserved flags set");
        c.session_present = flags & 0x01;
    }
    if (is_v5(v)) {
        c.reason = static_cast<reason_code>(code);
        if (!reason_code_allowed(packet_type::connack, c.reason)) {
            return protocol_error("invalid CONNACK reason code");
        }
        if (auto e = decode_properties(r, {packet_type::connack, false}, c.props)) return e;
    } else {
        auto rc = reason_code_from_connack_v3(code);
        if (!rc) return protocol_error("invalid CONNACK return code");
        c.reason = *rc;
    }
    if (c.session_present && is_error(c.reason)) {
        return protocol_error("session present with a failure code");
    }
    return expect_end(r);
}

result decode_publish(const fixed_header& h, reader& r, const std::shared_ptr<const void>& owner,
                      protocol_version v, decoder_role role, publish& p) {
    p.dup = h.flags() & 0x08;
    p.qos_level = static_cast<qos>((h.flags() >> 1) & 0x03);
    p.retain = h.flags() & 0x01;
    if (auto e = r.utf8(p.topic)) return e;
    if (p.qos_level != qos::at_most_once) {
        if (auto e = read_packet_id(r, p.packet_id)) return e;
    }
    if (auto e = read_properties(r, packet_type::publish, v, p.props)) return e;
    if (p.topic.empty()) {
        // 5.0 allows an empty topic when a topic alias stands for it.
        if (!(is_v5(v) && p.props.topic_alias)) return protocol_error("empty topic name");
    } else if (p.topic.find_first_of("+#") != std::string::npos) {
        return malformed("wildcard in PUBLISH topic name");
    }
    if (role == decoder_role::server && !p.props.subscription_identifiers.empty()) {
        return protocol_error("subscription identifier in a PUBLISH from a client");
    }
    const std::size_t n = r.remaining();
    if (owner) {
        p.payload = shared_bytes(owner, r.current(), n);
    } else {
        std::string_view bytes;
        if (auto e = r.bytes(n, bytes)) return e;
        p.payload = shared_bytes(bytes);
    }
    return {};
}

template <typename Ack>
result decode_ack(reader& r, packet_type type, protocol_version v, Ack& a) {
    if (auto e = read_packet_id(r, a.packet_id)) return e;
    if (is_v5(v)) {
        // 5.0 omits the reason code when it is success and there are no properties.
        if (r.at_end()) return {};
        std::uint8_t code = 0;
        if (auto e = r.u8(code)) return e;
        a.reason = static_cast<reason_code>(code);
        if (!reason_code_allowed(type, a.reason)) return protocol_error("invalid reason code");
        if (r.at_end()) return {};
        if (auto e = decode_properties(r, {type, false}, a.props)) return e;
    }
    return expect_end(r);
}

result decode_subscribe(reader& r, protocol_version v, subscribe& s) {
    if (auto e = read_packet_id(r, s.packet_id)) return e;
    if (auto e = read_properties(r, packet_type::subscribe, v, s.props)) return e;
    while (!r.at_end()) {
        subscription sub;
        std::uint8_t options = 0;
        if (auto e = r.utf8(sub.filter)) return e;
        // A filter with a misplaced wildcard, or an empty one, makes the packet malformed
        // [MQTT-4.7.1-1, MQTT-4.7.3-1] (and so does a "$share/" filter that is not
        // "$share/<group>/<filter>", since Sluice reads that prefix at every level).
        if (!valid_topic_filter(sub.filter)) return malformed("invalid topic filter");
        if (auto e = r.u8(options)) return e;
        // Reserved bits must be 0 [MQTT-3.8.3-5]: bits 2..7 before 5.0, bits 6..7 in 5.0.
        if (options & (is_v5(v) ? 0xC0 : 0xFC)) {
            return malformed("subscription options reserved bits set");
        }
        const auto max_qos = static_cast<std::uint8_t>(options & 0x03);
        if (max_qos == 3) return malformed("subscription QoS 3");
        sub.options.max_qos = static_cast<qos>(max_qos);
        if (is_v5(v)) {
            sub.options.no_local = options & 0x04;
            sub.options.retain_as_published = options & 0x08;
            const auto handling = static_cast<std::uint8_t>((options >> 4) & 0x03);
            if (handling == 3) return protocol_error("retain handling 3");
            sub.options.handling = static_cast<retain_handling>(handling);
            if (sub.options.no_local) {
                auto parts = parse_topic_filter(sub.filter);
                if (parts && parts->shared) {
                    return protocol_error("no local on a shared subscription");
                }
            }
        }
        s.subscriptions.push_back(std::move(sub));
    }
    if (s.subscriptions.empty()) return protocol_error("SUBSCRIBE without subscriptions");
    return {};
}

result decode_suback(reader& r, protocol_version v, suback& s) {
    if (auto e = read_packet_id(r, s.packet_id)) return e;
    if (auto e = read_properties(r, packet_type::suback, v, s.props)) return e;
    while (!r.at_end()) {
        std::uint8_t code = 0;
        if (auto e = r.u8(code)) return e;
        const auto rc = static_cast<reason_code>(code);
        const bool ok =
            is_v5(v) ? reason_code_allowed(packet_type::suback, rc) : (code <= 2 || code == 0x80);
        if (!ok) return protocol_error("invalid SUBACK reason code");
        s.reasons.push_back(rc);
    }
    if (s.reasons.empty()) return protocol_error("SUBACK without reason codes");
    return {};
}

result decode_unsubscribe(reader& r, protocol_version v, unsubscribe& u) {
    if (auto e = read_packet_id(r, u.packet_id)) return e;
    if (auto e = read_properties(r, packet_type::unsubscribe, v, u.props)) return e;
    while (!r.at_end()) {
        std::string filter;
        if (auto e = r.utf8(filter)) return e;
        if (!valid_topic_filter(filter)) return malformed("invalid topic filter");
        u.filters.push_back(std::move(filter));
    }
    if (u.filters.empty()) return protocol_error("UNSUBSCRIBE without topic filters");
    return {};
}

result decode_unsuback(reader& r, protocol_version v, unsuback& u) {
    if (auto e = read_packet_id(r, u.packet_id)) return e;
    if (!is_v5(v)) return expect_end(r);
    if (auto e = decode_properties(r, {packet_type::unsuback, false}, u.props)) return e;
    while (!r.at_end()) {
        std::uint8_t code = 0;
        if (auto e = r.u8(code)) return e;
        const auto rc = static_cast<reason_code>(code);
        if (!reason_code_allowed(packet_type::unsuback, rc)) {
            return protocol_error("invalid UNSUBACK reason code");
        }
        u.reasons.push_back(rc);
    }
    if (u.reasons.empty()) return protocol_error("UNSUBACK without reason codes");
    return {};
}

// DISCONNECT and AUTH in 5.0: an empty body means reason 0x00 without properties.
template <typename P>
result decode_reason_body(reader& r, packet_type type, P& p) {
    if (r.at_end()) return {};
    std::uint8_t code = 0;
    if (auto e = r.u8(code)) return e;
    p.reason = static_cast<reason_code>(code);
    if (!reason_code_allowed(type, p.reason)) return protocol_error("invalid reason code");
    if (r.at_end()) return {};
    if (auto e = decode_properties(r, {type, false}, p.props)) return e;
    return expect_end(r);
}

}  // namespace

error_response response_to(std::uint8_t first, reason_code e,
                           std::optional<protocol_version> before,
                           std::optional<protocol_version> after) {
    const bool connect_packet = static_cast<packet_type>(first >> 4) == packet_type::connect;
    if (!before) {
        // The connection's first packet.
        if (!connect_packet) return error_response::close;
        if (!after) {
            return e == reason_code::unsupported_protocol_version ? error_response::connack
                                                                  : error_response::close;
        }
        if (is_v5(*after)) return error_response::connack;
        // Before 5.0 a CONNACK return code exists only for these two; any other violation
        // in CONNECT closes the connection without a CONNACK [MQTT-3.1.4-1].
        return e == reason_code::unsupported_protocol_version ||
                       e == reason_code::client_identifier_not_valid
                   ? error_response::connack
                   : error_response::close;
    }
    return is_v5(*before) ? error_response::disconnect : error_response::close;
}

header_status parse_fixed_header(const std::uint8_t* data, std::size_t size, fixed_header& h,
                                 decode_error& error) {
    if (size < 2) return header_status::need_more;
    h.first = data[0];
    std::uint32_t value = 0;
    for (std::size_t i = 0; i < 4; ++i) {
        if (1 + i >= size) return header_status::need_more;
        const std::uint8_t byte = data[1 + i];
        value |= std::uint32_t{byte & 0x7Fu} << (7 * i);
        if ((byte & 0x80) == 0) {
            if (i > 0 && byte == 0) {
                error = {reason_code::malformed_packet, "remaining length not minimal"};
                return header_status::error;
            }
            h.remaining_length = value;
            h.header_size = 2 + i;
            return header_status::complete;
        }
    }
    error = {reason_code::malformed_packet, "remaining length longer than 4 bytes"};
    return header_status::error;
}

result check_first_byte(std::uint8_t first, std::optional<protocol_version> version,
                        decoder_role role) {
    const unsigned type = first >> 4;
    const std::uint8_t flags = first & 0x0F;
    if (type == 0) return malformed("reserved packet type 0");
    if (type == 15 && version && !is_v5(*version)) return malformed("AUTH before MQTT 5.0");
    const auto t = static_cast<packet_type>(type);
    if (!version && t != packet_type::connect) {
        return protocol_error("first packet is not CONNECT");
    }
    switch (t) {
        case packet_type::publish: {
            const unsigned q = (flags >> 1) & 0x03;
            if (q == 3) return malformed("PUBLISH QoS 3");
            if (q == 0 && (flags & 0x08) && version && is_v5(*version)) {
                return malformed("DUP set on a QoS 0 PUBLISH");
            }
            break;
        }
        case packet_type::pubrel:
        case packet_type::subscribe:
        case packet_type::unsubscribe:
            // MQTT 3.1 sets DUP on these when it sends them again; 3.1.1 and 5.0 reserve it.
            if (flags == 0x0A && version == protocol_version::v3_1) break;
            if (flags != 0x02) return malformed("fixed header flags must be 0010");
            break;
        default:
            if (flags != 0) return malformed("fixed header flags must be 0000");
            break;
    }
    if (role == decoder_role::server) {
        switch (t) {
            case packet_type::connack:
            case packet_type::suback:
            case packet_type::unsuback:
            case packet_type::pingresp:
                return protocol_error("packet only a server sends");
            case packet_type::connect:
                if (version) return protocol_error("second CONNECT");
                break;
            default:
                break;
        }
    } else if (role == decoder_role::client) {
        switch (t) {
            case packet_type::connect:
            case packet_type::subscribe:
            case packet_type::unsubscribe:
            case packet_type::pingreq:
                return protocol_error("packet only a client sends");
            default:
                break;
        }
    }
    return {};
}

result check_fixed_header(const fixed_header& h, std::optional<protocol_version> version,
                          decoder_role role) {
    if (auto e = check_first_byte(h.first, version, role)) return e;
    const packet_type t = h.type();
    // Packets whose size is fixed at this level.
    const bool v5 = version && is_v5(*version);
    switch (t) {
        case packet_type::pingreq:
        case packet_type::pingresp:
            if (h.remaining_length != 0) return malformed("PING with a body");
            break;
        case packet_type::disconnect:
            if (!v5 && h.remaining_length != 0) return malformed("DISCONNECT with a body");
            break;
        case packet_type::connack:
            if (!v5 && h.remaining_length != 2) return malformed("CONNACK length must be 2");
            break;
        case packet_type::puback:
        case packet_type::pubrec:
        case packet_type::pubrel:
        case packet_type::pubcomp:
        case packet_type::unsuback:
            if (!v5 && h.remaining_length != 2)
                return malformed("acknowledgement length must be 2");
            break;
        default:
            break;
    }
    return {};
}

wire::result decode_body(const fixed_header& h, const std::uint8_t* data,
                         std::shared_ptr<const void> owner,
                         std::optional<protocol_version>& version, decoder_role role, packet& out) {
    reader r(data, h.remaining_length);
    const packet_type t = h.type();
    if (t == packet_type::connect) {
        connect c;
        if (auto e = decode_connect(r, version, c)) return e;
        out = std::move(c);
        return {};
    }
    if (!version) return protocol_error("first packet is not CONNECT");
    const protocol_version v = *version;
    switch (t) {
        case packet_type::connack: {
            connack c;
            if (auto e = decode_connack(r, v, c)) return e;
            out = std::move(c);
            return {};
        }
        case packet_type::publish: {
            publish p;
            if (auto e = decode_publish(h, r, owner, v, role, p)) return e;
            out = std::move(p);
            return {};
        }
        case packet_type::puback: {
            puback a;
            if (auto e = decode_ack(r, t, v, a)) return e;
            out = std::move(a);
            return {};
        }
        case packet_type::pubrec: {
            pubrec a;
            if (auto e = decode_ack(r, t, v, a)) return e;
            out = std::move(a);
            return {};
        }
        case packet_type::pubrel: {
            pubrel a;
            if (auto e = decode_ack(r, t, v, a)) return e;
            out = std::move(a);
            return {};
        }
        case packet_type::pubcomp: {
            pubcomp a;
            if (auto e = decode_ack(r, t, v, a)) return e;
            out = std::move(a);
            return {};
        }
        case packet_type::subscribe: {
            subscribe s;
            if (auto e = decode_subscribe(r, v, s)) return e;
            out = std::move(s);
            return {};
        }
        case packet_type::suback: {
            suback s;
            if (auto e = decode_suback(r, v, s)) return e;
            out = std::move(s);
            return {};
        }
        case packet_type::unsubscribe: {
            unsubscribe u;
            if (auto e = decode_unsubscribe(r, v, u)) return e;
            out = std::move(u);
            return {};
        }
        case packet_type::unsuback: {
            unsuback u;
            if (auto e = decode_unsuback(r, v, u)) return e;
            out = std::move(u);
            return {};
        }
        case packet_type::pingreq:
            out = pingreq{};
            return expect_end(r);
        case packet_type::pingresp:
            out = pingresp{};
            return expect_end(r);
        case packet_type::disconnect: {
            disconnect d;
            if (is_v5(v)) {
                if (auto e = decode_reason_body(r, t, d)) return e;
                if (role == decoder_role::client && d.props.session_expiry_interval) {
                    return protocol_error("session expiry interval in a server's DISCONNECT");
                }
            }
            if (auto e = expect_end(r)) return e;
            out = std::move(d);
            return {};
        }
        case packet_type::auth: {
            if (!is_v5(v)) return malformed("AUTH before MQTT 5.0");
            auth a;
            if (auto e = decode_reason_body(r, t, a)) return e;
            out = std::move(a);
            return {};
        }
        case packet_type::connect:
            break;
    }
    return malformed("reserved packet type");
}

}  // namespace sluice::mqtt::detail

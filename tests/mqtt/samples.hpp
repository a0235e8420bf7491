#pragma once

// Sample packets of every type, valid at a given protocol level and as rich as that level
// allows: the round-trip and stream tests and the fuzz seed corpus are built from them.

#include <vector>

#include "mqtt/packet.hpp"

namespace sluice::mqtt::test {

inline std::vector<packet> sample_packets(protocol_version v) {
    const bool v5 = v == protocol_version::v5;
    std::vector<packet> out;

    connect c;
    c.version = v;
    c.clean_start = v != protocol_version::v5;
    c.keep_alive = 45;
    c.client_id = "sample-client";
    c.username = "user";
    c.password = std::string("pa\0ss", 5);
    will_message w;
    w.topic = "last/will";
    w.payload = shared_bytes(std::string_view("gone"));
    w.qos_level = qos::exactly_once;
    w.retain = true;
    if (v5) {
        c.props.session_expiry_interval = 3600;
        c.props.receive_maximum = 20;
        c.props.maximum_packet_size = 1 << 20;
        c.props.topic_alias_maximum = 10;
        c.props.request_response_information = true;
        c.props.request_problem_information = false;
        c.props.authentication_method = "SCRAM-SHA-1";
        c.props.authentication_data = std::string("\x00\x01", 2);
        c.props.user_properties = {{"a", "1"}, {"a", "2"}};
        w.props.will_delay_interval = 30;
        w.props.payload_format_indicator = payload_format::utf8;
        w.props.message_expiry_interval = 99;
        w.props.content_type = "text/plain";
        w.props.response_topic = "reply/here";
        w.props.correlation_data = "corr";
        w.props.user_properties = {{"w", "x"}};
    }
    c.will = std::move(w);
    out.push_back(c);

    connect bare;
    bare.version = v;
    bare.client_id = "c";
    out.push_back(bare);

    connack ca;
    ca.session_present = true;
    if (v5) {
        ca.props.session_expiry_interval = 60;
        ca.props.assigned_client_identifier = "assigned";
        ca.props.server_keep_alive = 30;
        ca.props.response_information = "info";
        ca.props.server_reference = "other:1883";
        ca.props.reason_string = "welcome";
        ca.props.receive_maximum = 100;
        ca.props.topic_alias_maximum = 16;
        ca.props.maximum_qos = qos::at_least_once;
        ca.props.retain_available = true;
        ca.props.maximum_packet_size = 65536;
        ca.props.wildcard_subscription_available = true;
        ca.props.subscription_identifier_available = false;
        ca.props.shared_subscription_available = true;
        ca.props.user_properties = {{"k", "v"}};
    }
    if (v == protocol_version::v3_1) ca.session_present = false;  // 3.1 has no such flag
    out.push_back(ca);
    out.push_back(connack{false, reason_code::bad_user_name_or_password, {}});

    publish p;
    p.qos_level = qos::at_least_once;
    p.retain = true;
    p.topic = "sensors/room-1/temp";
    p.packet_id = 7;
    p.payload = shared_bytes(std::string_view("21.5"));
    if (v5) {
        p.props.payload_format_indicator = payload_format::utf8;
        p.props.message_expiry_interval = 120;
        p.props.content_type = "text/plain";
        p.props.response_topic = "resp";
        p.props.correlation_data = "id-1";
        p.props.subscription_identifiers = {1, 300, 268'435'455};
        p.props.topic_alias = 3;
        p.props.user_properties = {{"unit", "C"}};
    }
    out.push_back(p);
    publish q0;
    q0.topic = "a";
    out.push_back(q0);
    publish q2;
    q2.dup = true;
    q2.qos_level = qos::exactly_once;
    q2.topic = "big";
    q2.packet_id = 65535;
    q2.payload = shared_bytes(std::vector<std::uint8_t>(300, 0xAB));  // 2-byte remaining length
    out.push_back(q2);

    out.push_back(puback{.packet_id = 1});
    out.push_back(pubrec{.packet_id = 2});
    out.push_back(pubrel{.packet_id = 3});
    out.push_back(pubcomp{.packet_id = 4});
    if (v5) {
        properties reason;
        reason.reason_string = "why";
        reason.user_properties = {{"x", "y"}};
        out.push_back(puback{5, reason_code::quota_exceeded, reason});
        out.push_back(pubrec{6, reason_code::no_matching_subscribers, {}});
        out.push_back(pubrel{7, reason_code::packet_identifier_not_found, reason});
        out.push_back(pubcomp{8, reason_code::packet_identifier_not_found, {}});
    }

    subscribe s;
    s.packet_id = 9;
    s.subscriptions.push_back({"a/+/c", {qos::at_least_once, false, false, {}}});
    s.subscriptions.push_back({"#", {qos::exactly_once, false, false, {}}});
    if (v5) {
        s.props.subscription_identifiers = {42};
        s.props.user_properties = {{"s", "t"}};
        s.subscriptions.push_back(
            {"$share/g/x", {qos::at_most_once, false, true, retain_handling::do_not_send}});
        s.subscriptions.push_back(
            {"y", {qos::at_least_once, true, false, retain_handling::send_if_new_subscription}});
    }
    out.push_back(s);

    suback sa;
    sa.packet_id = 9;
    sa.reasons = {reason_code::granted_qos_1, reason_code::granted_qos_2,
                  reason_code::unspecified_error};
    if (v5) {
        sa.reasons.push_back(reason_code::shared_subscriptions_not_supported);
        sa.props.reason_string = "partly";
    }
    out.push_back(sa);

    unsubscribe u;
    u.packet_id = 10;
    u.filters = {"a/+/c", "$share/g/x"};
    if (v5) u.props.user_properties = {{"u", "v"}};
    out.push_back(u);

    unsuback ua;
    ua.packet_id = 10;
    if (v5) {
        ua.reasons = {reason_code::success, reason_code::no_subscription_existed};
        ua.props.reason_string = "done";
    }
    out.push_back(ua);

    out.push_back(pingreq{});
    out.push_back(pingresp{});

    if (v5) {
        disconnect d;
        d.reason = reason_code::server_moved;
        d.props.server_reference = "elsewhere";
        d.props.reason_string = "moving";
        out.push_back(d);
        out.push_back(disconnect{reason_code::disconnect_with_will_message, {}});

        auth a;
        a.reason = reason_code::continue_authentication;
        a.props.authentication_method = "SCRAM-SHA-1";
        a.props.authentication_data = "challenge";
        out.push_back(a);
        out.push_back(auth{});
    }
    out.push_back(disconnect{});
    return out;
}

}  // namespace sluice::mqtt::test

// Golden byte vectors for MQTT 3.1.1 (and the 3.1 CONNECT), written by hand from the spec and
// checked field by field; the encoder must produce the same bytes.
#include "tests/mqtt/golden.hpp"

using namespace sluice::mqtt;
using namespace sluice::mqtt::test;

namespace {
constexpr auto v4 = protocol_version::v3_1_1;
}

TEST_CASE("golden 3.1.1: CONNECT with will, user name and password", "[mqtt][golden]") {
    const auto bytes = wire(
        "10 1A"           // CONNECT, remaining length 26
        "0004 'MQTT' 04"  // protocol name, level 4
        "EE"              // user, password, will retain, will QoS 1, will, clean session
        "003C"            // keep alive 60
        "0002 'c1'"       // client id
        "0001 'w'"        // will topic
        "0001 'x'"        // will payload
        "0001 'u'"        // user name
        "0001 'p'");      // password
    auto c = decode_as<connect>(bytes, std::nullopt);
    CHECK(c.version == v4);
    CHECK(c.clean_start);
    CHECK(c.keep_alive == 60);
    CHECK(c.client_id == "c1");
    REQUIRE(c.will);
    CHECK(c.will->topic == "w");
    CHECK(c.will->payload.view() == "x");
    CHECK(c.will->qos_level == qos::at_least_once);
    CHECK(c.will->retain);
    CHECK(c.username == "u");
    CHECK(c.password == "p");
    CHECK(c.props.empty());
    check_encodes_to(c, v4, bytes);
}

TEST_CASE("golden 3.1: CONNECT with protocol name MQIsdp", "[mqtt][golden]") {
    const auto bytes = wire(
        "10 10"
        "0006 'MQIsdp' 03"  // the 3.1 protocol name and level
        "02"                // clean session
        "000A"              // keep alive 10
        "0002 'c1'");
    auto c = decode_as<connect>(bytes, std::nullopt);
    CHECK(c.version == protocol_version::v3_1);
    CHECK(c.clean_start);
    CHECK(c.keep_alive == 10);
    CHECK(c.client_id == "c1");
    CHECK_FALSE(c.will);
    CHECK_FALSE(c.username);
    CHECK_FALSE(c.password);
    check_encodes_to(c, protocol_version::v3_1, bytes);
}

TEST_CASE("golden 3.1.1: CONNACK accepted with session present, and refused", "[mqtt][golden]") {
    const auto accepted = wire("20 02 01 00");
    auto a = decode_as<connack>(accepted, v4);
    CHECK(a.session_present);
    CHECK(a.reason == reason_code::success);
    check_encodes_to(a, v4, accepted);

    const auto refused = wire("20 02 00 05");  // return code 5: not authorized
    auto r = decode_as<connack>(refused, v4);
    CHECK_FALSE(r.session_present);
    CHECK(r.reason == reason_code::not_authorized);
    check_encodes_to(r, v4, refused);

    const auto bad_version = wire("20 02 00 01");
    CHECK(decode_as<connack>(bad_version, v4).reason == reason_code::unsupported_protocol_version);
}

TEST_CASE("golden 3.1: CONNACK has no session present flag", "[mqtt][golden]") {
    // 3.1's first CONNACK byte is reserved: whatever it holds, there is no session present.
    auto c = decode_as<connack>(wire("20 02 01 02"), protocol_version::v3_1);
    CHECK_FALSE(c.session_present);
    CHECK(c.reason == reason_code::client_identifier_not_valid);  // return code 2
    connack present{true, reason_code::success, {}};
    check_encodes_to(present, protocol_version::v3_1, wire("20 02 00 00"));
}

TEST_CASE("golden 3.1.1: PUBLISH QoS 0 retained and QoS 1", "[mqtt][golden]") {
    const auto q0 = wire("31 05 0001 't' 'xy'");  // retain, topic "t", payload "xy"
    auto p0 = decode_as<publish>(q0, v4);
    CHECK(p0.retain);
    CHECK_FALSE(p0.dup);
    CHECK(p0.qos_level == qos::at_most_once);
    CHECK(p0.topic == "t");
    CHECK(p0.packet_id == 0);
    CHECK(p0.payload.view() == "xy");
    check_encodes_to(p0, v4, q0);

    const auto q1 = wire("3A 09 0003 'a/b' 000A 'hi'");  // DUP, QoS 1, packet id 10
    auto p1 = decode_as<publish>(q1, v4);
    CHECK(p1.dup);
    CHECK_FALSE(p1.retain);
    CHECK(p1.qos_level == qos::at_least_once);
    CHECK(p1.topic == "a/b");
    CHECK(p1.packet_id == 10);
    CHECK(p1.payload.view() == "hi");
    check_encodes_to(p1, v4, q1);

    const auto empty_payload = wire("34 05 0001 't' 0102");  // QoS 2, id 0x0102, no payload
    auto p2 = decode_as<publish>(empty_payload, v4);
    CHECK(p2.qos_level == qos::exactly_once);
    CHECK(p2.packet_id == 0x0102);
    CHECK(p2.payload.empty());
    check_encodes_to(p2, v4, empty_payload);
}

TEST_CASE("golden 3.1.1: PUBACK PUBREC PUBREL PUBCOMP", "[mqtt][golden]") {
    const auto ack = wire("40 02 000A");
    CHECK(decode_as<puback>(ack, v4).packet_id == 10);
    check_encodes_to(puback{.packet_id = 10}, v4, ack);

    const auto rec = wire("50 02 1234");
    CHECK(decode_as<pubrec>(rec, v4).packet_id == 0x1234);
    check_encodes_to(pubrec{.packet_id = 0x1234}, v4, rec);

    const auto rel = wire("62 02 FFFF");  // PUBREL's flags are 0010
    CHECK(decode_as<pubrel>(rel, v4).packet_id == 0xFFFF);
    check_encodes_to(pubrel{.packet_id = 0xFFFF}, v4, rel);

    const auto comp = wire("70 02 0001");
    CHECK(decode_as<pubcomp>(comp, v4).packet_id == 1);
    check_encodes_to(pubcomp{.packet_id = 1}, v4, comp);
}

TEST_CASE("golden 3.1.1: SUBSCRIBE and SUBACK", "[mqtt][golden]") {
    const auto sub = wire(
        "82 0C"          // SUBSCRIBE, flags 0010
        "000B"           // packet id 11
        "0003 'a/+' 01"  // filter, QoS 1
        "0001 '#' 02");  // filter, QoS 2
    auto s = decode_as<subscribe>(sub, v4);
    CHECK(s.packet_id == 11);
    REQUIRE(s.subscriptions.size() == 2);
    CHECK(s.subscriptions[0].filter == "a/+");
    CHECK(s.subscriptions[0].options.max_qos == qos::at_least_once);
    CHECK(s.subscriptions[1].filter == "#");
    CHECK(s.subscriptions[1].options.max_qos == qos::exactly_once);
    CHECK_FALSE(s.subscriptions[1].options.no_local);
    check_encodes_to(s, v4, sub);

    const auto ack = wire("90 05 000B 01 02 80");
    auto a = decode_as<suback>(ack, v4);
    CHECK(a.packet_id == 11);
    REQUIRE(a.reasons.size() == 3);
    CHECK(a.reasons[0] == reason_code::granted_qos_1);
    CHECK(a.reasons[1] == reason_code::granted_qos_2);
    CHECK(a.reasons[2] == reason_code::unspecified_error);  // 0x80 failure
    check_encodes_to(a, v4, ack);

    // A 5.0 failure code is written as 3.1.1's only failure, 0x80.
    suback five{11, {reason_code::granted_qos_0, reason_code::not_authorized}, {}};
    check_encodes_to(five, v4, wire("90 04 000B 00 80"));
}

TEST_CASE("golden 3.1.1: UNSUBSCRIBE and UNSUBACK", "[mqtt][golden]") {
    const auto unsub = wire("A2 0C 000C 0003 'a/+' 0003 'b/#'");
    auto u = decode_as<unsubscribe>(unsub, v4);
    CHECK(u.packet_id == 12);
    REQUIRE(u.filters.size() == 2);
    CHECK(u.filters[0] == "a/+");
    CHECK(u.filters[1] == "b/#");
    check_encodes_to(u, v4, unsub);

    const auto ack = wire("B0 02 000C");
    auto a = decode_as<unsuback>(ack, v4);
    CHECK(a.packet_id == 12);
    CHECK(a.reasons.empty());
    check_encodes_to(a, v4, ack);
}

TEST_CASE("golden 3.1.1: PINGREQ PINGRESP DISCONNECT", "[mqtt][golden]") {
    decode_as<pingreq>(wire("C0 00"), v4);
    decode_as<pingresp>(wire("D0 00"), v4);
    auto d = decode_as<disconnect>(wire("E0 00"), v4);
    CHECK(d.reason == reason_code::normal_disconnection);
    check_encodes_to(pingreq{}, v4, wire("C0 00"));
    check_encodes_to(pingresp{}, v4, wire("D0 00"));
    check_encodes_to(disconnect{}, v4, wire("E0 00"));
    // A 5.0 reason does not exist in 3.1.1 and is dropped.
    check_encodes_to(disconnect{reason_code::server_shutting_down, {}}, v4, wire("E0 00"));
}

TEST_CASE("golden 3.1.1: AUTH cannot be encoded", "[mqtt][golden]") {
    std::vector<std::uint8_t> out{1, 2};
    CHECK_FALSE(encode(auth{}, v4, out));
    CHECK(out == std::vector<std::uint8_t>{1, 2});
}

TEST_CASE("golden 3.1: PUBREL, SUBSCRIBE and UNSUBSCRIBE sent again with DUP", "[mqtt][golden]") {
    // MQTT 3.1 sets DUP (bit 3) on these when it re-sends them; they decode to the same packets
    // as without it, and the encoder writes them without it (DUP is not part of the packet).
    constexpr auto v3 = protocol_version::v3_1;
    CHECK(decode_as<pubrel>(wire("6A 02 0007"), v3).packet_id == 7);
    check_encodes_to(pubrel{7, reason_code::success, {}}, v3, wire("62 02 0007"));

    auto s = decode_as<subscribe>(wire("8A 08 0002 0003 'a/+' 01"), v3);
    CHECK(s.packet_id == 2);
    REQUIRE(s.subscriptions.size() == 1);
    CHECK(s.subscriptions[0].filter == "a/+");
    CHECK(s.subscriptions[0].options.max_qos == qos::at_least_once);
    check_encodes_to(s, v3, wire("82 08 0002 0003 'a/+' 01"));

    auto u = decode_as<unsubscribe>(wire("AA 07 0003 0003 'a/+'"), v3);
    CHECK(u.packet_id == 3);
    CHECK(u.filters == std::vector<std::string>{"a/+"});
    check_encodes_to(u, v3, wire("A2 07 0003 0003 'a/+'"));
}

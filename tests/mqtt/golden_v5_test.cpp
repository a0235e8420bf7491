// Golden byte vectors for MQTT 5.0, written by hand from the spec and checked field by field.
// Properties are listed in ascending identifier order, the order the encoder writes them, so the
// encoder must reproduce each vector exactly.
#include "tests/mqtt/golden.hpp"

using namespace sluice::mqtt;
using namespace sluice::mqtt::test;

namespace {
constexpr auto v5 = protocol_version::v5;
}

TEST_CASE("golden 5.0: CONNECT with properties and will properties", "[mqtt][golden]") {
    const auto bytes = wire(
        "10 2E"
        "0004 'MQTT' 05"
        "86"                    // user name, will (QoS 0, no retain), clean start
        "001E"                  // keep alive 30
        "0F"                    // properties: 15 bytes
        "11 00000078"           //   session expiry interval 120
        "21 000A"               //   receive maximum 10
        "26 0001 'k' 0001 'v'"  //   user property k=v
        "0001 'c'"              // client id
        "07"                    // will properties: 7 bytes
        "01 01"                 //   payload format indicator: UTF-8
        "18 00000005"           //   will delay interval 5
        "0001 'w'"              // will topic
        "0001 'x'"              // will payload
        "0001 'u'");            // user name
    auto c = decode_as<connect>(bytes, std::nullopt);
    CHECK(c.version == v5);
    CHECK(c.clean_start);
    CHECK(c.keep_alive == 30);
    CHECK(c.props.session_expiry_interval == 120u);
    CHECK(c.props.receive_maximum == 10);
    REQUIRE(c.props.user_properties.size() == 1);
    CHECK(c.props.user_properties[0] == user_property{"k", "v"});
    CHECK(c.client_id == "c");
    REQUIRE(c.will);
    CHECK(c.will->props.payload_format_indicator == payload_format::utf8);
    CHECK(c.will->props.will_delay_interval == 5u);
    CHECK(c.will->topic == "w");
    CHECK(c.will->payload.view() == "x");
    CHECK(c.will->qos_level == qos::at_most_once);
    CHECK_FALSE(c.will->retain);
    CHECK(c.username == "u");
    CHECK_FALSE(c.password);
    check_encodes_to(c, v5, bytes);
}

TEST_CASE("golden 5.0: CONNECT with a password and no user name", "[mqtt][golden]") {
    // Allowed from 5.0 on (3.1.1 requires a user name with a password).
    const auto bytes = wire("10 12 0004 'MQTT' 05 40 0000 00 0000 0003 'pw' 00");
    auto c = decode_as<connect>(bytes, std::nullopt);
    CHECK_FALSE(c.clean_start);
    CHECK(c.client_id.empty());  // 5.0: the server assigns one
    CHECK_FALSE(c.username);
    REQUIRE(c.password);
    CHECK(*c.password == std::string("pw\0", 3));
    check_encodes_to(c, v5, bytes);
}

TEST_CASE("golden 5.0: CONNACK with properties and a refusal", "[mqtt][golden]") {
    const auto bytes = wire(
        "20 0F"
        "00"            // no session present
        "00"            // success
        "0C"            // properties: 12 bytes
        "12 0002 'id'"  //   assigned client identifier
        "22 0005"       //   topic alias maximum 5
        "24 01"         //   maximum QoS 1
        "25 00");       //   retain not available
    auto c = decode_as<connack>(bytes, v5);
    CHECK_FALSE(c.session_present);
    CHECK(c.reason == reason_code::success);
    CHECK(c.props.assigned_client_identifier == "id");
    CHECK(c.props.topic_alias_maximum == 5);
    CHECK(c.props.maximum_qos == qos::at_least_once);
    CHECK(c.props.retain_available == false);
    check_encodes_to(c, v5, bytes);

    const auto refused = wire("20 03 00 87 00");  // not authorized, no properties
    auto r = decode_as<connack>(refused, v5);
    CHECK(r.reason == reason_code::not_authorized);
    CHECK(r.props.empty());
    check_encodes_to(r, v5, refused);
}

TEST_CASE("golden 5.0: PUBLISH with every message property", "[mqtt][golden]") {
    const auto bytes = wire(
        "3C 31"                 // PUBLISH, DUP, QoS 2; remaining length 49
        "0003 't/1'"            // topic
        "1234"                  // packet id
        "24"                    // properties: 36 bytes
        "01 01"                 //   payload format indicator: UTF-8
        "02 0000003C"           //   message expiry interval 60
        "03 0004 'json'"        //   content type
        "08 0001 'r'"           //   response topic
        "09 0002 CAFE"          //   correlation data
        "0B 8101"               //   subscription identifier 129 (variable byte integer)
        "23 0007"               //   topic alias 7
        "26 0001 'a' 0001 'b'"  //   user property a=b
        "'hello'");             // payload
    auto p = decode_as<publish>(bytes, v5, decoder_role::client);
    CHECK(p.dup);
    CHECK(p.qos_level == qos::exactly_once);
    CHECK_FALSE(p.retain);
    CHECK(p.topic == "t/1");
    CHECK(p.packet_id == 0x1234);
    CHECK(p.props.payload_format_indicator == payload_format::utf8);
    CHECK(p.props.message_expiry_interval == 60u);
    CHECK(p.props.content_type == "json");
    CHECK(p.props.response_topic == "r");
    CHECK(p.props.correlation_data == "\xCA\xFE");
    CHECK(p.props.subscription_identifiers == std::vector<std::uint32_t>{129});
    CHECK(p.props.topic_alias == 7);
    REQUIRE(p.props.user_properties.size() == 1);
    CHECK(p.props.user_properties[0] == user_property{"a", "b"});
    CHECK(p.payload.view() == "hello");
    check_encodes_to(p, v5, bytes);
}

TEST_CASE("golden 5.0: PUBLISH with a topic alias and no topic", "[mqtt][golden]") {
    const auto bytes = wire("30 07 0000 03 23 0002 'z'");
    auto p = decode_as<publish>(bytes, v5);
    CHECK(p.topic.empty());
    CHECK(p.props.topic_alias == 2);
    CHECK(p.payload.view() == "z");
    check_encodes_to(p, v5, bytes);
}

TEST_CASE("golden 5.0: PUBACK PUBREC PUBREL PUBCOMP, short and long forms", "[mqtt][golden]") {
    const auto long_ack = wire("40 09 000A 10 05 1F 0002 'no'");
    auto a = decode_as<puback>(long_ack, v5);
    CHECK(a.packet_id == 10);
    CHECK(a.reason == reason_code::no_matching_subscribers);
    CHECK(a.props.reason_string == "no");
    check_encodes_to(a, v5, long_ack);

    // Success without properties is written as the 2-byte form; the 3-byte form decodes too.
    const auto short_ack = wire("40 02 000A");
    CHECK(decode_as<puback>(short_ack, v5) == puback{.packet_id = 10});
    CHECK(decode_as<puback>(wire("40 03 000A 00"), v5) == puback{.packet_id = 10});
    CHECK(decode_as<puback>(wire("40 04 000A 00 00"), v5) == puback{.packet_id = 10});
    check_encodes_to(puback{.packet_id = 10}, v5, short_ack);

    const auto rec = wire("50 03 000B 80");  // reason only, no property length
    auto r = decode_as<pubrec>(rec, v5);
    CHECK(r.packet_id == 11);
    CHECK(r.reason == reason_code::unspecified_error);
    check_encodes_to(r, v5, rec);

    const auto rel = wire("62 03 000C 92");
    auto l = decode_as<pubrel>(rel, v5);
    CHECK(l.packet_id == 12);
    CHECK(l.reason == reason_code::packet_identifier_not_found);
    check_encodes_to(l, v5, rel);

    const auto comp = wire("70 02 000D");
    auto c = decode_as<pubcomp>(comp, v5);
    CHECK(c.packet_id == 13);
    CHECK(c.reason == reason_code::success);
    check_encodes_to(c, v5, comp);
}

TEST_CASE("golden 5.0: SUBSCRIBE with options and a shared subscription", "[mqtt][golden]") {
    const auto bytes = wire(
        "82 1F"
        "0001"                    // packet id 1
        "09"                      // properties: 9 bytes
        "0B 05"                   //   subscription identifier 5
        "26 0001 'k' 0001 'v'"    //   user property
        "000C '$share/g/a/#' 29"  // QoS 1, retain as published, retain handling 2
        "0001 'x' 16");           // QoS 2, no local, retain handling 1
    auto s = decode_as<subscribe>(bytes, v5);
    CHECK(s.packet_id == 1);
    CHECK(s.props.subscription_identifiers == std::vector<std::uint32_t>{5});
    CHECK(s.props.user_properties.size() == 1);
    REQUIRE(s.subscriptions.size() == 2);
    const auto& a = s.subscriptions[0];
    CHECK(a.filter == "$share/g/a/#");
    CHECK(a.options.max_qos == qos::at_least_once);
    CHECK_FALSE(a.options.no_local);
    CHECK(a.options.retain_as_published);
    CHECK(a.options.handling == retain_handling::do_not_send);
    const auto& b = s.subscriptions[1];
    CHECK(b.filter == "x");
    CHECK(b.options.max_qos == qos::exactly_once);
    CHECK(b.options.no_local);
    CHECK_FALSE(b.options.retain_as_published);
    CHECK(b.options.handling == retain_handling::send_if_new_subscription);
    check_encodes_to(s, v5, bytes);
}

TEST_CASE("golden 5.0: SUBACK UNSUBSCRIBE UNSUBACK", "[mqtt][golden]") {
    const auto ack = wire("90 0B 0001 04 1F 0001 'r' 01 02 8F A2");
    auto a = decode_as<suback>(ack, v5);
    CHECK(a.packet_id == 1);
    CHECK(a.props.reason_string == "r");
    CHECK(a.reasons == std::vector<reason_code>{reason_code::granted_qos_1,
                                                reason_code::granted_qos_2,
                                                reason_code::topic_filter_invalid,
                                                reason_code::wildcard_subscriptions_not_supported});
    check_encodes_to(a, v5, ack);

    const auto unsub = wire("A2 0B 0002 00 0001 'a' 0003 'b/#'");
    auto u = decode_as<unsubscribe>(unsub, v5);
    CHECK(u.packet_id == 2);
    CHECK(u.filters == std::vector<std::string>{"a", "b/#"});
    check_encodes_to(u, v5, unsub);

    const auto unsuback_bytes = wire("B0 05 0002 00 00 11");
    auto ua = decode_as<unsuback>(unsuback_bytes, v5);
    CHECK(ua.packet_id == 2);
    CHECK(ua.reasons ==
          std::vector<reason_code>{reason_code::success, reason_code::no_subscription_existed});
    check_encodes_to(ua, v5, unsuback_bytes);
}

TEST_CASE("golden 5.0: PINGREQ PINGRESP", "[mqtt][golden]") {
    decode_as<pingreq>(wire("C0 00"), v5);
    decode_as<pingresp>(wire("D0 00"), v5);
    check_encodes_to(pingreq{}, v5, wire("C0 00"));
    check_encodes_to(pingresp{}, v5, wire("D0 00"));
}

TEST_CASE("golden 5.0: DISCONNECT short, reason only and with properties", "[mqtt][golden]") {
    CHECK(decode_as<disconnect>(wire("E0 00"), v5) == disconnect{});
    check_encodes_to(disconnect{}, v5, wire("E0 00"));

    auto r = decode_as<disconnect>(wire("E0 01 8B"), v5);
    CHECK(r.reason == reason_code::server_shutting_down);
    CHECK(r.props.empty());

    const auto bytes = wire(
        "E0 0B"
        "04"             // disconnect with will message
        "09"             // properties: 9 bytes
        "11 00000000"    //   session expiry interval 0
        "1F 0001 'x'");  //   reason string
    auto d = decode_as<disconnect>(bytes, v5, decoder_role::server);
    CHECK(d.reason == reason_code::disconnect_with_will_message);
    CHECK(d.props.session_expiry_interval == 0u);
    CHECK(d.props.reason_string == "x");
    check_encodes_to(d, v5, bytes);
}

TEST_CASE("golden 5.0: AUTH", "[mqtt][golden]") {
    const auto bytes = wire(
        "F0 0E"
        "18"              // continue authentication
        "0C"              // properties: 12 bytes
        "15 0004 'SCRM'"  //   authentication method
        "16 0002 0102");  //   authentication data
    auto a = decode_as<auth>(bytes, v5);
    CHECK(a.reason == reason_code::continue_authentication);
    CHECK(a.props.authentication_method == "SCRM");
    CHECK(a.props.authentication_data == "\x01\x02");
    check_encodes_to(a, v5, bytes);

    CHECK(decode_as<auth>(wire("F0 00"), v5) == auth{});
    check_encodes_to(auth{}, v5, wire("F0 00"));
}

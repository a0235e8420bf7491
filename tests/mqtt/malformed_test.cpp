// The malformed corpus: each case is one packet written by hand with the reason code the
// receiver must send for it and the decoder's explanation (so no case passes by failing for
// another reason). Cases are decoded whole (decode_packet) and through the streaming decoder
// fed one byte at a time, which must agree.
#include <catch2/catch.hpp>

#include <optional>
#include <string>

#include "mqtt/decoder.hpp"
#include "tests/mqtt/wire_text.hpp"

using namespace sluice::mqtt;
using namespace sluice::mqtt::test;

namespace {

constexpr auto malformed = reason_code::malformed_packet;
constexpr auto protocol = reason_code::protocol_error;
constexpr std::optional<protocol_version> first = std::nullopt;  // before CONNECT
constexpr std::optional<protocol_version> v3 = protocol_version::v3_1;
constexpr std::optional<protocol_version> v4 = protocol_version::v3_1_1;
constexpr std::optional<protocol_version> v5 = protocol_version::v5;

struct bad_case {
    const char* name;
    std::optional<protocol_version> version;
    decoder_role role;
    const char* bytes;
    reason_code expected;
    const char* detail;  // the decoder's explanation, so a case cannot pass for another reason
};

const bad_case cases[] = {
    // Fixed header.
    {"remaining length over 4 bytes", v5, decoder_role::any, "30 FF FF FF FF 01", malformed,
     "remaining length longer than 4 bytes"},
    {"remaining length not minimal", v5, decoder_role::any, "C0 80 00", malformed,
     "remaining length not minimal"},
    {"reserved packet type 0", v5, decoder_role::any, "00 00", malformed, "reserved packet type 0"},
    {"AUTH in 3.1.1", v4, decoder_role::any, "F0 00", malformed, "AUTH before MQTT 5.0"},
    {"PUBLISH QoS 3", v5, decoder_role::any, "36 04 0001 't' 00", malformed, "PUBLISH QoS 3"},
    {"PUBLISH QoS 3 in 3.1.1", v4, decoder_role::any, "36 03 0001 't'", malformed, "PUBLISH QoS 3"},
    {"DUP on a QoS 0 PUBLISH in 5.0", v5, decoder_role::any, "38 04 0001 't' 00", malformed,
     "DUP set on a QoS 0 PUBLISH"},
    {"SUBSCRIBE flags 0000", v4, decoder_role::any, "80 06 0001 0001 'a' 00", malformed,
     "fixed header flags must be 0010"},
    {"SUBSCRIBE flags 0011", v4, decoder_role::any, "83 06 0001 0001 'a' 00", malformed,
     "fixed header flags must be 0010"},
    {"UNSUBSCRIBE flags 0000", v4, decoder_role::any, "A0 05 0001 0001 'a'", malformed,
     "fixed header flags must be 0010"},
    {"PUBREL flags 0000", v4, decoder_role::any, "60 02 0001", malformed,
     "fixed header flags must be 0010"},
    // MQTT 3.1 may set DUP on PUBREL, SUBSCRIBE and UNSUBSCRIBE; 3.1.1 and 5.0 may not.
    {"PUBREL with DUP in 3.1.1", v4, decoder_role::any, "6A 02 0001", malformed,
     "fixed header flags must be 0010"},
    {"SUBSCRIBE with DUP in 3.1.1", v4, decoder_role::any, "8A 06 0001 0001 'a' 00", malformed,
     "fixed header flags must be 0010"},
    {"UNSUBSCRIBE with DUP in 5.0", v5, decoder_role::any, "AA 06 0001 00 0001 'a'", malformed,
     "fixed header flags must be 0010"},
    {"PUBREL flags 1011 in 3.1", v3, decoder_role::any, "6B 02 0001", malformed,
     "fixed header flags must be 0010"},
    {"SUBSCRIBE flags 1000 in 3.1", v3, decoder_role::any, "88 06 0001 0001 'a' 00", malformed,
     "fixed header flags must be 0010"},
    {"PUBACK with DUP in 3.1", v3, decoder_role::any, "48 02 0001", malformed,
     "fixed header flags must be 0000"},
    {"PUBACK flags 0010", v4, decoder_role::any, "42 02 0001", malformed,
     "fixed header flags must be 0000"},
    {"PINGREQ flags 0001", v4, decoder_role::any, "C1 00", malformed,
     "fixed header flags must be 0000"},
    {"CONNECT flags 0001", first, decoder_role::any, "11 0D 0004 'MQTT' 04 02 003C 0001 'c'",
     malformed, "fixed header flags must be 0000"},
    {"DISCONNECT flags 1000 in 5.0", v5, decoder_role::any, "E8 00", malformed,
     "fixed header flags must be 0000"},

    // Truncated fields and trailing bytes.
    {"truncated protocol name", first, decoder_role::any, "10 03 0004 'M'", malformed,
     "truncated string or binary data"},
    {"truncated keep alive", first, decoder_role::any, "10 09 0004 'MQTT' 04 02 00", malformed,
     "truncated two byte integer"},
    {"client id longer than the packet", first, decoder_role::any,
     "10 0D 0004 'MQTT' 04 02 003C 0005 'c'", malformed, "truncated string or binary data"},
    {"truncated packet id", v4, decoder_role::any, "32 04 0001 't' 00", malformed,
     "truncated two byte integer"},
    {"truncated topic", v4, decoder_role::any, "30 02 0005", malformed,
     "truncated string or binary data"},
    {"PUBACK too short in 3.1.1", v4, decoder_role::any, "40 01 00", malformed,
     "acknowledgement length must be 2"},
    {"PUBACK too long in 3.1.1", v4, decoder_role::any, "40 03 0001 00", malformed,
     "acknowledgement length must be 2"},
    {"PINGREQ with a body", v5, decoder_role::any, "C0 01 00", malformed, "PING with a body"},
    {"DISCONNECT with a body in 3.1.1", v4, decoder_role::any, "E0 01 00", malformed,
     "DISCONNECT with a body"},
    {"CONNACK of 3 bytes in 3.1.1", v4, decoder_role::any, "20 03 00 00 00", malformed,
     "CONNACK length must be 2"},
    {"CONNECT with a trailing byte", first, decoder_role::any,
     "10 0E 0004 'MQTT' 04 02 003C 0001 'c' 00", malformed,
     "unexpected bytes at the end of the packet"},
    {"PUBACK with bytes after its properties", v5, decoder_role::any, "40 05 0001 00 00 FF",
     malformed, "unexpected bytes at the end of the packet"},
    {"DISCONNECT with bytes after its properties", v5, decoder_role::any, "E0 03 00 00 FF",
     malformed, "unexpected bytes at the end of the packet"},
    {"property length beyond the packet", v5, decoder_role::any, "40 05 0001 80 09 1F", malformed,
     "property length exceeds packet"},
    {"property value beyond its length", v5, decoder_role::any, "40 06 0001 80 02 1F 00", malformed,
     "truncated two byte integer"},
    {"variable byte integer property over 4 bytes", v5, decoder_role::any,
     "82 0D 0001 06 0B FF FF FF FF 7F 0001 'a' 00", malformed,
     "variable byte integer longer than 4 bytes"},
    {"SUBSCRIBE missing its options byte", v4, decoder_role::any, "82 05 0001 0001 'a'", malformed,
     "truncated byte"},
    {"UNSUBACK with reason codes in 3.1.1", v4, decoder_role::any, "B0 03 0001 00", malformed,
     "acknowledgement length must be 2"},

    // CONNECT.
    {"CONNECT reserved flag", first, decoder_role::any, "10 0D 0004 'MQTT' 04 03 003C 0001 'c'",
     malformed, "CONNECT reserved flag set"},
    {"will QoS without will flag", first, decoder_role::any,
     "10 0D 0004 'MQTT' 04 0A 003C 0001 'c'", malformed,
     "will QoS or retain set without will flag"},
    {"will retain without will flag", first, decoder_role::any,
     "10 0D 0004 'MQTT' 04 22 003C 0001 'c'", malformed,
     "will QoS or retain set without will flag"},
    {"will QoS 3", first, decoder_role::any, "10 12 0004 'MQTT' 04 1E 003C 0001 'c' 0001 'w' 0000",
     malformed, "will QoS 3"},
    {"password without user name in 3.1.1", first, decoder_role::any,
     "10 10 0004 'MQTT' 04 42 003C 0001 'c' 0001 'p'", malformed, "password without user name"},
    {"will topic with a wildcard", first, decoder_role::any,
     "10 12 0004 'MQTT' 04 06 003C 0001 'c' 0001 '#' 0000", malformed, "invalid will topic"},
    {"protocol level 6", first, decoder_role::any, "10 0D 0004 'MQTT' 06 02 003C 0001 'c'",
     reason_code::unsupported_protocol_version, "unsupported protocol name or level"},
    {"protocol name MQTX", first, decoder_role::any, "10 0D 0004 'MQTX' 04 02 003C 0001 'c'",
     reason_code::unsupported_protocol_version, "unsupported protocol name or level"},
    {"level 3 with name MQTT", first, decoder_role::any, "10 0D 0004 'MQTT' 03 02 003C 0001 'c'",
     reason_code::unsupported_protocol_version, "unsupported protocol name or level"},
    {"empty client id keeping the session in 3.1.1", first, decoder_role::any,
     "10 0C 0004 'MQTT' 04 00 003C 0000", reason_code::client_identifier_not_valid,
     "empty client identifier"},
    {"empty client id in 3.1", first, decoder_role::any, "10 0E 0006 'MQIsdp' 03 02 003C 0000",
     reason_code::client_identifier_not_valid, "empty client identifier"},
    {"bad UTF-8 in the client id", first, decoder_role::any,
     "10 0E 0004 'MQTT' 04 02 003C 0002 C080", malformed, "invalid UTF-8 string"},
    {"first packet is not CONNECT", first, decoder_role::server, "C0 00", protocol,
     "first packet is not CONNECT"},
    {"second CONNECT", v4, decoder_role::server, "10 0D 0004 'MQTT' 04 02 003C 0001 'c'", protocol,
     "second CONNECT"},

    // UTF-8 in strings.
    {"overlong NUL in a topic", v4, decoder_role::any, "30 04 0002 C080", malformed,
     "invalid UTF-8 string"},
    {"U+0000 in a topic", v4, decoder_role::any, "30 05 0003 'a' 00 'b'", malformed,
     "invalid UTF-8 string"},
    {"surrogate in a topic", v5, decoder_role::any, "30 06 0003 EDA080 00", malformed,
     "invalid UTF-8 string"},
    {"bad UTF-8 in a user property", v5, decoder_role::any, "40 0A 0001 00 06 26 0001 FF 0000",
     malformed, "invalid UTF-8 string"},
    {"bad UTF-8 in a topic filter", v4, decoder_role::any, "82 06 0001 0001 FE 00", malformed,
     "invalid UTF-8 string"},
    {"bad UTF-8 in a reason string", v5, decoder_role::any, "E0 06 00 04 1F 0001 C3", malformed,
     "invalid UTF-8 string"},

    // PUBLISH.
    {"wildcard + in a PUBLISH topic", v4, decoder_role::any, "30 05 0003 'a/+'", malformed,
     "wildcard in PUBLISH topic name"},
    {"wildcard # in a PUBLISH topic", v5, decoder_role::any, "30 04 0001 '#' 00", malformed,
     "wildcard in PUBLISH topic name"},
    {"empty topic without alias in 5.0", v5, decoder_role::any, "30 03 0000 00", protocol,
     "empty topic name"},
    {"empty topic in 3.1.1", v4, decoder_role::any, "30 02 0000", protocol, "empty topic name"},
    {"QoS 1 PUBLISH with packet id 0", v4, decoder_role::any, "32 05 0001 't' 0000", protocol,
     "packet identifier 0"},
    {"subscription identifier from a client", v5, decoder_role::server, "30 06 0001 't' 02 0B 01",
     protocol, "subscription identifier in a PUBLISH from a client"},
    {"topic alias 0", v5, decoder_role::any, "30 07 0001 't' 03 23 0000",
     reason_code::topic_alias_invalid, "topic alias 0"},

    // Properties.
    {"duplicate property", first, decoder_role::any,
     "10 18 0004 'MQTT' 05 02 003C 0A 11 00000001 11 00000002 0001 'c'", protocol,
     "duplicate property"},
    {"duplicate reason string", v5, decoder_role::any, "40 0C 0001 00 08 1F 0001 'a' 1F 0001 'b'",
     protocol, "duplicate property"},
    // A property not allowed in its packet makes the packet malformed (spec 2.2.2.2), in every
    // packet type and in a CONNECT's will.
    {"property not allowed in CONNECT", first, decoder_role::any,
     "10 11 0004 'MQTT' 05 02 003C 03 23 0001 0001 'c'", malformed,
     "property not allowed in this packet"},
    {"will delay interval outside the will", first, decoder_role::any,
     "10 13 0004 'MQTT' 05 02 003C 05 18 00000001 0001 'c'", malformed,
     "property not allowed in this packet"},
    {"session expiry in will properties", first, decoder_role::any,
     "10 19 0004 'MQTT' 05 06 003C 00 0001 'c' 05 11 00000001 0001 'w' 0000", malformed,
     "property not allowed in this packet"},
    {"property not allowed in CONNACK", v5, decoder_role::any, "20 08 00 00 05 18 00000001",
     malformed, "property not allowed in this packet"},
    {"session expiry in PUBLISH", v5, decoder_role::any, "30 09 0001 't' 05 11 00000001", malformed,
     "property not allowed in this packet"},
    {"property not allowed in PUBACK", v5, decoder_role::any, "40 07 0001 00 03 21 0001", malformed,
     "property not allowed in this packet"},
    {"property not allowed in PUBREC", v5, decoder_role::any, "50 07 0001 00 03 23 0001", malformed,
     "property not allowed in this packet"},
    {"property not allowed in PUBREL", v5, decoder_role::any, "62 07 0001 00 03 23 0001", malformed,
     "property not allowed in this packet"},
    {"property not allowed in PUBCOMP", v5, decoder_role::any, "70 07 0001 00 03 23 0001",
     malformed, "property not allowed in this packet"},
    {"session expiry in SUBSCRIBE", v5, decoder_role::any, "82 0C 0001 05 11 00000001 0001 'a' 00",
     malformed, "property not allowed in this packet"},
    {"property not allowed in SUBACK", v5, decoder_role::any, "90 07 0001 03 23 0001 00", malformed,
     "property not allowed in this packet"},
    {"subscription identifier in UNSUBSCRIBE", v5, decoder_role::any,
     "A2 08 0001 02 0B 01 0001 'a'", malformed, "property not allowed in this packet"},
    {"property not allowed in UNSUBACK", v5, decoder_role::any, "B0 07 0001 03 23 0001 00",
     malformed, "property not allowed in this packet"},
    {"property not allowed in DISCONNECT", v5, decoder_role::any, "E0 05 00 03 23 0001", malformed,
     "property not allowed in this packet"},
    {"property not allowed in AUTH", v5, decoder_role::any, "F0 05 18 03 23 0001", malformed,
     "property not allowed in this packet"},
    {"unknown property identifier", v5, decoder_role::any, "40 06 0001 00 02 05 00", malformed,
     "unknown property identifier"},
    {"receive maximum 0", first, decoder_role::any,
     "10 11 0004 'MQTT' 05 02 003C 03 21 0000 0001 'c'", protocol, "receive maximum 0"},
    {"maximum packet size 0", first, decoder_role::any,
     "10 13 0004 'MQTT' 05 02 003C 05 27 00000000 0001 'c'", protocol, "maximum packet size 0"},
    {"request problem information 2", first, decoder_role::any,
     "10 10 0004 'MQTT' 05 02 003C 02 17 02 0001 'c'", protocol, "property value must be 0 or 1"},
    {"request response information 2", first, decoder_role::any,
     "10 10 0004 'MQTT' 05 02 003C 02 19 02 0001 'c'", protocol, "property value must be 0 or 1"},
    {"payload format indicator 2", v5, decoder_role::any, "30 06 0001 't' 02 01 02", protocol,
     "payload format indicator must be 0 or 1"},
    {"maximum QoS 2", v5, decoder_role::any, "20 05 00 00 02 24 02", protocol,
     "maximum qos must be 0 or 1"},
    {"retain available 2", v5, decoder_role::any, "20 05 00 00 02 25 02", protocol,
     "property value must be 0 or 1"},
    {"wildcard subscription available 2", v5, decoder_role::any, "20 05 00 00 02 28 02", protocol,
     "property value must be 0 or 1"},
    {"subscription identifier 0", v5, decoder_role::any, "82 09 0001 02 0B 00 0001 'a' 00",
     protocol, "subscription identifier 0"},
    {"two subscription identifiers in SUBSCRIBE", v5, decoder_role::any,
     "82 0B 0001 04 0B 01 0B 02 0001 'a' 00", protocol,
     "more than one subscription identifier in SUBSCRIBE"},
    {"authentication data without method", first, decoder_role::any,
     "10 12 0004 'MQTT' 05 02 003C 04 16 0001 'x' 0001 'c'", protocol,
     "authentication data without authentication method"},
    {"session expiry in a server's DISCONNECT", v5, decoder_role::client, "E0 07 00 05 11 00000001",
     protocol, "session expiry interval in a server's DISCONNECT"},

    // Reason codes.
    {"PUBACK reason 0x04", v5, decoder_role::any, "40 03 0001 04", protocol, "invalid reason code"},
    {"PUBREL reason 0x80", v5, decoder_role::any, "62 03 0001 80", protocol, "invalid reason code"},
    {"DISCONNECT reason 0x84", v5, decoder_role::any, "E0 01 84", protocol, "invalid reason code"},
    {"AUTH reason 0x80", v5, decoder_role::any, "F0 01 80", protocol, "invalid reason code"},
    {"CONNACK reason 0x8E", v5, decoder_role::any, "20 03 00 8E 00", protocol,
     "invalid CONNACK reason code"},
    {"CONNACK return code 6 in 3.1.1", v4, decoder_role::any, "20 02 00 06", protocol,
     "invalid CONNACK return code"},
    {"CONNACK reserved flags", v4, decoder_role::any, "20 02 02 00", malformed,
     "CONNACK reserved flags set"},
    {"session present with a refusal", v5, decoder_role::any, "20 03 01 87 00", protocol,
     "session present with a failure code"},
    {"SUBACK code 0x03 in 3.1.1", v4, decoder_role::any, "90 03 0001 03", protocol,
     "invalid SUBACK reason code"},
    {"SUBACK code 0x11 in 5.0", v5, decoder_role::any, "90 04 0001 00 11", protocol,
     "invalid SUBACK reason code"},
    {"UNSUBACK code 0x01 in 5.0", v5, decoder_role::any, "B0 04 0001 00 01", protocol,
     "invalid UNSUBACK reason code"},
    {"unknown reason code 0xFF", v5, decoder_role::any, "E0 01 FF", protocol,
     "invalid reason code"},

    // SUBSCRIBE / UNSUBSCRIBE and their acknowledgements.
    {"SUBSCRIBE with packet id 0", v4, decoder_role::any, "82 06 0000 0001 'a' 00", protocol,
     "packet identifier 0"},
    {"SUBSCRIBE without subscriptions", v4, decoder_role::any, "82 02 0001", protocol,
     "SUBSCRIBE without subscriptions"},
    {"SUBSCRIBE without subscriptions in 5.0", v5, decoder_role::any, "82 03 0001 00", protocol,
     "SUBSCRIBE without subscriptions"},
    {"subscription options reserved bits in 3.1.1", v4, decoder_role::any, "82 06 0001 0001 'a' 04",
     malformed, "subscription options reserved bits set"},
    {"subscription options reserved bits in 5.0", v5, decoder_role::any,
     "82 07 0001 00 0001 'a' 40", malformed, "subscription options reserved bits set"},
    {"subscription QoS 3", v5, decoder_role::any, "82 07 0001 00 0001 'a' 03", malformed,
     "subscription QoS 3"},
    {"retain handling 3", v5, decoder_role::any, "82 07 0001 00 0001 'a' 30", protocol,
     "retain handling 3"},
    {"no local on a shared subscription", v5, decoder_role::any,
     "82 10 0001 00 000A '$share/g/a' 04", protocol, "no local on a shared subscription"},
    // Malformed topic filters make the packet malformed [MQTT-4.7.1-1, MQTT-4.7.3-1].
    {"SUBSCRIBE filter #/x", v4, decoder_role::any, "82 08 0001 0003 '#/x' 00", malformed,
     "invalid topic filter"},
    {"SUBSCRIBE filter a/#/b", v5, decoder_role::any, "82 0B 0001 00 0005 'a/#/b' 00", malformed,
     "invalid topic filter"},
    {"SUBSCRIBE filter a+", v4, decoder_role::any, "82 07 0001 0002 'a+' 00", malformed,
     "invalid topic filter"},
    {"SUBSCRIBE filter a#", v4, decoder_role::any, "82 07 0001 0002 'a#' 00", malformed,
     "invalid topic filter"},
    {"SUBSCRIBE empty filter", v5, decoder_role::any, "82 06 0001 00 0000 00", malformed,
     "invalid topic filter"},
    {"SUBSCRIBE invalid filter after a valid one", v4, decoder_role::any,
     "82 0B 0001 0001 'a' 00 0002 '+x' 01", malformed, "invalid topic filter"},
    {"SUBSCRIBE shared filter without a filter", v5, decoder_role::any,
     "82 0E 0001 00 0008 '$share/g' 00", malformed, "invalid topic filter"},
    {"SUBSCRIBE shared filter with an empty group", v5, decoder_role::any,
     "82 0F 0001 00 0009 '$share//a' 00", malformed, "invalid topic filter"},
    {"UNSUBSCRIBE filter a/#/b", v4, decoder_role::any, "A2 09 0001 0005 'a/#/b'", malformed,
     "invalid topic filter"},
    {"UNSUBSCRIBE empty filter", v5, decoder_role::any, "A2 05 0001 00 0000", malformed,
     "invalid topic filter"},
    {"UNSUBSCRIBE with packet id 0", v4, decoder_role::any, "A2 05 0000 0001 'a'", protocol,
     "packet identifier 0"},
    {"UNSUBSCRIBE without filters", v5, decoder_role::any, "A2 03 0001 00", protocol,
     "UNSUBSCRIBE without topic filters"},
    {"PUBACK with packet id 0", v4, decoder_role::any, "40 02 0000", protocol,
     "packet identifier 0"},
    {"PUBREL with packet id 0", v5, decoder_role::any, "62 02 0000", protocol,
     "packet identifier 0"},
    {"SUBACK without reason codes", v4, decoder_role::any, "90 02 0001", protocol,
     "SUBACK without reason codes"},
    {"UNSUBACK without reason codes in 5.0", v5, decoder_role::any, "B0 03 0001 00", protocol,
     "UNSUBACK without reason codes"},

    // Direction.
    {"CONNACK sent to a server", v4, decoder_role::server, "20 02 00 00", protocol,
     "packet only a server sends"},
    {"SUBACK sent to a server", v4, decoder_role::server, "90 03 0001 00", protocol,
     "packet only a server sends"},
    {"PINGRESP sent to a server", v4, decoder_role::server, "D0 00", protocol,
     "packet only a server sends"},
    {"SUBSCRIBE sent to a client", v4, decoder_role::client, "82 06 0001 0001 'a' 00", protocol,
     "packet only a client sends"},
    {"PINGREQ sent to a client", v4, decoder_role::client, "C0 00", protocol,
     "packet only a client sends"},
    {"CONNECT sent to a client", v4, decoder_role::client, "10 0D 0004 'MQTT' 04 02 003C 0001 'c'",
     protocol, "packet only a client sends"},
};

}  // namespace

TEST_CASE("malformed corpus: each case fails with its reason code, whole and streamed",
          "[mqtt][malformed]") {
    for (const auto& c : cases) {
        INFO("case: " << c.name);
        const auto bytes = wire(c.bytes);
        auto whole = decode_packet(bytes, c.version, c.role);
        INFO("got 0x" << std::hex << int(whole.error.code) << " (" << whole.error.detail << ")");
        CHECK_FALSE(whole.pkt);
        CHECK(whole.error.code == c.expected);
        CHECK(whole.error.detail == c.detail);

        stream_decoder d({c.role, 268'435'460, c.version});
        packet out;
        decode_status s = decode_status::need_more;
        for (std::uint8_t b : bytes) {
            d.feed(std::span(&b, 1));
            s = d.next(out);
            if (s != decode_status::need_more) break;
        }
        CHECK(s == decode_status::error);
        CHECK(d.error().code == c.expected);
        CHECK(d.error().detail == c.detail);
        CHECK(d.error().response == whole.error.response);
    }
}

TEST_CASE("malformed corpus: near misses of the cases above are accepted", "[mqtt][malformed]") {
    // Each of these differs from a rejected case by the one thing the rule is about, so the
    // corpus cannot pass by rejecting everything.
    struct good_case {
        const char* name;
        std::optional<protocol_version> version;
        decoder_role role;
        const char* bytes;
    };
    const good_case goods[] = {
        {"DUP on a QoS 0 PUBLISH in 3.1.1 (only 5.0 makes it malformed)", v4, decoder_role::any,
         "38 03 0001 't'"},
        {"password without user name in 5.0", first, decoder_role::any,
         "10 11 0004 'MQTT' 05 42 003C 00 0001 'c' 0001 'p'"},
        {"empty client id with clean session in 3.1.1", first, decoder_role::any,
         "10 0C 0004 'MQTT' 04 02 003C 0000"},
        {"empty client id keeping the session in 5.0", first, decoder_role::any,
         "10 0D 0004 'MQTT' 05 00 003C 00 0000"},
        {"empty topic with a topic alias in 5.0", v5, decoder_role::any, "30 06 0000 03 23 0001"},
        {"retain handling 2", v5, decoder_role::any, "82 07 0001 00 0001 'a' 20"},
        {"no local on a normal subscription", v5, decoder_role::any, "82 07 0001 00 0001 'a' 04"},
        {"two user properties", v5, decoder_role::any,
         "40 12 0001 00 0E 26 0001 'a' 0001 'b' 26 0001 'a' 0001 'c'"},
        {"several subscription identifiers to a client", v5, decoder_role::client,
         "30 08 0001 't' 04 0B 01 0B 02"},
        {"well-placed wildcards", v4, decoder_role::any,
         "82 12 0001 0003 'a/#' 00 0003 '+/+' 01 0001 '#' 02"},
        {"a shared filter", v5, decoder_role::any, "82 10 0001 00 000A '$share/g/#' 00"},
        {"UNSUBSCRIBE a/+/b", v4, decoder_role::any, "A2 09 0001 0005 'a/+/b'"},
        {"PUBREL with DUP in 3.1", v3, decoder_role::any, "6A 02 0001"},
        {"SUBSCRIBE with DUP in 3.1", v3, decoder_role::any, "8A 06 0001 0001 'a' 00"},
        {"UNSUBSCRIBE with DUP in 3.1", v3, decoder_role::any, "AA 05 0001 0001 'a'"},
        {"user property in PUBLISH (allowed, unlike session expiry)", v5, decoder_role::any,
         "30 0B 0001 't' 07 26 0001 'a' 0001 'b'"},
        {"session expiry in a client's DISCONNECT", v5, decoder_role::server,
         "E0 07 00 05 11 00000001"},
    };
    for (const auto& g : goods) {
        INFO("case: " << g.name);
        auto r = decode_packet(wire(g.bytes), g.version, g.role);
        INFO("error: " << r.error.detail);
        CHECK(r.pkt.has_value());
    }
}

TEST_CASE("decode errors say what to send before closing", "[mqtt][malformed]") {
    struct response_case {
        const char* name;
        std::optional<protocol_version> version;
        const char* bytes;
        reason_code code;
        error_response response;
    };
    constexpr auto close = error_response::close;
    constexpr auto connack = error_response::connack;
    constexpr auto disconnect = error_response::disconnect;
    const response_case responses[] = {
        // Before 5.0 a bad CONNECT is closed without a CONNACK [MQTT-3.1.4-1]...
        {"3.1.1 CONNECT reserved flag", first, "10 0D 0004 'MQTT' 04 03 003C 0001 'c'", malformed,
         close},
        {"3.1.1 will QoS 3", first, "10 12 0004 'MQTT' 04 1E 003C 0001 'c' 0001 'w' 0000",
         malformed, close},
        {"3.1.1 will retain without will flag", first, "10 0D 0004 'MQTT' 04 22 003C 0001 'c'",
         malformed, close},
        {"3.1.1 password without user name", first,
         "10 10 0004 'MQTT' 04 42 003C 0001 'c' 0001 'p'", malformed, close},
        {"3.1 will QoS without will flag", first, "10 0F 0006 'MQIsdp' 03 0A 003C 0001 'c'",
         malformed, close},
        // ...except for the two failures 3.1.1 has a return code for.
        {"3.1.1 empty client id keeping the session", first, "10 0C 0004 'MQTT' 04 00 003C 0000",
         reason_code::client_identifier_not_valid, connack},
        {"3.1 empty client id", first, "10 0E 0006 'MQIsdp' 03 02 003C 0000",
         reason_code::client_identifier_not_valid, connack},
        {"protocol level 6", first, "10 0D 0004 'MQTT' 06 02 003C 0001 'c'",
         reason_code::unsupported_protocol_version, connack},
        // 5.0 answers a bad CONNECT with a CONNACK carrying the reason code.
        {"5.0 CONNECT reserved flag", first, "10 0E 0004 'MQTT' 05 03 003C 00 0001 'c'", malformed,
         connack},
        {"5.0 property not allowed in CONNECT", first,
         "10 11 0004 'MQTT' 05 02 003C 03 23 0001 0001 'c'", malformed, connack},
        // A CONNECT whose level cannot be read, or a first packet that is not CONNECT.
        {"CONNECT flags 0001", first, "11 0D 0004 'MQTT' 04 02 003C 0001 'c'", malformed, close},
        {"truncated protocol name", first, "10 03 0004 'M'", malformed, close},
        {"first packet is not CONNECT", first, "C0 00", protocol, close},
        // Later packets: DISCONNECT at 5.0, a plain close before.
        {"5.0 PUBLISH with session expiry", v5, "30 09 0001 't' 05 11 00000001", malformed,
         disconnect},
        {"5.0 second CONNECT", v5, "10 0E 0004 'MQTT' 05 02 003C 00 0001 'c'", protocol,
         disconnect},
        {"3.1.1 invalid topic filter", v4, "82 07 0001 0002 'a+' 00", malformed, close},
        {"3.1.1 second CONNECT", v4, "10 0D 0004 'MQTT' 04 02 003C 0001 'c'", protocol, close},
    };
    for (const auto& c : responses) {
        INFO("case: " << c.name);
        const auto bytes = wire(c.bytes);
        auto whole = decode_packet(bytes, c.version, decoder_role::server);
        INFO("got 0x" << std::hex << int(whole.error.code) << " (" << whole.error.detail << ")");
        REQUIRE_FALSE(whole.pkt);
        CHECK(whole.error.code == c.code);
        CHECK(whole.error.response == c.response);

        stream_decoder d({decoder_role::server, 268'435'460, c.version});
        d.feed(bytes);
        packet out;
        REQUIRE(d.next(out) == decode_status::error);
        CHECK(d.error().code == c.code);
        CHECK(d.error().response == c.response);
    }
}

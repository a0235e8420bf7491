// The malformed corpus: each case is one packet written by hand with the reason code the
// receiver must send for it. Cases are decoded whole (decode_packet) and through the streaming
// decoder fed one byte at a time, which must agree.
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
constexpr std::optional<protocol_version> v4 = protocol_version::v3_1_1;
constexpr std::optional<protocol_version> v5 = protocol_version::v5;

struct bad_case {
    const char* name;
    std::optional<protocol_version> version;
    decoder_role role;
    const char* bytes;
    reason_code expected;
};

const bad_case cases[] = {
    // Fixed header.
    {"remaining length over 4 bytes", v5, decoder_role::any, "30 FF FF FF FF 01", malformed},
    {"remaining length not minimal", v5, decoder_role::any, "C0 80 00", malformed},
    {"reserved packet type 0", v5, decoder_role::any, "00 00", malformed},
    {"AUTH in 3.1.1", v4, decoder_role::any, "F0 00", malformed},
    {"PUBLISH QoS 3", v5, decoder_role::any, "36 04 0001 't' 00", malformed},
    {"PUBLISH QoS 3 in 3.1.1", v4, decoder_role::any, "36 03 0001 't'", malformed},
    {"DUP on a QoS 0 PUBLISH in 5.0", v5, decoder_role::any, "38 04 0001 't' 00", malformed},
    {"SUBSCRIBE flags 0000", v4, decoder_role::any, "80 06 0001 0001 'a' 00", malformed},
    {"SUBSCRIBE flags 0011", v4, decoder_role::any, "83 06 0001 0001 'a' 00", malformed},
    {"UNSUBSCRIBE flags 0000", v4, decoder_role::any, "A0 05 0001 0001 'a'", malformed},
    {"PUBREL flags 0000", v4, decoder_role::any, "60 02 0001", malformed},
    {"PUBACK flags 0010", v4, decoder_role::any, "42 02 0001", malformed},
    {"PINGREQ flags 0001", v4, decoder_role::any, "C1 00", malformed},
    {"CONNECT flags 0001", first, decoder_role::any, "11 0D 0004 'MQTT' 04 02 003C 0001 'c'",
     malformed},
    {"DISCONNECT flags 1000 in 5.0", v5, decoder_role::any, "E8 00", malformed},

    // Truncated fields and trailing bytes.
    {"truncated protocol name", first, decoder_role::any, "10 03 0004 'M'", malformed},
    {"truncated keep alive", first, decoder_role::any, "10 09 0004 'MQTT' 04 02 00", malformed},
    {"client id longer than the packet", first, decoder_role::any,
     "10 0D 0004 'MQTT' 04 02 003C 0005 'c'", malformed},
    {"truncated packet id", v4, decoder_role::any, "32 04 0001 't' 00", malformed},
    {"truncated topic", v4, decoder_role::any, "30 02 0005", malformed},
    {"PUBACK too short in 3.1.1", v4, decoder_role::any, "40 01 00", malformed},
    {"PUBACK too long in 3.1.1", v4, decoder_role::any, "40 03 0001 00", malformed},
    {"PINGREQ with a body", v5, decoder_role::any, "C0 01 00", malformed},
    {"DISCONNECT with a body in 3.1.1", v4, decoder_role::any, "E0 01 00", malformed},
    {"CONNACK of 3 bytes in 3.1.1", v4, decoder_role::any, "20 03 00 00 00", malformed},
    {"CONNECT with a trailing byte", first, decoder_role::any,
     "10 0E 0004 'MQTT' 04 02 003C 0001 'c' 00", malformed},
    {"PUBACK with bytes after its properties", v5, decoder_role::any, "40 05 0001 00 00 FF",
     malformed},
    {"DISCONNECT with bytes after its properties", v5, decoder_role::any, "E0 03 00 00 FF",
     malformed},
    {"property length beyond the packet", v5, decoder_role::any, "40 05 0001 80 09 1F", malformed},
    {"property value beyond its length", v5, decoder_role::any, "40 06 0001 80 02 1F 00",
     malformed},
    {"variable byte integer property over 4 bytes", v5, decoder_role::any,
     "82 0D 0001 06 0B FF FF FF FF 7F 0001 'a' 00", malformed},
    {"SUBSCRIBE missing its options byte", v4, decoder_role::any, "82 05 0001 0001 'a'", malformed},
    {"UNSUBACK with reason codes in 3.1.1", v4, decoder_role::any, "B0 03 0001 00", malformed},

    // CONNECT.
    {"CONNECT reserved flag", first, decoder_role::any, "10 0D 0004 'MQTT' 04 03 003C 0001 'c'",
     malformed},
    {"will QoS without will flag", first, decoder_role::any,
     "10 0D 0004 'MQTT' 04 0A 003C 0001 'c'", malformed},
    {"will retain without will flag", first, decoder_role::any,
     "10 0D 0004 'MQTT' 04 22 003C 0001 'c'", malformed},
    {"will QoS 3", first, decoder_role::any, "10 12 0004 'MQTT' 04 1E 003C 0001 'c' 0001 'w' 0000",
     malformed},
    {"password without user name in 3.1.1", first, decoder_role::any,
     "10 10 0004 'MQTT' 04 42 003C 0001 'c' 0001 'p'", malformed},
    {"will topic with a wildcard", first, decoder_role::any,
     "10 12 0004 'MQTT' 04 06 003C 0001 'c' 0001 '#' 0000", malformed},
    {"protocol level 6", first, decoder_role::any, "10 0D 0004 'MQTT' 06 02 003C 0001 'c'",
     reason_code::unsupported_protocol_version},
    {"protocol name MQTX", first, decoder_role::any, "10 0D 0004 'MQTX' 04 02 003C 0001 'c'",
     reason_code::unsupported_protocol_version},
    {"level 3 with name MQTT", first, decoder_role::any, "10 0D 0004 'MQTT' 03 02 003C 0001 'c'",
     reason_code::unsupported_protocol_version},
    {"empty client id keeping the session in 3.1.1", first, decoder_role::any,
     "10 0C 0004 'MQTT' 04 00 003C 0000", reason_code::client_identifier_not_valid},
    {"empty client id in 3.1", first, decoder_role::any, "10 0E 0006 'MQIsdp' 03 02 003C 0000",
     reason_code::client_identifier_not_valid},
    {"bad UTF-8 in the client id", first, decoder_role::any,
     "10 0E 0004 'MQTT' 04 02 003C 0002 C080", malformed},
    {"first packet is not CONNECT", first, decoder_role::server, "C0 00", protocol},
    {"second CONNECT", v4, decoder_role::server, "10 0D 0004 'MQTT' 04 02 003C 0001 'c'", protocol},

    // UTF-8 in strings.
    {"overlong NUL in a topic", v4, decoder_role::any, "30 04 0002 C080", malformed},
    {"U+0000 in a topic", v4, decoder_role::any, "30 05 0003 'a' 00 'b'", malformed},
    {"surrogate in a topic", v5, decoder_role::any, "30 06 0003 EDA080 00", malformed},
    {"bad UTF-8 in a user property", v5, decoder_role::any, "40 0A 0001 00 06 26 0001 FF 0000",
     malformed},
    {"bad UTF-8 in a topic filter", v4, decoder_role::any, "82 06 0001 0001 FE 00", malformed},
    {"bad UTF-8 in a reason string", v5, decoder_role::any, "E0 06 00 04 1F 0001 C3", malformed},

    // PUBLISH.
    {"wildcard + in a PUBLISH topic", v4, decoder_role::any, "30 05 0003 'a/+'", malformed},
    {"wildcard # in a PUBLISH topic", v5, decoder_role::any, "30 04 0001 '#' 00", malformed},
    {"empty topic without alias in 5.0", v5, decoder_role::any, "30 03 0000 00", protocol},
    {"empty topic in 3.1.1", v4, decoder_role::any, "30 02 0000", protocol},
    {"QoS 1 PUBLISH with packet id 0", v4, decoder_role::any, "32 05 0001 't' 0000", protocol},
    {"subscription identifier from a client", v5, decoder_role::server, "30 06 0001 't' 02 0B 01",
     protocol},
    {"topic alias 0", v5, decoder_role::any, "30 07 0001 't' 03 23 0000",
     reason_code::topic_alias_invalid},

    // Properties.
    {"duplicate property", first, decoder_role::any,
     "10 18 0004 'MQTT' 05 02 003C 0A 11 00000001 11 00000002 0001 'c'", protocol},
    {"duplicate reason string", v5, decoder_role::any, "40 0C 0001 00 08 1F 0001 'a' 1F 0001 'b'",
     protocol},
    {"property not allowed in CONNECT", first, decoder_role::any,
     "10 11 0004 'MQTT' 05 02 003C 03 23 0001 0001 'c'", protocol},
    {"property not allowed in PUBACK", v5, decoder_role::any, "40 07 0001 00 03 21 0001", protocol},
    {"will delay interval outside the will", first, decoder_role::any,
     "10 13 0004 'MQTT' 05 02 003C 05 18 00000001 0001 'c'", protocol},
    {"session expiry in will properties", first, decoder_role::any,
     "10 19 0004 'MQTT' 05 06 003C 00 0001 'c' 05 11 00000001 0001 'w' 0000", protocol},
    {"unknown property identifier", v5, decoder_role::any, "40 06 0001 00 02 05 00", malformed},
    {"receive maximum 0", first, decoder_role::any,
     "10 11 0004 'MQTT' 05 02 003C 03 21 0000 0001 'c'", protocol},
    {"maximum packet size 0", first, decoder_role::any,
     "10 13 0004 'MQTT' 05 02 003C 05 27 00000000 0001 'c'", protocol},
    {"request problem information 2", first, decoder_role::any,
     "10 10 0004 'MQTT' 05 02 003C 02 17 02 0001 'c'", protocol},
    {"request response information 2", first, decoder_role::any,
     "10 10 0004 'MQTT' 05 02 003C 02 19 02 0001 'c'", protocol},
    {"payload format indicator 2", v5, decoder_role::any, "30 06 0001 't' 02 01 02", protocol},
    {"maximum QoS 2", v5, decoder_role::any, "20 05 00 00 02 24 02", protocol},
    {"retain available 2", v5, decoder_role::any, "20 05 00 00 02 25 02", protocol},
    {"wildcard subscription available 2", v5, decoder_role::any, "20 05 00 00 02 28 02", protocol},
    {"subscription identifier 0", v5, decoder_role::any, "82 09 0001 02 0B 00 0001 'a' 00",
     protocol},
    {"two subscription identifiers in SUBSCRIBE", v5, decoder_role::any,
     "82 0B 0001 04 0B 01 0B 02 0001 'a' 00", protocol},
    {"authentication data without method", first, decoder_role::any,
     "10 12 0004 'MQTT' 05 02 003C 04 16 0001 'x' 0001 'c'", protocol},
    {"session expiry in a server's DISCONNECT", v5, decoder_role::client, "E0 07 00 05 11 00000001",
     protocol},

    // Reason codes.
    {"PUBACK reason 0x04", v5, decoder_role::any, "40 03 0001 04", protocol},
    {"PUBREL reason 0x80", v5, decoder_role::any, "62 03 0001 80", protocol},
    {"DISCONNECT reason 0x84", v5, decoder_role::any, "E0 01 84", protocol},
    {"AUTH reason 0x80", v5, decoder_role::any, "F0 01 80", protocol},
    {"CONNACK reason 0x8E", v5, decoder_role::any, "20 03 00 8E 00", protocol},
    {"CONNACK return code 6 in 3.1.1", v4, decoder_role::any, "20 02 00 06", protocol},
    {"CONNACK reserved flags", v4, decoder_role::any, "20 02 02 00", malformed},
    {"session present with a refusal", v5, decoder_role::any, "20 03 01 87 00", protocol},
    {"SUBACK code 0x03 in 3.1.1", v4, decoder_role::any, "90 03 0001 03", protocol},
    {"SUBACK code 0x11 in 5.0", v5, decoder_role::any, "90 04 0001 00 11", protocol},
    {"UNSUBACK code 0x01 in 5.0", v5, decoder_role::any, "B0 04 0001 00 01", protocol},
    {"unknown reason code 0xFF", v5, decoder_role::any, "E0 01 FF", protocol},

    // SUBSCRIBE / UNSUBSCRIBE and their acknowledgements.
    {"SUBSCRIBE with packet id 0", v4, decoder_role::any, "82 06 0000 0001 'a' 00", protocol},
    {"SUBSCRIBE without subscriptions", v4, decoder_role::any, "82 02 0001", protocol},
    {"SUBSCRIBE without subscriptions in 5.0", v5, decoder_role::any, "82 03 0001 00", protocol},
    {"subscription options reserved bits in 3.1.1", v4, decoder_role::any, "82 06 0001 0001 'a' 04",
     malformed},
    {"subscription options reserved bits in 5.0", v5, decoder_role::any,
     "82 07 0001 00 0001 'a' 40", malformed},
    {"subscription QoS 3", v5, decoder_role::any, "82 07 0001 00 0001 'a' 03", malformed},
    {"retain handling 3", v5, decoder_role::any, "82 07 0001 00 0001 'a' 30", protocol},
    {"no local on a shared subscription", v5, decoder_role::any,
     "82 10 0001 00 000A '$share/g/a' 04", protocol},
    {"UNSUBSCRIBE with packet id 0", v4, decoder_role::any, "A2 05 0000 0001 'a'", protocol},
    {"UNSUBSCRIBE without filters", v5, decoder_role::any, "A2 03 0001 00", protocol},
    {"PUBACK with packet id 0", v4, decoder_role::any, "40 02 0000", protocol},
    {"PUBREL with packet id 0", v5, decoder_role::any, "62 02 0000", protocol},
    {"SUBACK without reason codes", v4, decoder_role::any, "90 02 0001", protocol},
    {"UNSUBACK without reason codes in 5.0", v5, decoder_role::any, "B0 03 0001 00", protocol},

    // Direction.
    {"CONNACK sent to a server", v4, decoder_role::server, "20 02 00 00", protocol},
    {"SUBACK sent to a server", v4, decoder_role::server, "90 03 0001 00", protocol},
    {"PINGRESP sent to a server", v4, decoder_role::server, "D0 00", protocol},
    {"SUBSCRIBE sent to a client", v4, decoder_role::client, "82 06 0001 0001 'a' 00", protocol},
    {"PINGREQ sent to a client", v4, decoder_role::client, "C0 00", protocol},
    {"CONNECT sent to a client", v4, decoder_role::client, "10 0D 0004 'MQTT' 04 02 003C 0001 'c'",
     protocol},
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
        CHECK_FALSE(whole.error.detail.empty());

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
        {"invalid filter wildcards are left to the SUBACK", v4, decoder_role::any,
         "82 07 0001 0002 'a#' 00"},
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

#include <catch2/catch.hpp>

#include "mqtt/properties.hpp"
#include "mqtt/reason_code.hpp"

using namespace sluice::mqtt;

TEST_CASE("reason codes: the spec's table of which packet may carry which", "[mqtt][reason]") {
    // Table 2-6 of the 5.0 spec, spot-checked across every packet that has reason codes.
    CHECK(reason_code_allowed(packet_type::connack, reason_code::success));
    CHECK(reason_code_allowed(packet_type::connack, reason_code::banned));
    CHECK_FALSE(reason_code_allowed(packet_type::connack, reason_code::session_taken_over));
    CHECK(reason_code_allowed(packet_type::puback, reason_code::no_matching_subscribers));
    CHECK(reason_code_allowed(packet_type::pubrec, reason_code::payload_format_invalid));
    CHECK_FALSE(reason_code_allowed(packet_type::puback, reason_code::packet_identifier_not_found));
    CHECK(reason_code_allowed(packet_type::pubrel, reason_code::packet_identifier_not_found));
    CHECK(reason_code_allowed(packet_type::pubcomp, reason_code::packet_identifier_not_found));
    CHECK_FALSE(reason_code_allowed(packet_type::pubrel, reason_code::unspecified_error));
    CHECK(reason_code_allowed(packet_type::suback, reason_code::granted_qos_2));
    CHECK(reason_code_allowed(packet_type::suback,
                              reason_code::wildcard_subscriptions_not_supported));
    CHECK_FALSE(reason_code_allowed(packet_type::suback, reason_code::no_subscription_existed));
    CHECK(reason_code_allowed(packet_type::unsuback, reason_code::no_subscription_existed));
    CHECK_FALSE(reason_code_allowed(packet_type::unsuback, reason_code::granted_qos_1));
    CHECK(reason_code_allowed(packet_type::disconnect, reason_code::disconnect_with_will_message));
    CHECK(reason_code_allowed(packet_type::disconnect, reason_code::keep_alive_timeout));
    CHECK_FALSE(
        reason_code_allowed(packet_type::disconnect, reason_code::unsupported_protocol_version));
    CHECK(reason_code_allowed(packet_type::auth, reason_code::continue_authentication));
    CHECK(reason_code_allowed(packet_type::auth, reason_code::re_authenticate));
    CHECK_FALSE(reason_code_allowed(packet_type::auth, reason_code::unspecified_error));
    CHECK_FALSE(reason_code_allowed(packet_type::publish, reason_code::success));
}

TEST_CASE("reason codes: every defined value is known, gaps are not", "[mqtt][reason]") {
    int known = 0;
    for (int v = 0; v < 256; ++v) {
        if (is_known_reason_code(static_cast<std::uint8_t>(v))) ++known;
    }
    // 0x00 0x01 0x02 0x04 0x10 0x11 0x18 0x19 and 0x80..0xA2.
    CHECK(known == 8 + 35);
    CHECK_FALSE(is_known_reason_code(0x03));
    CHECK_FALSE(is_known_reason_code(0xA3));
    CHECK(to_string(reason_code::malformed_packet) == "malformed packet");
    CHECK(is_error(reason_code::unspecified_error));
    CHECK_FALSE(is_error(reason_code::granted_qos_2));
}

TEST_CASE("reason codes: 3.1.1 CONNACK return codes map both ways", "[mqtt][reason]") {
    for (std::uint8_t rc = 0; rc <= 5; ++rc) {
        auto mapped = reason_code_from_connack_v3(rc);
        REQUIRE(mapped);
        CHECK(connack_return_code_v3(*mapped) == rc);
    }
    CHECK_FALSE(reason_code_from_connack_v3(6));
    CHECK(connack_return_code_v3(reason_code::banned) == 5);
    CHECK(connack_return_code_v3(reason_code::server_busy) == 3);
}

TEST_CASE("properties: the spec's table of which packet may carry which", "[mqtt][properties]") {
    CHECK(property_allowed(property_id::topic_alias, packet_type::publish));
    CHECK_FALSE(property_allowed(property_id::topic_alias, packet_type::connect));
    CHECK(property_allowed(property_id::subscription_identifier, packet_type::subscribe));
    CHECK_FALSE(property_allowed(property_id::subscription_identifier, packet_type::unsubscribe));
    CHECK(property_allowed(property_id::reason_string, packet_type::auth));
    CHECK_FALSE(property_allowed(property_id::reason_string, packet_type::connect));
    CHECK(property_allowed(property_id::server_reference, packet_type::disconnect));
    CHECK_FALSE(property_allowed(property_id::user_property, packet_type::pingreq));
    CHECK(property_allowed_in_will(property_id::will_delay_interval));
    CHECK(property_allowed_in_will(property_id::content_type));
    CHECK_FALSE(property_allowed_in_will(property_id::session_expiry_interval));
    CHECK_FALSE(property_allowed(property_id::will_delay_interval, packet_type::connect));
}

TEST_CASE("packet types: names for logs", "[mqtt][reason]") {
    CHECK(to_string(packet_type::publish) == "PUBLISH");
    CHECK(to_string(packet_type::auth) == "AUTH");
    CHECK(to_string(static_cast<packet_type>(0)) == "RESERVED");
}

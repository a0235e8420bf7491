#include <catch2/catch.hpp>

#include "mqtt/decoder.hpp"
#include "mqtt/encoder.hpp"
#include "mqtt/publish_encoder.hpp"
#include "tests/mqtt/wire_text.hpp"

using namespace sluice::mqtt;
using namespace sluice::mqtt::test;

namespace {

publish message() {
    publish m;
    m.topic = "sensors/1";
    m.qos_level = qos::exactly_once;  // the message's own QoS: ignored by publish_encoder
    m.packet_id = 99;
    m.props.content_type = "text/plain";
    m.props.message_expiry_interval = 30;
    m.props.user_properties = {{"k", "v"}};
    m.props.topic_alias = 9;                    // per subscriber: ignored
    m.props.subscription_identifiers = {1, 2};  // per subscriber: ignored
    m.payload = shared_bytes(std::string_view("the payload"));
    return m;
}

// The PUBLISH a subscriber should get, built field by field for the generic encoder.
publish expected_for(const publish& m, const publish_delivery& d, protocol_version v) {
    publish p = m;
    p.qos_level = d.qos_level;
    p.packet_id = d.qos_level == qos::at_most_once ? 0 : d.packet_id;
    p.dup = d.dup;
    p.retain = d.retain;
    p.props.topic_alias = d.topic_alias;
    p.props.subscription_identifiers.assign(d.subscription_identifiers.begin(),
                                            d.subscription_identifiers.end());
    if (!d.send_topic) p.topic.clear();
    if (v != protocol_version::v5) p.props = {};
    return p;
}

}  // namespace

TEST_CASE("publish_encoder: per-subscriber encodings match the generic encoder",
          "[mqtt][publish_encoder]") {
    const publish m = message();
    const std::uint32_t ids_a[] = {5};
    const std::uint32_t ids_b[] = {128, 16'384, 268'435'455};
    std::vector<publish_delivery> deliveries = {
        {qos::at_most_once, 0, false, false, std::nullopt, true, {}},
        {qos::at_least_once, 1, false, true, std::nullopt, true, ids_a},
        {qos::exactly_once, 65535, true, false, std::uint16_t{4}, true, ids_b},
        {qos::at_least_once, 7, false, false, std::uint16_t{4}, false, {}},
    };
    for (auto v : {protocol_version::v3_1_1, protocol_version::v5}) {
        const publish_encoder enc(m, v);
        for (const auto& d : deliveries) {
            if (v != protocol_version::v5 && !d.send_topic) continue;  // aliases are 5.0 only
            INFO("level " << int(v) << " qos " << int(d.qos_level));
            std::vector<std::uint8_t> fast;
            REQUIRE(enc.encode(d, fast));
            // Property order may differ from the generic encoder's, so compare decoded packets.
            auto decoded = decode_packet(fast, v, decoder_role::client);
            REQUIRE(decoded.pkt);
            CHECK(std::get<publish>(*decoded.pkt) == expected_for(m, d, v));
            CHECK(enc.packet_size(d) == fast.size());

            std::vector<std::uint8_t> header;
            REQUIRE(enc.encode_header(d, header));
            CHECK(header.size() + enc.payload().size() == fast.size());
            CHECK(std::equal(header.begin(), header.end(), fast.begin()));
        }
    }
}

TEST_CASE("publish_encoder: the payload is shared, not copied", "[mqtt][publish_encoder]") {
    const publish m = message();
    const publish_encoder enc(m, protocol_version::v5);
    CHECK(enc.payload().data() == m.payload.data());
}

TEST_CASE("publish_encoder: a hand-written 5.0 vector", "[mqtt][publish_encoder]") {
    publish m;
    m.topic = "a/b";
    m.props.user_properties = {{"k", "v"}};
    m.payload = shared_bytes(std::string_view("hi"));
    const std::uint32_t ids[] = {3};
    publish_delivery d{qos::at_least_once, 0x0102, false, true, std::uint16_t{5}, true, ids};
    std::vector<std::uint8_t> out;
    REQUIRE(publish_encoder(m, protocol_version::v5).encode(d, out));
    CHECK(hex(out) == hex(wire("33 16"                 // PUBLISH QoS 1 retain, length 22
                               "0003 'a/b'"            // topic
                               "0102"                  // packet id
                               "0C"                    // properties: 12 bytes
                               "26 0001 'k' 0001 'v'"  //   the message's user property
                               "23 0005"               //   this subscriber's topic alias
                               "0B 03"                 //   this subscriber's subscription id
                               "'hi'")));
}

TEST_CASE("publish_encoder: unrepresentable deliveries are refused", "[mqtt][publish_encoder]") {
    publish m = message();
    const publish_encoder enc(m, protocol_version::v5);
    const std::uint32_t zero[] = {0};
    std::vector<std::uint8_t> out;
    CHECK_FALSE(enc.encode({qos::at_most_once, 0, false, false, std::nullopt, true, zero}, out));
    CHECK(out.empty());
    m.topic = std::string(70'000, 't');
    CHECK_FALSE(publish_encoder(m, protocol_version::v3_1_1).encode({}, out));
    CHECK(out.empty());
}

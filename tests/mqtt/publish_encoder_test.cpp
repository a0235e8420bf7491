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

TEST_CASE("publish_encoder: headers gathered with the shared payload make the packets",
          "[mqtt][publish_encoder]") {
    // What a sender that does not copy payloads does: every subscriber's header goes into one
    // byte buffer, and the write gathers [header 1, payload, header 2, payload, ...].
    const publish m = message();
    const std::uint32_t ids[] = {42};
    const std::vector<publish_delivery> deliveries = {
        {qos::at_most_once, 0, false, false, std::nullopt, true, {}},
        {qos::at_least_once, 1, false, true, std::uint16_t{3}, true, ids},
        {qos::exactly_once, 2, true, false, std::uint16_t{3}, false, {}},
    };
    for (auto v : {protocol_version::v3_1_1, protocol_version::v5}) {
        INFO("level " << int(v));
        const publish_encoder enc(m, v);
        std::vector<std::uint8_t> headers = {0xEE};  // what the buffer already held stays
        std::vector<std::size_t> ends;
        std::vector<shared_bytes> payloads;
        for (const auto& d : deliveries) {
            if (v != protocol_version::v5 && !d.send_topic) continue;
            const std::size_t before = headers.size();
            REQUIRE(enc.encode_header(d, headers));
            CHECK(headers.size() - before == enc.header_size(d));
            CHECK(enc.header_size(d) + enc.payload().size() == enc.packet_size(d));
            ends.push_back(headers.size());
            payloads.push_back(enc.payload());  // a reference, not a copy of the bytes
            CHECK(payloads.back().data() == m.payload.data());
        }
        CHECK(headers.front() == 0xEE);
        // The gathered stream, as writev would send it.
        std::vector<std::uint8_t> stream;
        std::size_t from = 1;
        for (std::size_t i = 0; i < ends.size(); ++i) {
            stream.insert(stream.end(), headers.begin() + static_cast<std::ptrdiff_t>(from),
                          headers.begin() + static_cast<std::ptrdiff_t>(ends[i]));
            stream.insert(stream.end(), payloads[i].data(),
                          payloads[i].data() + payloads[i].size());
            from = ends[i];
        }
        stream_decoder dec({decoder_role::client, 268'435'460, v});
        dec.feed(stream);
        std::size_t i = 0;
        for (const auto& d : deliveries) {
            if (v != protocol_version::v5 && !d.send_topic) continue;
            packet p;
            REQUIRE(dec.next(p) == decode_status::packet);
            CHECK(std::get<publish>(p) == expected_for(m, d, v));
            ++i;
        }
        CHECK(i == ends.size());
        packet rest;
        CHECK(dec.next(rest) == decode_status::need_more);
    }
}

TEST_CASE("publish_encoder: the payload outlives the encoder and the message",
          "[mqtt][publish_encoder]") {
    shared_bytes kept;
    std::vector<std::uint8_t> header;
    {
        publish m;
        m.topic = "t";
        m.payload = shared_bytes(std::string_view("survives"));
        const publish_encoder enc(m, protocol_version::v5);
        REQUIRE(enc.encode_header({}, header));
        kept = enc.payload();
    }
    // The encoder (a per-delivery one, when the expiry interval counted down) and the message
    // are gone; the write still has its payload.
    CHECK(kept.view() == "survives");
    CHECK(hex(header) == hex(wire("30 0C 0001 't' 00")));
}

TEST_CASE("publish_encoder: an empty payload", "[mqtt][publish_encoder]") {
    publish m;
    m.topic = "t";
    const publish_encoder enc(m, protocol_version::v3_1_1);
    std::vector<std::uint8_t> header;
    REQUIRE(
        enc.encode_header({qos::at_least_once, 5, false, false, std::nullopt, true, {}}, header));
    CHECK(hex(header) == hex(wire("32 05 0001 't' 0005")));
    CHECK(enc.payload().empty());
}

TEST_CASE("publish_encoder: appending many headers to one buffer grows it geometrically",
          "[mqtt][publish_encoder]") {
    // A connection appends every subscriber's header to one buffer; growing it to the exact
    // size on each call would copy the whole buffer per header (quadratic).
    const publish m = message();
    const publish_encoder enc(m, protocol_version::v5);
    std::vector<std::uint8_t> out;
    std::size_t reallocations = 0;
    for (std::uint16_t id = 1; id <= 10'000; ++id) {
        const std::size_t capacity = out.capacity();
        REQUIRE(
            enc.encode_header({qos::at_least_once, id, false, false, std::nullopt, true, {}}, out));
        reallocations += out.capacity() != capacity;
    }
    CHECK(reallocations < 40);
}

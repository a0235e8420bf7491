#include <catch2/catch.hpp>

#include "mqtt/decoder.hpp"
#include "mqtt/encoder.hpp"
#include "tests/mqtt/samples.hpp"
#include "tests/mqtt/wire_text.hpp"

using namespace sluice::mqtt;
using namespace sluice::mqtt::test;

namespace {

packet decode_whole(const std::vector<std::uint8_t>& bytes, protocol_version v) {
    // CONNECT is decoded before the level is known: it sets it.
    const bool is_connect = !bytes.empty() && (bytes[0] >> 4) == 1;
    auto r = decode_packet(bytes, is_connect ? std::nullopt : std::optional(v), decoder_role::any);
    INFO("bytes: " << hex(bytes) << " error: " << r.error.detail);
    REQUIRE(r.pkt);
    return *r.pkt;
}

}  // namespace

TEST_CASE("round trip: every packet type at its own level decodes to itself", "[mqtt][round]") {
    for (auto v : {protocol_version::v3_1, protocol_version::v3_1_1, protocol_version::v5}) {
        for (const packet& p : sample_packets(v)) {
            INFO("level " << int(v) << " packet type " << int(type_of(p)));
            std::vector<std::uint8_t> bytes;
            REQUIRE(encode(p, v, bytes));
            CHECK(encoded_size(p, v) == bytes.size());
            CHECK(decode_whole(bytes, v) == p);
        }
    }
}

TEST_CASE("round trip: 5.0-only fields are dropped at 3.1.1, and the result is stable",
          "[mqtt][round]") {
    for (const packet& p : sample_packets(protocol_version::v5)) {
        if (type_of(p) == packet_type::auth) continue;  // AUTH has no 3.1.1 form
        packet at_v4 = p;
        if (auto* c = std::get_if<connect>(&at_v4)) c->version = protocol_version::v3_1_1;
        INFO("packet type " << int(type_of(p)));
        std::vector<std::uint8_t> once;
        REQUIRE(encode(at_v4, protocol_version::v3_1_1, once));
        const packet decoded = decode_whole(once, protocol_version::v3_1_1);
        std::vector<std::uint8_t> twice;
        REQUIRE(encode(decoded, protocol_version::v3_1_1, twice));
        CHECK(hex(once) == hex(twice));
        std::visit(
            [](const auto& x) {
                if constexpr (requires { x.props; }) CHECK(x.props.empty());
            },
            decoded);
    }
}

TEST_CASE("round trip: large remaining lengths use 3 and 4 byte encodings", "[mqtt][round]") {
    for (std::size_t size : {127u, 128u, 16'383u, 16'384u, 2'097'151u, 2'097'152u}) {
        publish p;
        p.topic = "t";
        // Remaining length = 2 + 1 ("t") + 1 (empty property length) + payload = size.
        p.payload = shared_bytes(std::vector<std::uint8_t>(size - 4, 'x'));
        std::vector<std::uint8_t> bytes;
        REQUIRE(encode(p, protocol_version::v5, bytes));
        const std::size_t length_bytes = size < 128         ? 1
                                         : size < 16'384    ? 2
                                         : size < 2'097'152 ? 3
                                                            : 4;
        CHECK(bytes.size() == 1 + length_bytes + size);
        CHECK(decode_whole(bytes, protocol_version::v5) == packet(p));
    }
}

TEST_CASE("round trip: unrepresentable packets are refused without touching the buffer",
          "[mqtt][round]") {
    std::vector<std::uint8_t> out{9};
    publish long_topic;
    long_topic.topic = std::string(65'536, 'a');
    CHECK_FALSE(encode(long_topic, protocol_version::v5, out));
    connect long_prop;
    long_prop.client_id = "c";
    long_prop.props.user_properties = {{std::string(70'000, 'k'), "v"}};
    CHECK_FALSE(encode(long_prop, protocol_version::v5, out));
    CHECK(out == std::vector<std::uint8_t>{9});
    CHECK(encoded_size(long_topic, protocol_version::v5) == 0);
}

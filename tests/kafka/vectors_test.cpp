// Cross-check against kafka-python: every request frame it encodes (kafka_python_vectors.txt,
// made by gen_vectors.py) decodes and encodes back to the same bytes, and so does every
// response body; every truncation of a request is an error.

#include <catch2/catch.hpp>

#include "kafka/api_versions.hpp"
#include "tests/kafka/vectors.hpp"

using namespace sluice::kafka;
using namespace sluice::kafka::test;

TEST_CASE("kafka-python request vectors decode and re-encode byte for byte") {
    auto vectors = load_vectors();
    int requests = 0;
    for (const auto& v : vectors) {
        if (v.kind != "request") continue;
        ++requests;
        INFO("api " << v.key << " v" << v.version);
        dispatch_result d = decode_request(without_prefix(v.bytes));
        CHECK(d.req.header.correlation_id == 0x1234567);
        CHECK(d.req.header.client_id == "vector");
        if (v.key == 0 && v.version < 3) {
            // Advertised for librdkafka's sake, answered with UNSUPPORTED_VERSION.
            REQUIRE(d.action == dispatch_action::respond);
            auto reply = d.reply.flatten();
            produce_response resp;
            REQUIRE_FALSE(decode(byte_span(reply).subspan(8), v.version, resp));
            REQUIRE(resp.topics.size() == 2);
            CHECK(resp.topics[0].partitions[0].error == error_code::unsupported_version);
            produce_request p;
            auto body = byte_span(v.bytes).subspan(4 + 8 + 2 + 6);
            REQUIRE_FALSE(decode(body, v.version, p));
            continue;
        }
        REQUIRE(d.action == dispatch_action::handle);
        CHECK(to_hex(reencode(d.req)) == to_hex(v.bytes));
    }
    CHECK(requests >= 60);
}

TEST_CASE("every truncation of a kafka-python request is an error, never a request") {
    for (const auto& v : load_vectors()) {
        if (v.kind != "request") continue;
        INFO("api " << v.key << " v" << v.version);
        auto frame = without_prefix(v.bytes);
        for (std::size_t n = 0; n < frame.size(); ++n) {
            dispatch_result d = decode_request(frame.first(n));
            REQUIRE(d.action == dispatch_action::close);
        }
        // One byte too many is an error as well.
        byte_buffer longer(frame.begin(), frame.end());
        longer.push_back(0);
        CHECK(decode_request(longer).action != dispatch_action::handle);
    }
}

TEST_CASE("kafka-python response vectors decode and re-encode byte for byte") {
    int responses = 0;
    for (const auto& v : load_vectors()) {
        if (v.kind != "response") continue;
        ++responses;
        INFO("api " << v.key << " v" << v.version);
        auto again = reencode_response(v.key, v.version, v.bytes);
        REQUIRE(again);
        CHECK(to_hex(*again) == to_hex(v.bytes));
        // Truncated responses fail too (the decoder is shared with requests).
        for (std::size_t n = 0; n < v.bytes.size(); n += 3) {
            byte_buffer part(v.bytes.begin(), v.bytes.begin() + static_cast<std::ptrdiff_t>(n));
            CHECK_FALSE(reencode_response(v.key, v.version, part));
        }
    }
    CHECK(responses >= 60);
}

// error_response(): for every API and version, the refusal of a filled request is a response
// of that API and version that decodes back, and carries the error where the API has a place
// for it.

#include <catch2/catch.hpp>

#include "kafka/api_versions.hpp"
#include "kafka/error_response.hpp"
#include "tests/kafka/filler.hpp"
#include "tests/kafka/vectors.hpp"

using namespace sluice::kafka;
using namespace sluice::kafka::test;

TEST_CASE("error responses of every API and version decode as that API's response") {
    int checked = 0;
    for (const auto& api : supported_apis()) {
        for (std::int16_t v = api.advertised_min; v <= api.advertised_max; ++v) {
            INFO(to_string(api.key) << " v" << v);
            request req;
            req.header = {api.key, v, 5, std::nullopt};
            switch (api.key) {
#define SLUICE_KAFKA_CASE(name, k)                                             \
    case api_key::k: {                                                         \
        req.body = filled(static_cast<const name##_request*>(nullptr), v);     \
        response_body body = error_response(req, error_code::not_coordinator); \
        REQUIRE(std::holds_alternative<name##_response>(body));                \
        byte_buffer frame = encode_response(req.header, body).flatten();       \
        name##_response back;                                                  \
        std::size_t header = 8;                                                \
        REQUIRE_FALSE(decode(byte_span(frame).subspan(header), v, back));      \
        writer w;                                                              \
        encode(w, v, back);                                                    \
        CHECK(to_hex(response_frame{w.take_pieces()}.flatten()) ==             \
              to_hex(byte_buffer(frame.begin() + 8, frame.end())));            \
        if (api.key != api_key::metadata || v > 0)                             \
            CHECK(to_hex(frame).find("0010") != std::string::npos);            \
        break;                                                                 \
    }
                SLUICE_KAFKA_APIS(SLUICE_KAFKA_CASE)
#undef SLUICE_KAFKA_CASE
            }
            ++checked;
        }
    }
    CHECK(checked == 95);
}

TEST_CASE("error responses name every requested partition") {
    produce_request p;
    p.topics = {{"a", {{0, std::nullopt}, {3, std::nullopt}}}, {"b", {{1, std::nullopt}}}};
    request req{{api_key::produce, 7, 1, std::nullopt}, p};
    auto body =
        std::get<produce_response>(error_response(req, error_code::topic_authorization_failed));
    REQUIRE(body.topics.size() == 2);
    CHECK(body.topics[0].partitions.size() == 2);
    CHECK(body.topics[0].partitions[1].index == 3);
    CHECK(body.topics[1].partitions[0].error == error_code::topic_authorization_failed);

    fetch_request f;
    f.session_id = 9;
    f.topics = {{"a", {{2, -1, 0, -1, 100}}}};
    request freq{{api_key::fetch, 11, 1, std::nullopt}, f};
    auto fb = std::get<fetch_response>(error_response(freq, error_code::not_leader_or_follower));
    CHECK(fb.error == error_code::not_leader_or_follower);
    CHECK(fb.session_id == 9);
    CHECK(fb.topics.at(0).partitions.at(0).index == 2);
    CHECK(fb.topics[0].partitions[0].records.size() == 0);

    request sasl{{api_key::sasl_handshake, 1, 1, std::nullopt}, sasl_handshake_request{"PLAIN"}};
    auto sb = std::get<sasl_handshake_response>(
        error_response(sasl, error_code::unsupported_sasl_mechanism));
    CHECK(sb.error == error_code::unsupported_sasl_mechanism);
}

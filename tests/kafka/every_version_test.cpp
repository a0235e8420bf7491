// Every request and response of every advertised version, filled with distinct values by
// walking the codec's own field lists: encodes, decodes back to an equal struct, re-encodes
// to the same bytes, and every truncation (and one trailing byte) is an error. This covers
// the versions kafka-python has no classes for (JoinGroup 3-5, OffsetCommit 4-7,
// InitProducerId, ...); their field layout is checked against Kafka's definitions by the
// golden tests and by review.

#include <catch2/catch.hpp>

#include "kafka/api_versions.hpp"
#include "kafka/schema.hpp"
#include "tests/kafka/filler.hpp"
#include "tests/kafka/vectors.hpp"

using namespace sluice::kafka;
using namespace sluice::kafka::test;

namespace {

template <class Request>
void check_request(std::int16_t version, Request (*fill)(std::int16_t)) {
    INFO(to_string(api_key_of<Request>()) << " request v" << version);
    Request m = fill(version);
    byte_buffer frame = encode_request(version, 77, std::optional<std::string>("fill"), m);
    dispatch_result d = decode_request(without_prefix(frame));
    if (d.action == dispatch_action::respond) {  // Produce v0-2: decoded, then refused
        CHECK(api_key_of<Request>() == api_key::produce);
        CHECK(version < 3);
    } else {
        REQUIRE(d.action == dispatch_action::handle);
        REQUIRE(std::holds_alternative<Request>(d.req.body));
        CHECK(std::get<Request>(d.req.body) == m);
        CHECK(to_hex(reencode(d.req)) == to_hex(frame));
    }
    auto f = without_prefix(frame);
    for (std::size_t n = 0; n < f.size(); ++n)
        REQUIRE(decode_request(f.first(n)).action == dispatch_action::close);
    byte_buffer longer(f.begin(), f.end());
    longer.push_back(0);
    CHECK(decode_request(longer).action != dispatch_action::handle);
}

template <class Response>
void check_response(std::int16_t version, Response (*fill)(std::int16_t)) {
    INFO(to_string(api_key_of<Response>()) << " response v" << version);
    Response m = fill(version);
    writer w;
    encode(w, version, m);
    byte_buffer body = response_frame{w.take_pieces()}.flatten();
    Response back;
    REQUIRE_FALSE(decode(body, version, back));
    CHECK(back == m);
    for (std::size_t n = 0; n < body.size(); ++n) {
        Response part;
        REQUIRE(decode(byte_span(body).first(n), version, part));
    }
    body.push_back(0);
    Response extra;
    CHECK(decode(body, version, extra));
}

}  // namespace

TEST_CASE("every advertised version of every API round-trips and its truncations are errors") {
    int checked = 0;
    for (const auto& api : supported_apis()) {
        for (std::int16_t v = api.advertised_min; v <= api.advertised_max; ++v) {
            switch (api.key) {
#define SLUICE_KAFKA_CASE(name, k)                                \
    case api_key::k:                                              \
        check_request<name##_request>(v, [](std::int16_t ver) {   \
            name##_request m;                                     \
            filler f;                                             \
            schema::name##_request(f, m, ver);                    \
            return m;                                             \
        });                                                       \
        check_response<name##_response>(v, [](std::int16_t ver) { \
            name##_response m;                                    \
            filler f;                                             \
            schema::name##_response(f, m, ver);                   \
            return m;                                             \
        });                                                       \
        break;
                SLUICE_KAFKA_APIS(SLUICE_KAFKA_CASE)
#undef SLUICE_KAFKA_CASE
            }
            ++checked;
        }
    }
    CHECK(checked == 95);  // the versions listed in codec.hpp
}

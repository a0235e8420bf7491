// Hand-made golden frames for what kafka-python cannot produce (flexible ApiVersions v3,
// Fetch v7-11, versions its schemas get wrong), dispatch decisions, and the Fetch response
// built from segment file ranges.

#include <catch2/catch.hpp>

#include "kafka/api_versions.hpp"
#include "kafka/codec.hpp"
#include "kafka/dispatch.hpp"
#include "tests/kafka/vectors.hpp"

using namespace sluice::kafka;
using namespace sluice::kafka::test;

namespace {
std::string hex_of(const response_frame& f) {
    return to_hex(f.flatten());
}
byte_buffer frame_of(const std::string& hex_without_prefix) {
    byte_buffer body = from_hex(hex_without_prefix);
    byte_buffer out{0, 0, 0, static_cast<std::uint8_t>(body.size())};
    out.insert(out.end(), body.begin(), body.end());
    return out;
}
}  // namespace

TEST_CASE("ApiVersions v3 request: header v2 with a classic client id, flexible body") {
    // As librdkafka 2.0.2 sends it.
    const std::string hex =
        "00120003"                // key 18, version 3
        "00000001"                // correlation id
        "0006726466616b61"        // client id "rdfaka" (classic string)
        "00"                      // header tags
        "0b6c69627264666b61666b"  // compact "librdfkafk" (10 bytes)
        "06322e302e32"            // compact "2.0.2"
        "00";                     // body tags
    auto d = decode_request(from_hex(hex));
    REQUIRE(d.action == dispatch_action::handle);
    CHECK(d.req.header.client_id == "rdfaka");
    const auto& body = std::get<api_versions_request>(d.req.body);
    CHECK(body.client_software_name == "librdfkafk");
    CHECK(body.client_software_version == "2.0.2");
    CHECK(to_hex(reencode(d.req)) == to_hex(frame_of(hex)));
}

TEST_CASE("ApiVersions v3 response: header v0 (no tags), flexible body") {
    api_versions_response r;
    r.apis = {{0, 0, 7}, {18, 0, 3}};
    r.throttle_time_ms = 5;
    CHECK(hex_of(encode_response(9, 3, r)) ==
          "0000001a"        // size 26
          "00000009"        // correlation id; no header tags
          "0000"            // error
          "03"              // compact array of 2
          "00000000000700"  // Produce 0-7, tags
          "00120000000300"  // ApiVersions 0-3, tags
          "00000005"        // throttle
          "00");            // tags
}

TEST_CASE("ApiVersions v0-2 responses list every API with the advertised ranges") {
    auto body = api_versions_body();
    REQUIRE(body.apis.size() == supported_apis().size());
    auto find = [&](std::int16_t key) {
        for (const auto& a : body.apis)
            if (a.key == key) return a;
        FAIL("api " << key << " missing");
        return api_versions_response::api{};
    };
    CHECK(find(0).min_version == 0);  // Produce from 0 so librdkafka enables LZ4
    CHECK(find(0).max_version == 7);
    CHECK(find(1).min_version == 4);  // Fetch
    CHECK(find(1).max_version == 11);
    CHECK(find(18).max_version == 3);
    auto frame = encode_response(1, 2, body).flatten();
    api_versions_response back;
    REQUIRE_FALSE(decode(byte_span(frame).subspan(8), 2, back));
    CHECK(back == body);
}

TEST_CASE("dispatch: unknown API keys and versions") {
    SECTION("ApiVersions of a newer version gets a v0 body with UNSUPPORTED_VERSION") {
        auto d =
            decode_request(from_hex("001200070000002a0000"
                                    "00"));
        REQUIRE(d.action == dispatch_action::respond);
        auto bytes = d.reply.flatten();
        // Correlation id kept, response header v0, error 35.
        CHECK(to_hex(byte_buffer(bytes.begin() + 4, bytes.begin() + 10)) == "0000002a0023");
        api_versions_response r;
        REQUIRE_FALSE(decode(byte_span(bytes).subspan(8), 0, r));
        CHECK(r.error == error_code::unsupported_version);
        CHECK(r.apis.size() == supported_apis().size());
    }
    SECTION("an unknown key closes the connection") {
        auto d = decode_request(from_hex("0063000000000001ffff"));
        CHECK(d.action == dispatch_action::close);
        CHECK(d.error.code == decode_errc::unknown_api);
        CHECK(d.describe() == "Unknown api 99 v0 correlation 1: unknown api key (api key)");
    }
    SECTION("a version outside the advertised range closes the connection") {
        for (const char* hex :
             {"0001000300000001ffff", "0003000900000001ffff", "0000000800000001ffff"}) {
            auto d = decode_request(from_hex(hex));
            CHECK(d.action == dispatch_action::close);
            CHECK(d.error.code == decode_errc::unsupported_version);
        }
    }
    SECTION("a truncated header closes the connection") {
        auto d = decode_request(from_hex("00000003000000"));
        CHECK(d.action == dispatch_action::close);
        CHECK(d.error.code == decode_errc::truncated);
    }
}

TEST_CASE("Fetch v11 request golden bytes") {
    fetch_request f;
    f.replica_id = -1;
    f.max_wait_ms = 500;
    f.min_bytes = 1;
    f.max_bytes = 52428800;
    f.isolation_level = 1;
    f.session_id = 0;
    f.session_epoch = -1;
    f.topics = {{"t", {{0, 5, 100, -1, 1048576}}}};
    f.forgotten_topics = {{"old", {3}}};
    f.rack_id = "r1";
    auto frame = encode_request(11, 7, std::optional<std::string>("c"), f);
    const std::string expected =
        "0001000b0000000700016"
        "3"
        "ffffffff000001f40000000103200000"
        "01"
        "00000000ffffffff"
        "00000001"
        "000174"
        "00000001"
        "00000000"
        "00000005"
        "0000000000000064"
        "ffffffffffffffff"
        "00100000"
        "00000001"
        "00036f6c64"
        "00000001"
        "00000003"
        "00027231";
    CHECK(to_hex(byte_buffer(frame.begin() + 4, frame.end())) == expected);
    auto d = decode_request(without_prefix(frame));
    REQUIRE(d.action == dispatch_action::handle);
    CHECK(std::get<fetch_request>(d.req.body) == f);
    for (std::int16_t v = 4; v <= 11; ++v) {
        auto fr = encode_request(v, 1, std::nullopt, f);
        auto dv = decode_request(without_prefix(fr));
        REQUIRE(dv.action == dispatch_action::handle);
        CHECK(to_hex(reencode(dv.req)) == to_hex(fr));
    }
}

TEST_CASE("versions kafka-python gets wrong, by hand") {
    SECTION("ListOffsets v4: CurrentLeaderEpoch is int32") {
        list_offsets_request r;
        r.isolation_level = 0;
        r.topics = {{"t", {{2, 9, -1, 1}}}};
        auto frame = encode_request(4, 1, std::nullopt, r);
        CHECK(to_hex(byte_buffer(frame.begin() + 14, frame.end())) ==
              "ffffffff"
              "00"
              "00000001"
              "000174"
              "00000001"
              "00000002"
              "00000009"
              "ffffffffffffffff");
    }
    SECTION("FindCoordinator v1 response starts with ThrottleTimeMs") {
        find_coordinator_response r{7, error_code::none, std::nullopt, 1, "h", 9092};
        CHECK(hex_of(encode_response(3, 1, r)) ==
              "00000017"
              "00000003"
              "00000007"
              "0000"
              "ffff"
              "00000001"
              "000168"
              "00002384");
    }
    SECTION("DescribeGroups v3: AuthorizedOperations inside each group") {
        describe_groups_response r;
        r.groups = {{error_code::none, "g", "Stable", "consumer", "range", {}, 8}};
        auto b = encode_response(1, 3, r).flatten();
        CHECK(to_hex(byte_buffer(b.end() - 8, b.end())) == "0000000000000008");
    }
}

TEST_CASE("Metadata: v0 empty list and v1+ null both mean every topic") {
    auto v0 = decode_request(from_hex("0003000000000001ffff00000000"));
    REQUIRE(v0.action == dispatch_action::handle);
    CHECK_FALSE(std::get<metadata_request>(v0.req.body).topics.has_value());
    auto v1 = decode_request(from_hex("0003000100000001ffffffffffff"));
    REQUIRE(v1.action == dispatch_action::handle);
    CHECK_FALSE(std::get<metadata_request>(v1.req.body).topics.has_value());
    auto v1_none = decode_request(from_hex("0003000100000001ffff00000000"));
    CHECK(std::get<metadata_request>(v1_none.req.body).topics == std::vector<std::string>{});
}

TEST_CASE("Fetch response with segment file ranges: pieces and lengths") {
    fetch_response r;
    r.topics.resize(1);
    r.topics[0].name = "t";
    auto& p = r.topics[0].partitions.emplace_back();
    p.index = 0;
    p.high_watermark = 10;
    p.last_stable_offset = 10;
    p.log_start_offset = 0;
    p.records.parts.emplace_back(sluice::store::file_range{nullptr, 4096, 1000});
    p.records.parts.emplace_back(byte_buffer{1, 2, 3});
    p.records.parts.emplace_back(sluice::store::file_range{nullptr, 0, 500});
    fetch_response::partition q;
    q.index = 1;
    q.error = error_code::offset_out_of_range;
    q.records.null = true;
    r.topics[0].partitions.push_back(q);

    response_frame f = encode_response(42, 11, r);
    REQUIRE(f.pieces.size() == 5);
    CHECK(f.has_file_ranges());
    CHECK(f.flatten().empty());
    const auto& head = std::get<byte_buffer>(f.pieces[0]);
    auto size = static_cast<std::uint64_t>(head[0]) << 24 | head[1] << 16 | head[2] << 8 | head[3];
    CHECK(size == f.size() - 4);
    // The records length just before the first range covers all three parts.
    CHECK(to_hex(byte_buffer(head.end() - 4, head.end())) == "000005df");  // 1503
    CHECK(std::get<sluice::store::file_range>(f.pieces[1]).position == 4096);
    CHECK(std::get<byte_buffer>(f.pieces[2]) == byte_buffer{1, 2, 3});
    CHECK(piece_size(f.pieces[3]) == 500);

    // The same response with the records in memory decodes back to the same partitions.
    r.topics[0].partitions[0].records = record_set::from_bytes(byte_buffer(1503, 7));
    auto bytes = encode_response(42, 11, r).flatten();
    CHECK(bytes.size() == size + 4);
    fetch_response back;
    REQUIRE_FALSE(decode(byte_span(bytes).subspan(8), 11, back));
    CHECK(back == r);
}

#include <catch2/catch.hpp>

#include <random>

#include "mqtt/decoder.hpp"
#include "mqtt/encoder.hpp"
#include "tests/mqtt/samples.hpp"
#include "tests/mqtt/wire_text.hpp"

using namespace sluice::mqtt;
using namespace sluice::mqtt::test;

namespace {

std::vector<std::uint8_t> encode_all(const std::vector<packet>& packets, protocol_version v) {
    std::vector<std::uint8_t> out;
    for (const auto& p : packets) REQUIRE(encode(p, v, out));
    return out;
}

// Feeds `stream` cut at `cuts` (ascending offsets) and collects every packet.
std::vector<packet> decode_chunked(const std::vector<std::uint8_t>& stream,
                                   const std::vector<std::size_t>& cuts) {
    stream_decoder d({decoder_role::any, 268'435'460, std::nullopt});
    std::vector<packet> got;
    std::size_t from = 0;
    auto drain = [&] {
        packet p;
        for (;;) {
            auto s = d.next(p);
            if (s == decode_status::need_more) return;
            INFO("error: " << d.error().detail);
            REQUIRE(s == decode_status::packet);
            got.push_back(std::move(p));
        }
    };
    for (std::size_t cut : cuts) {
        d.feed(std::span(stream.data() + from, cut - from));
        drain();
        from = cut;
    }
    d.feed(std::span(stream.data() + from, stream.size() - from));
    drain();
    CHECK(d.buffered() == 0);
    return got;
}

}  // namespace

TEST_CASE("stream: every two-chunk split and byte-by-byte feeding decode the same",
          "[mqtt][stream]") {
    for (auto v : {protocol_version::v3_1_1, protocol_version::v5}) {
        const auto samples = sample_packets(v);
        const auto stream = encode_all(samples, v);
        INFO("level " << int(v) << ", stream of " << stream.size() << " bytes");
        REQUIRE(decode_chunked(stream, {}) == samples);
        for (std::size_t cut = 1; cut < stream.size(); ++cut) {
            INFO("cut at " << cut);
            REQUIRE(decode_chunked(stream, {cut}) == samples);
        }
        std::vector<std::size_t> every_byte;
        for (std::size_t i = 1; i < stream.size(); ++i) every_byte.push_back(i);
        CHECK(decode_chunked(stream, every_byte) == samples);
    }
}

TEST_CASE("stream: random chunkings decode the same (fixed seed)", "[mqtt][stream]") {
    const auto samples = sample_packets(protocol_version::v5);
    const auto stream = encode_all(samples, protocol_version::v5);
    std::mt19937 rng(20260101);
    for (int round = 0; round < 300; ++round) {
        std::vector<std::size_t> cuts;
        std::size_t at = 0;
        for (;;) {
            at += 1 + rng() % 40;
            if (at >= stream.size()) break;
            cuts.push_back(at);
        }
        REQUIRE(decode_chunked(stream, cuts) == samples);
    }
}

TEST_CASE("stream: a payload outlives the decoder and is not a copy per read", "[mqtt][stream]") {
    publish p;
    p.topic = "t";
    p.payload = shared_bytes(std::string_view("payload bytes"));
    std::vector<std::uint8_t> bytes;
    REQUIRE(encode(p, protocol_version::v5, bytes));
    shared_bytes kept;
    {
        stream_decoder d({decoder_role::server, 1024, protocol_version::v5});
        d.feed(bytes);
        packet out;
        REQUIRE(d.next(out) == decode_status::packet);
        kept = std::get<publish>(out).payload;
        shared_bytes again = kept;
        CHECK(again.data() == kept.data());  // copies share the bytes
    }
    CHECK(kept.view() == "payload bytes");  // ASan would flag a dangling view
}

TEST_CASE("stream: maximum packet size is enforced from the fixed header", "[mqtt][stream]") {
    // A PUBLISH announcing 1000 bytes: only its 3-byte fixed header has arrived.
    stream_decoder d({decoder_role::server, 100, protocol_version::v5});
    d.feed(wire("30 E8 07"));
    packet out;
    REQUIRE(d.next(out) == decode_status::error);
    CHECK(d.error().code == reason_code::packet_too_large);
    // The decoder stays failed and buffers nothing more.
    d.feed(wire("00 01 't'"));
    CHECK(d.next(out) == decode_status::error);
    CHECK(d.buffered() == 0);

    // A packet of exactly the limit passes (the limit counts the fixed header).
    stream_decoder exact({decoder_role::server, 7, protocol_version::v5});
    exact.feed(wire("30 05 0001 't' 00 'x'"));
    CHECK(exact.next(out) == decode_status::packet);
    stream_decoder one_less({decoder_role::server, 6, protocol_version::v5});
    one_less.feed(wire("30 05"));
    CHECK(one_less.next(out) == decode_status::error);
    CHECK(one_less.error().code == reason_code::packet_too_large);
}

TEST_CASE("stream: the first packet must be CONNECT and sets the level", "[mqtt][stream]") {
    stream_decoder server;
    packet out;
    CHECK_FALSE(server.version());
    server.feed(wire("10 0D 0004 'MQTT' 04 02 003C 0001 'c'"));
    REQUIRE(server.next(out) == decode_status::packet);
    CHECK(server.version() == protocol_version::v3_1_1);
    server.feed(wire("C0 00"));
    CHECK(server.next(out) == decode_status::packet);
    CHECK(std::holds_alternative<pingreq>(out));
    // A second CONNECT is a protocol error [MQTT-3.1.0-2].
    server.feed(wire("10 0D 0004 'MQTT' 04 02 003C 0001 'c'"));
    CHECK(server.next(out) == decode_status::error);
    CHECK(server.error().code == reason_code::protocol_error);

    // One byte is enough to reject a first packet that is not CONNECT.
    stream_decoder early;
    early.feed(wire("30"));
    CHECK(early.next(out) == decode_status::error);
    CHECK(early.error().code == reason_code::protocol_error);
}

TEST_CASE("stream: a failing CONNECT still reports its level", "[mqtt][stream]") {
    // A 5.0 CONNECT with receive maximum 0: the broker must answer with a 5.0 CONNACK.
    stream_decoder d;
    d.feed(wire("10 11 0004 'MQTT' 05 02 003C 03 21 0000 0001 'c'"));
    packet out;
    REQUIRE(d.next(out) == decode_status::error);
    CHECK(d.error().code == reason_code::protocol_error);
    CHECK(d.version() == protocol_version::v5);

    stream_decoder unknown;
    unknown.feed(wire("10 0D 0004 'MQTT' 07 02 003C 0001 'c'"));
    REQUIRE(unknown.next(out) == decode_status::error);
    CHECK(unknown.error().code == reason_code::unsupported_protocol_version);
    CHECK_FALSE(unknown.version());
}

TEST_CASE("stream: partial input asks for more and keeps what it has", "[mqtt][stream]") {
    stream_decoder d({decoder_role::client, 1024, protocol_version::v3_1_1});
    packet out;
    CHECK(d.next(out) == decode_status::need_more);
    d.feed(wire("20"));
    CHECK(d.next(out) == decode_status::need_more);
    d.feed(wire("02 01"));
    CHECK(d.next(out) == decode_status::need_more);
    CHECK(d.buffered() == 3);
    d.feed(wire("00 D0 00"));
    REQUIRE(d.next(out) == decode_status::packet);
    CHECK(std::get<connack>(out).session_present);
    REQUIRE(d.next(out) == decode_status::packet);
    CHECK(std::holds_alternative<pingresp>(out));
    CHECK(d.next(out) == decode_status::need_more);
    CHECK(d.buffered() == 0);
}

TEST_CASE("stream: a long stream of small packets does not grow the buffer", "[mqtt][stream]") {
    stream_decoder d({decoder_role::server, 1024, protocol_version::v5});
    const auto ping = wire("C0 00");
    packet out;
    for (int i = 0; i < 100'000; ++i) {
        d.feed(ping);
        if (i % 3 == 0) continue;  // let a few accumulate between reads
        while (d.next(out) == decode_status::packet) {
        }
    }
    while (d.next(out) == decode_status::packet) {
    }
    CHECK(d.buffered() == 0);
}

TEST_CASE("stream: reading in place with prepare/commit decodes the same", "[mqtt][stream]") {
    const auto samples = sample_packets(protocol_version::v5);
    const auto stream = encode_all(samples, protocol_version::v5);
    for (std::size_t read_size : {1u, 7u, 64u, 4096u}) {
        INFO("reads of up to " << read_size << " bytes");
        stream_decoder d({decoder_role::any, 1 << 20, std::nullopt});
        std::vector<packet> got;
        std::size_t at = 0;
        while (at < stream.size()) {
            // Offer more room than the "socket" fills, as a real read does.
            auto room = d.prepare(read_size + 5);
            REQUIRE(room.size() == read_size + 5);
            const std::size_t n = std::min(read_size, stream.size() - at);
            std::copy_n(stream.begin() + static_cast<std::ptrdiff_t>(at), n, room.begin());
            d.commit(n);
            at += n;
            packet p;
            decode_status s;
            while ((s = d.next(p)) == decode_status::packet) got.push_back(std::move(p));
            REQUIRE(s == decode_status::need_more);
        }
        CHECK(got == samples);
        CHECK(d.buffered() == 0);
    }
}

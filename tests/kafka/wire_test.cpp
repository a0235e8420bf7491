// Primitive types and the frame splitter: golden bytes, bounds, malformed input.

#include <catch2/catch.hpp>

#include <limits>

#include "kafka/frame.hpp"
#include "kafka/wire.hpp"
#include "tests/kafka/vectors.hpp"

using namespace sluice::kafka;
using sluice::kafka::test::to_hex;

namespace {
byte_buffer written(writer& w) {
    return response_frame{w.take_pieces()}.flatten();
}
}  // namespace

TEST_CASE("fixed-width integers are big-endian") {
    writer w;
    w.i8(-2);
    w.i16(0x0102);
    w.i32(-1);
    w.i64(0x0102030405060708);
    w.boolean(true);
    auto b = written(w);
    CHECK(to_hex(b) == "fe0102ffffffff010203040506070801");
    reader r(b);
    std::int8_t a = 0;
    std::int16_t s = 0;
    std::int32_t i = 0;
    std::int64_t l = 0;
    bool t = false;
    r.i8(a), r.i16(s), r.i32(i), r.i64(l), r.boolean(t);
    r.expect_end();
    CHECK_FALSE(r.failed());
    CHECK((a == -2 && s == 0x0102 && i == -1 && l == 0x0102030405060708 && t));
}

TEST_CASE("varints: zigzag signed, unsigned, golden bytes and limits") {
    struct row {
        std::int32_t v;
        const char* hex;
    };
    for (auto [v, hex] :
         {row{0, "00"}, row{-1, "01"}, row{1, "02"}, row{-64, "7f"}, row{64, "8001"},
          row{150, "ac02"}, row{std::numeric_limits<std::int32_t>::max(), "feffffff0f"},
          row{std::numeric_limits<std::int32_t>::min(), "ffffffff0f"}}) {
        writer w;
        w.varint(v);
        auto b = written(w);
        CHECK(to_hex(b) == hex);
        reader r(b);
        std::int32_t back = 7;
        r.varint(back);
        CHECK_FALSE(r.failed());
        CHECK(back == v);
    }
    writer w;
    w.varlong(std::numeric_limits<std::int64_t>::min());
    w.uvarint(300);
    auto b = written(w);
    CHECK(to_hex(b) == "ffffffffffffffffff01ac02");
    reader r(b);
    std::int64_t l = 0;
    std::uint32_t u = 0;
    r.varlong(l);
    r.uvarint(u);
    CHECK((l == std::numeric_limits<std::int64_t>::min() && u == 300 && !r.failed()));

    SECTION("a sixth varint byte or overflowing bits are errors") {
        byte_buffer too_long{0x80, 0x80, 0x80, 0x80, 0x80, 0x01};
        reader a(too_long);
        a.uvarint(u);
        REQUIRE(a.error());
        CHECK(a.error()->code == decode_errc::invalid_varint);
        byte_buffer overflow{0xff, 0xff, 0xff, 0xff, 0x1f};
        reader o(overflow);
        o.uvarint(u);
        CHECK(o.failed());
        byte_buffer cut{0x80};
        reader c(cut);
        c.uvarint(u);
        CHECK(c.error()->code == decode_errc::truncated);
    }
}

TEST_CASE("strings and bytes, classic and compact, null and not") {
    writer w;
    w.string("ab");
    w.nullable_string(std::nullopt);
    w.bytes({1, 2});
    w.nullable_bytes(std::nullopt);
    w.set_flexible(true);
    w.string("ab");
    w.nullable_string(std::nullopt);
    w.bytes({1});
    w.nullable_bytes(std::nullopt);
    w.tagged_fields();
    auto b = written(w);
    CHECK(to_hex(b) ==
          "00026162ffff000000020102ffffffff"
          "0361620002010000");
    reader r(b);
    std::string s;
    std::optional<std::string> ns = "x";
    byte_buffer bytes;
    std::optional<byte_buffer> nb = byte_buffer{9};
    r.string(s), r.nullable_string(ns), r.bytes(bytes), r.nullable_bytes(nb);
    CHECK((s == "ab" && !ns && bytes == byte_buffer{1, 2} && !nb));
    r.set_flexible(true);
    ns = "x";
    nb = byte_buffer{9};
    r.string(s), r.nullable_string(ns), r.bytes(bytes), r.nullable_bytes(nb);
    r.tagged_fields();
    r.expect_end();
    CHECK_FALSE(r.failed());
    CHECK((s == "ab" && !ns && bytes == byte_buffer{1} && !nb));
}

TEST_CASE("malformed primitive input is an error value") {
    std::string s;
    SECTION("null where a string is required") {
        byte_buffer b{0xff, 0xff};
        reader r(b);
        r.string(s);
        CHECK(r.error()->code == decode_errc::invalid_length);
    }
    SECTION("a string longer than the buffer") {
        byte_buffer b{0x00, 0x05, 'a'};
        reader r(b);
        r.string(s);
        CHECK(r.error()->code == decode_errc::truncated);
    }
    SECTION("an array count larger than the bytes left allocates nothing") {
        byte_buffer b{0x7f, 0xff, 0xff, 0xff, 0, 0};
        reader r(b);
        std::vector<std::int32_t> v;
        r.array(v, [&](auto& x) { r.i32(x); });
        CHECK(r.error()->code == decode_errc::truncated);
        CHECK(v.empty());
    }
    SECTION("a negative array count where null is not allowed") {
        byte_buffer b{0xff, 0xff, 0xff, 0xfe};
        reader r(b);
        std::vector<std::int32_t> v;
        r.array(v, [&](auto& x) { r.i32(x); });
        CHECK(r.error()->code == decode_errc::invalid_length);
    }
    SECTION("a compact length above int32") {
        byte_buffer b{0xff, 0xff, 0xff, 0xff, 0x0f};
        reader r(b, true);
        r.string(s);
        CHECK(r.error()->code == decode_errc::invalid_length);
    }
    SECTION("unknown tagged fields are skipped; a truncated one is an error") {
        byte_buffer ok{0x02, 0x00, 0x01, 0xaa, 0x05, 0x00};
        reader r(ok, true);
        r.tagged_fields();
        r.expect_end();
        CHECK_FALSE(r.failed());
        byte_buffer cut{0x01, 0x00, 0x04, 0xaa};
        reader c(cut, true);
        c.tagged_fields();
        CHECK(c.error()->code == decode_errc::truncated);
    }
    SECTION("the first error sticks") {
        byte_buffer b{0x00};
        reader r(b);
        std::int32_t i = 5;
        r.i32(i);
        std::int8_t x = 3;
        r.i8(x);
        CHECK(r.error()->field == std::string("int32"));
        CHECK(x == 3);
    }
}

TEST_CASE("frame splitter: any chunking, several frames per read") {
    byte_buffer stream{0, 0, 0, 2, 'a', 'b', 0, 0, 0, 0, 0, 0, 0, 1, 'c'};
    for (std::size_t chunk : {1u, 2u, 5u, 15u}) {
        frame_splitter s(16);
        std::vector<std::string> frames;
        for (std::size_t i = 0; i < stream.size(); i += chunk) {
            s.feed(byte_span(stream).subspan(i, std::min(chunk, stream.size() - i)));
            byte_span f;
            while (s.next(f) == frame_splitter::status::frame)
                frames.emplace_back(f.begin(), f.end());
        }
        CHECK(frames == std::vector<std::string>{"ab", "", "c"});
        CHECK(s.buffered() == 0);
    }
}

TEST_CASE("frame splitter: oversize and negative sizes are errors") {
    byte_span f;
    frame_splitter big(16);
    byte_buffer over{0, 0, 0, 17};
    big.feed(over);
    CHECK(big.next(f) == frame_splitter::status::error);
    CHECK(big.bad_size() == 17);
    CHECK(big.next(f) == frame_splitter::status::error);  // sticky

    frame_splitter neg(16);
    byte_buffer minus{0xff, 0xff, 0xff, 0xff};
    neg.feed(minus);
    CHECK(neg.next(f) == frame_splitter::status::error);
    CHECK(neg.bad_size() == -1);

    frame_splitter exact(16);
    byte_buffer at_limit(20, 0);
    at_limit[3] = 16;
    exact.feed(byte_span(at_limit).first(19));
    CHECK(exact.next(f) == frame_splitter::status::need_more);
    exact.feed(byte_span(at_limit).subspan(19));
    CHECK(exact.next(f) == frame_splitter::status::frame);
    CHECK(f.size() == 16);
}

#include <catch2/catch.hpp>

#include "store/varint.hpp"

using namespace sluice::store;

TEST_CASE("varint: zigzag encoding matches Kafka's ByteUtils") {
    auto enc = [](std::int64_t v) {
        byte_buffer b;
        put_varlong(b, v);
        return b;
    };
    CHECK(enc(0) == byte_buffer{0x00});
    CHECK(enc(-1) == byte_buffer{0x01});
    CHECK(enc(1) == byte_buffer{0x02});
    CHECK(enc(63) == byte_buffer{0x7e});
    CHECK(enc(-64) == byte_buffer{0x7f});
    CHECK(enc(64) == byte_buffer{0x80, 0x01});
    CHECK(enc(300) == byte_buffer{0xd8, 0x04});
    CHECK(enc(INT64_MIN).size() == 10);
    for (std::int64_t v : std::initializer_list<std::int64_t>{
             0, 1, -1, 300, -300, std::int64_t{1} << 40, INT64_MAX, INT64_MIN}) {
        auto b = enc(v);
        CHECK(varlong_size(v) == b.size());
        byte_reader r(b.data(), b.size());
        CHECK(r.varlong() == v);
        CHECK(r.remaining() == 0);
    }
}

TEST_CASE("varint: truncated and overlong input is refused") {
    byte_buffer truncated{0x80, 0x80};
    byte_reader r1(truncated.data(), truncated.size());
    CHECK_FALSE(r1.varlong());
    byte_buffer overlong(11, 0x80);
    byte_reader r2(overlong.data(), overlong.size());
    CHECK_FALSE(r2.varlong());
    byte_buffer big{0xfe, 0xff, 0xff, 0xff, 0x1f};  // 2^32 - 1 after zigzag: no int32
    byte_reader r3(big.data(), big.size());
    CHECK_FALSE(r3.varint());
}

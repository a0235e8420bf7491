#include <catch2/catch.hpp>

#include <lz4frame.h>

#include <limits>
#include <random>

#include "store/batch_builder.hpp"
#include "store/batch_reader.hpp"
#include "store/byte_order.hpp"
#include "store/crc32c.hpp"

using namespace sluice::store;

namespace {

// Wraps a records section in a batch header by hand (codec given), with a correct CRC.
byte_buffer wrap(const byte_buffer& section, std::int16_t attributes, std::int32_t count) {
    byte_buffer b(61 + section.size(), 0);
    std::copy(section.begin(), section.end(), b.begin() + 61);
    store_be<std::int32_t>(b.data() + 8, static_cast<std::int32_t>(b.size() - 12));
    store_be<std::int32_t>(b.data() + 12, -1);
    b[16] = 2;
    store_be<std::int16_t>(b.data() + 21, attributes);
    store_be<std::int32_t>(b.data() + 23, count - 1);
    store_be<std::int64_t>(b.data() + 27, 500);
    store_be<std::int64_t>(b.data() + 35, 500);
    store_be<std::int64_t>(b.data() + 43, -1);
    store_be<std::int16_t>(b.data() + 51, -1);
    store_be<std::int32_t>(b.data() + 53, -1);
    store_be<std::int32_t>(b.data() + 57, count);
    store_be<std::uint32_t>(b.data() + 17, crc32c(b.data() + 21, b.size() - 21));
    return b;
}

const byte_buffer one_record = {0x12, 0x00, 0x00, 0x00, 0x02,
                                'a',  0x04, 'b',  'c',  0x00};  // key a, value bc

}  // namespace

TEST_CASE(
    "reader: decodes a hand-made batch, uncompressed and as an LZ4 frame with a stored block") {
    decoded_batch d;
    REQUIRE(decode_batch(wrap(one_record, 0, 1), d) == errc::ok);
    REQUIRE(d.records.size() == 1);
    CHECK(d.records[0].key == std::optional<std::string>("a"));
    CHECK(d.records[0].value == std::optional<std::string>("bc"));
    CHECK(d.records[0].timestamp == 500);

    // LZ4 frame written by hand: header, one uncompressed block (size | 0x80000000), EndMark.
    byte_buffer frame = {0x04, 0x22, 0x4d, 0x18,
                         0x60, 0x40, 0x82, static_cast<std::uint8_t>(one_record.size()),
                         0x00, 0x00, 0x80};
    frame.insert(frame.end(), one_record.begin(), one_record.end());
    frame.insert(frame.end(), {0, 0, 0, 0});
    decoded_batch z;
    REQUIRE(decode_batch(wrap(frame, 3, 1), z) == errc::ok);
    CHECK(z.records == d.records);
}

TEST_CASE("reader: accepts LZ4 frames with content and block checksums, refuses a bad checksum") {
    LZ4F_preferences_t prefs{};
    prefs.frameInfo.blockSizeID = LZ4F_max64KB;
    prefs.frameInfo.blockMode = LZ4F_blockIndependent;
    prefs.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled;
    prefs.frameInfo.blockChecksumFlag = LZ4F_blockChecksumEnabled;
    byte_buffer frame(LZ4F_compressFrameBound(one_record.size(), &prefs));
    auto n = LZ4F_compressFrame(frame.data(), frame.size(), one_record.data(), one_record.size(),
                                &prefs);
    REQUIRE_FALSE(LZ4F_isError(n));
    frame.resize(n);
    decoded_batch d;
    REQUIRE(decode_batch(wrap(frame, 3, 1), d) == errc::ok);
    CHECK(d.records.at(0).value == std::optional<std::string>("bc"));
    frame[frame.size() - 1] ^= 0x01;  // content checksum
    CHECK(decode_batch(wrap(frame, 3, 1), d) == errc::corrupt_message);
}

TEST_CASE("reader: malformed batches are refused, never crash") {
    batch_builder b(compression::lz4);
    for (int i = 0; i < 50; ++i)
        b.add(1000 + i, std::string_view("key"), std::string(100, static_cast<char>('a' + i % 26)));
    auto batch = *b.build();
    byte_buffer bytes(batch.bytes().begin(), batch.bytes().end());
    decoded_batch d;
    REQUIRE(decode_batch(bytes, d) == errc::ok);
    CHECK(d.records.size() == 50);

    SECTION("truncated") {
        for (std::size_t n :
             {std::size_t{0}, std::size_t{12}, std::size_t{60}, std::size_t{61}, bytes.size() - 1})
            CHECK(decode_batch(byte_span(bytes.data(), n), d) != errc::ok);
    }
    SECTION("flipped bit fails the CRC") {
        bytes[100] ^= 0x10;
        CHECK(decode_batch(bytes, d) == errc::corrupt_message);
    }
    SECTION("wrong magic") {
        bytes[16] = 1;
        CHECK(validate_batch(bytes) == errc::corrupt_message);
    }
    SECTION("unsupported codec") {
        bytes[22] = 2;  // snappy
        store_be<std::uint32_t>(bytes.data() + 17, crc32c(bytes.data() + 21, bytes.size() - 21));
        CHECK(validate_batch(bytes) == errc::unsupported_compression);
    }
    SECTION("random damage with a recomputed CRC reaches the record decoder safely") {
        std::mt19937 rng(7);
        for (int round = 0; round < 2000; ++round) {
            byte_buffer m = bytes;
            int flips = 1 + static_cast<int>(rng() % 4);
            for (int k = 0; k < flips; ++k)
                m[21 + rng() % (m.size() - 21)] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
            store_be<std::uint32_t>(m.data() + 17, crc32c(m.data() + 21, m.size() - 21));
            decoded_batch out;
            (void)decode_batch(m, out);  // any result but a crash
        }
        // Uncompressed records too.
        batch_builder u;
        for (int i = 0; i < 20; ++i)
            u.add(i, std::string_view("k"), std::string_view("value"), {{"h", std::nullopt}});
        auto built = *u.build();
        byte_buffer plain(built.bytes().begin(), built.bytes().end());
        for (int round = 0; round < 2000; ++round) {
            byte_buffer m = plain;
            m[61 + rng() % (m.size() - 61)] = static_cast<std::uint8_t>(rng());
            store_be<std::uint32_t>(m.data() + 17, crc32c(m.data() + 21, m.size() - 21));
            decoded_batch out;
            (void)decode_batch(m, out);
        }
    }
}

TEST_CASE("reader: an offset or timestamp past the int64 range is a corrupt record") {
    // The fuzzer's find: base timestamp INT64_MIN and a record one millisecond before it.
    byte_buffer early = one_record;
    early[2] = 0x01;  // timestamp delta -1 (zigzag)
    auto b = wrap(early, 0, 1);
    store_be<std::int64_t>(b.data() + 27, std::numeric_limits<std::int64_t>::min());
    store_be<std::uint32_t>(b.data() + 17, crc32c(b.data() + 21, b.size() - 21));
    decoded_batch d;
    CHECK(decode_batch(b, d) == errc::corrupt_message);

    // Base offset INT64_MAX and a second record one past it.
    byte_buffer two = one_record;
    byte_buffer second = one_record;
    second[3] = 0x02;  // offset delta 1
    two.insert(two.end(), second.begin(), second.end());
    auto c = wrap(two, 0, 2);
    store_be<std::int64_t>(c.data(), std::numeric_limits<std::int64_t>::max());
    CHECK(decode_batch(c, d) == errc::corrupt_message);
    store_be<std::int64_t>(c.data(), 7);  // the same records from a sane base decode
    REQUIRE(decode_batch(c, d) == errc::ok);
    CHECK(d.records.at(1).offset == 8);
}

TEST_CASE("reader: decode_batches splits consecutive batches and stops at a bad one") {
    batch_builder a;
    a.add(1, std::string_view("x"), std::string_view("1"));
    batch_builder c;
    c.add(2, std::string_view("y"), std::string_view("2"));
    byte_buffer all;
    for (auto* b : {&a, &c}) {
        auto built = *b->build();
        all.insert(all.end(), built.bytes().begin(), built.bytes().end());
    }
    std::vector<decoded_batch> out;
    REQUIRE(decode_batches(all, out) == errc::ok);
    CHECK(out.size() == 2);
    all.back() ^= 1;
    out.clear();
    CHECK(decode_batches(all, out) == errc::corrupt_message);
    CHECK(out.size() == 1);
}

namespace {

// A RecordBatch v2 as another Kafka client library (sarama, Go) writes it: one record with
// timestamp delta 5 ms, key 01 02 03 04, value 05 06 07, header 08 09 0a = 0b 0c; base
// timestamp 1479847795000, max timestamp 0, producer id 0. Its CRC was computed by that client.
// clang-format off
const byte_buffer foreign_header_plain = {
    0, 0, 0, 0, 0, 0, 0, 0,  0, 0, 0, 70,  0, 0, 0, 0,  2,  84, 121, 97, 253,  0, 0,  0, 0, 0, 0,
    0, 0, 1, 88, 141, 205, 89, 56,  0, 0, 0, 0, 0, 0, 0, 0,  0, 0, 0, 0, 0, 0, 0, 0,  0, 0,
    0, 0, 0, 0,  0, 0, 0, 1,
};
const byte_buffer foreign_records = {
    40, 0, 10, 0, 8, 1, 2, 3, 4, 6, 5, 6, 7, 2, 6, 8, 9, 10, 4, 11, 12,
};
// The same batch with codec 3: an LZ4 frame with a content checksum (FLG 0x64), 4 MiB block
// size (BD 0x70), one stored block, EndMark, then the content checksum.
const byte_buffer foreign_header_lz4 = {
    0, 0, 0, 0, 0, 0, 0, 0,  0, 0, 0, 89,  0, 0, 0, 0,  2,  169, 74, 119, 197,  0, 3,  0, 0, 0, 0,
    0, 0, 1, 88, 141, 205, 89, 56,  0, 0, 0, 0, 0, 0, 0, 0,  0, 0, 0, 0, 0, 0, 0, 0,  0, 0,
    0, 0, 0, 0,  0, 0, 0, 1,
};
const byte_buffer foreign_frame = {
    4, 34, 77, 24, 100, 112, 185,  21, 0, 0, 128,
    40, 0, 10, 0, 8, 1, 2, 3, 4, 6, 5, 6, 7, 2, 6, 8, 9, 10, 4, 11, 12,
    0, 0, 0, 0,  12, 59, 239, 146,
};
// clang-format on

void check_foreign_record(const decoded_batch& d) {
    REQUIRE(d.records.size() == 1);
    const auto& r = d.records[0];
    CHECK(r.offset == 0);
    CHECK(r.timestamp == 1479847795000 + 5);
    CHECK(r.key == std::optional<std::string>("\x01\x02\x03\x04"));
    CHECK(r.value == std::optional<std::string>("\x05\x06\x07"));
    REQUIRE(r.headers.size() == 1);
    CHECK(r.headers[0].key == "\x08\x09\x0a");
    CHECK(r.headers[0].value == std::optional<std::string>("\x0b\x0c"));
}

}  // namespace

TEST_CASE("reader: batches written by another Kafka client pass our CRC and decode") {
    byte_buffer plain = foreign_header_plain;
    plain.insert(plain.end(), foreign_records.begin(), foreign_records.end());
    REQUIRE(plain.size() == 82);
    CHECK(compute_batch_crc(plain) == 0x547961fdu);
    decoded_batch d;
    REQUIRE(decode_batch(plain, d) == errc::ok);
    check_foreign_record(d);

    byte_buffer lz4 = foreign_header_lz4;
    lz4.insert(lz4.end(), foreign_frame.begin(), foreign_frame.end());
    REQUIRE(lz4.size() == 101);
    CHECK(compute_batch_crc(lz4) == 0xa94a77c5u);
    decoded_batch z;
    REQUIRE(decode_batch(lz4, z) == errc::ok);
    check_foreign_record(z);
    CHECK(z.header.codec() == compression::lz4);

    // Our builder writes the same records section for the same record.
    batch_builder b;
    b.add(1479847795005, std::string_view("\x01\x02\x03\x04"), std::string_view("\x05\x06\x07"),
          {{"\x08\x09\x0a", std::string("\x0b\x0c")}});
    auto ours = *b.build();
    CHECK(byte_buffer(ours.bytes().begin() + 61, ours.bytes().end()) ==
          byte_buffer{40, 0, 0, 0, 8, 1, 2, 3, 4, 6, 5, 6, 7, 2, 6, 8, 9, 10, 4, 11, 12});
}

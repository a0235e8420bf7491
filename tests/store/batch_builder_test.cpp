#include <catch2/catch.hpp>

#include "store/batch_builder.hpp"
#include "store/batch_reader.hpp"
#include "store/byte_order.hpp"
#include "store/crc32c.hpp"

using namespace sluice::store;

namespace {

// clang-format off
// Two records, laid out by hand from Kafka's DefaultRecord/DefaultRecordBatch documentation.
//   record 0: ts 1000, key "k", value "v1", no headers
//   record 1: ts 1005, key null, value "v2", header "h" = "x"
const byte_buffer golden_records = {
    0x12,                                      // length 9 (zigzag varint)
    0x00,                                      // attributes
    0x00,                                      // timestampDelta 0
    0x00,                                      // offsetDelta 0
    0x02, 'k',                                 // key length 1, key
    0x04, 'v', '1',                            // value length 2, value
    0x00,                                      // 0 headers
    0x18,                                      // length 12
    0x00,                                      // attributes
    0x0a,                                      // timestampDelta 5
    0x02,                                      // offsetDelta 1
    0x01,                                      // key length -1 (null)
    0x04, 'v', '2',                            // value
    0x02,                                      // 1 header
    0x02, 'h', 0x02, 'x',                      // header key "h", value "x"
};

const byte_buffer golden_header = {
    0, 0, 0, 0, 0, 0, 0, 0,                    // baseOffset 0
    0x00, 0x00, 0x00, 0x48,                    // batchLength 72 = 84 - 12
    0xff, 0xff, 0xff, 0xff,                    // partitionLeaderEpoch -1
    0x02,                                      // magic 2
    0x85, 0x91, 0x36, 0x5a,                    // crc (CRC-32C of bytes 21..83, computed independently)
    0x00, 0x00,                                // attributes: no compression, create time
    0x00, 0x00, 0x00, 0x01,                    // lastOffsetDelta 1
    0, 0, 0, 0, 0, 0, 0x03, 0xe8,              // baseTimestamp 1000
    0, 0, 0, 0, 0, 0, 0x03, 0xed,              // maxTimestamp 1005
    0, 0, 0, 0, 0, 0, 0, 0x07,                 // producerId 7
    0x00, 0x01,                                // producerEpoch 1
    0x00, 0x00, 0x00, 0x05,                    // baseSequence 5
    0x00, 0x00, 0x00, 0x02,                    // recordCount 2
};

// clang-format on

batch_builder golden_builder(compression codec) {
    batch_builder b(codec);
    b.set_producer(7, 1, 5);
    b.add(1000, std::string_view("k"), std::string_view("v1"));
    b.add(1005, std::nullopt, std::string_view("v2"), {{"h", std::string("x")}});
    return b;
}

}  // namespace

TEST_CASE("batch: uncompressed RecordBatch v2 matches the golden bytes byte for byte") {
    auto batch = golden_builder(compression::none).build();
    REQUIRE(batch);
    byte_buffer expected = golden_header;
    expected.insert(expected.end(), golden_records.begin(), golden_records.end());
    REQUIRE(expected.size() == 84);
    CHECK(byte_buffer(batch->bytes().begin(), batch->bytes().end()) == expected);

    auto h = batch->header();
    CHECK(h.base_offset == 0);
    CHECK(h.batch_length == 72);
    CHECK(h.partition_leader_epoch == -1);
    CHECK(h.magic == 2);
    CHECK(h.crc == 0x8591365au);
    CHECK(h.crc == crc32c(expected.data() + 21, expected.size() - 21));
    CHECK(h.attributes == 0);
    CHECK(h.last_offset_delta == 1);
    CHECK(h.base_timestamp == 1000);
    CHECK(h.max_timestamp == 1005);
    CHECK(h.producer_id == 7);
    CHECK(h.producer_epoch == 1);
    CHECK(h.base_sequence == 5);
    CHECK(h.record_count == 2);
    CHECK(validate_batch(batch->bytes()) == errc::ok);
}

TEST_CASE("batch: stamping offset and epoch leaves the CRC valid") {
    auto batch = *golden_builder(compression::lz4).build();
    auto before = batch.header().crc;
    batch.set_base_offset(offset{123456789012});
    batch.set_partition_leader_epoch(leader_epoch{42});
    CHECK(batch.header().crc == before);
    CHECK(validate_batch(batch.bytes()) == errc::ok);
    CHECK(batch.header().base_offset == 123456789012);
    CHECK(batch.header().partition_leader_epoch == 42);
    CHECK(load_be<std::int64_t>(batch.bytes().data()) == 123456789012);
}

TEST_CASE("batch: LZ4 batch is one LZ4 frame over the same records section") {
    auto batch = golden_builder(compression::lz4).build();
    REQUIRE(batch);
    auto bytes = batch->bytes();
    auto h = batch->header();
    CHECK(h.attributes == 3);
    CHECK(h.codec() == compression::lz4);
    CHECK(h.size_bytes() == bytes.size());
    CHECK(h.record_count == 2);
    CHECK(h.last_offset_delta == 1);
    CHECK(h.crc == crc32c(bytes.data() + 21, bytes.size() - 21));
    // Frame: magic 0x184D2204 (little-endian), FLG 0x60 (version 1, independent blocks, no
    // checksums, no content size), BD 0x40 (64 KiB blocks), header checksum 0x82; EndMark 0.
    const byte_buffer frame_start = {0x04, 0x22, 0x4d, 0x18, 0x60, 0x40, 0x82};
    REQUIRE(bytes.size() > 61 + frame_start.size() + 4);
    CHECK(byte_buffer(bytes.begin() + 61, bytes.begin() + 68) == frame_start);
    CHECK(byte_buffer(bytes.end() - 4, bytes.end()) == byte_buffer{0, 0, 0, 0});

    decoded_batch plain;
    decoded_batch packed;
    REQUIRE(decode_batch(golden_builder(compression::none).build()->bytes(), plain) == errc::ok);
    REQUIRE(decode_batch(bytes, packed) == errc::ok);
    CHECK(packed.records == plain.records);
}

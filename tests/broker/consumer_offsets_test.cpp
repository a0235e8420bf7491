// The record layout of `__consumer_offsets` (Kafka's offset commit key v1 and value v3) and
// the consumer-protocol assignment reader used for group snapshots.
#include <catch2/catch.hpp>

#include "broker/consumer_assignment.hpp"
#include "broker/consumer_offsets.hpp"

using namespace sluice::broker;

TEST_CASE("consumer offsets: key and value bytes are Kafka's layout") {
    const std::string key = consumer_offsets::encode_key({"g", "ab", 3});
    CHECK(key == std::string("\x00\x01"
                             "\x00\x01g"
                             "\x00\x02"
                             "ab"
                             "\x00\x00\x00\x03",
                             13));
    auto k = consumer_offsets::decode_key(key);
    REQUIRE(k);
    CHECK(*k == offset_key{"g", "ab", 3});

    committed_offset v{0x0102030405060708, 7, "m", 1700000000000};
    const std::string value = consumer_offsets::encode_value(v);
    CHECK(value == std::string("\x00\x03"
                               "\x01\x02\x03\x04\x05\x06\x07\x08"
                               "\x00\x00\x00\x07"
                               "\x00\x01m"
                               "\x00\x00\x01\x8b\xcf\xe5\x68\x00",
                               25));
    auto back = consumer_offsets::decode_value(value);
    REQUIRE(back);
    CHECK(*back == v);
}

TEST_CASE("consumer offsets: truncated, overlong or unknown-version records are refused") {
    const std::string key = consumer_offsets::encode_key({"group", "topic", 1});
    const std::string value = consumer_offsets::encode_value({42, -1, "meta", 5});
    for (std::size_t n = 0; n < key.size(); ++n)
        CHECK_FALSE(consumer_offsets::decode_key(key.substr(0, n)));
    for (std::size_t n = 0; n < value.size(); ++n)
        CHECK_FALSE(consumer_offsets::decode_value(value.substr(0, n)));
    CHECK_FALSE(consumer_offsets::decode_key(key + "x"));
    CHECK_FALSE(consumer_offsets::decode_value(value + "x"));
    std::string other = key;
    other[1] = 2;  // version 2
    CHECK_FALSE(consumer_offsets::decode_key(other));
    other = value;
    other[1] = 1;
    CHECK_FALSE(consumer_offsets::decode_value(other));
}

TEST_CASE("consumer offsets: a group's partition is stable and in range") {
    // FNV-1a: the same answer on every run and build (replay depends on it).
    CHECK(consumer_offsets::partition_for("", 4) == static_cast<int>(2166136261u % 4));
    CHECK(consumer_offsets::partition_for("a", 4) == static_cast<int>(0xe40c292cu % 4));
    for (const char* g : {"a", "orders", "g-1", "g-2", "a much longer group id"}) {
        const int p = consumer_offsets::partition_for(g, 4);
        CHECK(p >= 0);
        CHECK(p < 4);
        CHECK(consumer_offsets::partition_for(g, 1) == 0);
    }
}

TEST_CASE("consumer assignment: topics and partitions are read, bad bytes refused") {
    // version 1, 2 topics: "t" [0, 2], "u" [1]; user data (null) follows and is not read
    // clang-format off
    const std::vector<std::uint8_t> bytes = {0, 1, 0, 0, 0, 2,
                                             0, 1, 't', 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 2,
                                             0, 1, 'u', 0, 0, 0, 1, 0, 0, 0, 1,
                                             0xff, 0xff, 0xff, 0xff};
    // clang-format on
    auto a = decode_consumer_assignment(bytes);
    REQUIRE(a);
    CHECK(a->size() == 2);
    CHECK(a->at("t") == std::vector<std::int32_t>{0, 2});
    CHECK(a->at("u") == std::vector<std::int32_t>{1});
    CHECK(decode_consumer_assignment({})->empty());
    for (std::size_t n = 1; n < 30; ++n)
        CHECK_FALSE(decode_consumer_assignment({bytes.begin(), bytes.begin() + n}));
    // an absurd topic count is refused without allocating for it
    CHECK_FALSE(decode_consumer_assignment({0, 0, 0x7f, 0xff, 0xff, 0xff, 0, 0}));
}

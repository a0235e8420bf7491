#include <catch2/catch.hpp>

#include <string>

#include "ingest/partitioner.hpp"

using namespace sluice::ingest;

// Expected values from Kafka's Java client (Utils.murmur2, as in its UtilsTest) and
// librdkafka's murmur2 unit test; the bytes >= 0x80 and partition cases were computed with
// kafka-python's DefaultPartitioner, which mirrors the Java client.
TEST_CASE("partitioner: murmur2 matches Kafka's Utils.murmur2") {
    struct vector {
        std::string key;
        std::int32_t hash;
    };
    const vector vectors[] = {
        {"21", -973932308},
        {"foobar", -790332482},
        {"a-little-bit-long-string", -985981536},
        {"a-little-bit-longer-string", -1486304829},
        {"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971},
        {"abc", 479470107},
        {"kafka", static_cast<std::int32_t>(0xd067cf64u)},
        {"1", -1993445489},
        {"12", 126087238},
        {"123", -267702483},
        {"1234", -1614185708},
        {"12345", -1188365604},
        {"", 275646681},
        {"\xff\xfe\x80", -160726397},
        {"caf\xc3\xa9/\xe2\x82\xac", -703028540},
        {std::string(4, '\0'), 850957120},
    };
    for (const auto& v : vectors) {
        INFO("key " << v.key);
        CHECK(murmur2(v.key) == v.hash);
    }
}

TEST_CASE("partitioner: toPositive(murmur2) % partitions as Kafka's default partitioner") {
    CHECK(kafka_partition("21", 4) == 0);
    CHECK(kafka_partition("foobar", 4) == 2);
    CHECK(kafka_partition("abc", 4) == 3);
    CHECK(kafka_partition("kafka", 4) == 0);
    CHECK(kafka_partition("", 4) == 1);
    CHECK(kafka_partition("a", 4) == 0);
    CHECK(kafka_partition("sensors/1/temp", 4) == 1);
    CHECK(kafka_partition("\xff\xfe\x80", 7) == 3);
    CHECK(kafka_partition("device-42", 7) == 5);
    CHECK(kafka_partition(std::string(4, '\0'), 7) == 6);
    // A negative hash is masked, not negated: toPositive(-973932308) = 1173551340.
    CHECK(kafka_partition("21", 1000) == 1173551340 % 1000);
    for (int n = 1; n < 50; ++n) {
        const int p = kafka_partition("device-" + std::to_string(n), n);
        CHECK(p >= 0);
        CHECK(p < n);
    }
}

#pragma once
// Kafka's default partitioner for keyed records, bit for bit: murmur2 of the key bytes (seed
// 0x9747b28c, as in Kafka's Java client Utils.murmur2 and librdkafka's murmur2 partitioner),
// then toPositive(hash) % partitions. A Kafka producer sending the same key lands on the same
// partition as the MQTT publish it relates to.
// Thread: pure functions.

#include <cstdint>
#include <string_view>

namespace sluice::ingest {

// Kafka's Utils.murmur2 (returns Java's signed int).
std::int32_t murmur2(std::string_view key);

// Utils.toPositive(murmur2(key)) % partitions; partitions must be >= 1.
int kafka_partition(std::string_view key, int partitions);

}  // namespace sluice::ingest

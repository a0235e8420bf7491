#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

// The partitions in a member assignment of the "consumer" protocol type (Kafka's
// ConsumerProtocolAssignment, every version: int16 version, then an array of topic name and
// partition array; the user data after it is not read). The coordinator passes assignments
// through as bytes; operations want to see who owns what. Threads: a free function; any.
namespace sluice::broker {

std::optional<std::map<std::string, std::vector<std::int32_t>>> decode_consumer_assignment(
    const std::vector<std::uint8_t>& bytes);

}  // namespace sluice::broker

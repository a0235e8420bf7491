#pragma once
// A record as producers give it and consumers read it. Keys and values are byte strings;
// std::nullopt is Kafka's null (a null value is a tombstone in a compacted topic).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sluice::store {

struct record_header {
    std::string key;
    std::optional<std::string> value;
    bool operator==(const record_header&) const = default;
};

struct record {
    std::int64_t offset = 0;     // absolute, filled in when read from a batch
    std::int64_t timestamp = 0;  // milliseconds since the epoch
    std::optional<std::string> key;
    std::optional<std::string> value;
    std::vector<record_header> headers;
    bool operator==(const record&) const = default;
};

}  // namespace sluice::store

#pragma once

#include <cstdint>
#include <string>

// Where an offline persistent session stands in one partition of a log topic: the first
// offset it has not had (docs/offline-backlog-design.md). Recorded in its __sessions snapshot.
namespace sluice::broker {

struct log_cursor {
    std::string log_topic;
    int partition = 0;
    std::int64_t next = 0;
    bool operator==(const log_cursor&) const = default;
};

// What a replay has used of the backlog limits so far (kept across its steps).
struct backlog_usage {
    std::uint64_t messages = 0;
    std::uint64_t bytes = 0;
};

}  // namespace sluice::broker

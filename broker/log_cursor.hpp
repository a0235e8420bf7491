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

}  // namespace sluice::broker

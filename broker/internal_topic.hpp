#pragma once
// What the broker's internal topics share (docs/ingest.md, "Internal topics"): creating one at
// start when it is missing, and the wall clock their records and persisted deadlines use.
// Threads: any; ensure_internal_topic runs at start-up, before the listeners open.

#include <chrono>
#include <cstdint>
#include <string>

#include "store/log_config.hpp"
#include "store/store.hpp"

namespace sluice::broker {

// Milliseconds since the Unix epoch: record timestamps and deadlines that outlive the process.
inline std::int64_t wall_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// Creates `topic` with `partitions` and `cfg` unless it exists (another run created it, with
// whatever partitions it has). Returns its partition count, or 0 with `error` set.
int ensure_internal_topic(store::store& s, const std::string& topic, int partitions,
                          const store::log_config& cfg, std::string& error);

}  // namespace sluice::broker

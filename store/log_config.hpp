#pragma once
// Per-topic settings (Kafka's topic configs under Sluice names). Persisted with the topic as
// "topic.conf": a version line, then "key value" lines; unknown keys are ignored.

#include <cstdint>
#include <optional>
#include <string>

namespace sluice::store {

// When an append completes (the moment an acknowledgement may be sent):
//   always   after an fdatasync that covers it (group commit: one fdatasync for every append
//            that arrived while the previous one ran);
//   interval after the write to the page cache; an fdatasync runs every flush_interval_ms;
//   never    after the write to the page cache; the OS decides when it reaches the disk.
enum class durability { always, interval, never };

// remove: retention deletes old segments. compact: keep the latest record per key.
enum class cleanup_policy { remove, compact };

struct log_config {
    durability flush = durability::always;
    std::int64_t flush_interval_ms = 1000;
    std::uint64_t segment_bytes = 1024ull * 1024 * 1024;  // roll at this size
    std::int64_t segment_ms = 7ll * 24 * 3600 * 1000;     // or at this age
    std::uint32_t index_interval_bytes = 4096;            // one index entry per this many bytes
    std::int64_t retention_ms = 7ll * 24 * 3600 * 1000;   // -1: keep forever
    std::int64_t retention_bytes = -1;                    // -1: no size limit
    cleanup_policy cleanup = cleanup_policy::remove;
    std::int64_t delete_retention_ms =
        24ll * 3600 * 1000;  // how long tombstones survive compaction
    std::uint32_t max_batch_bytes = 16u * 1024 * 1024;
};

const char* to_string(durability d);
std::optional<durability> parse_durability(const std::string& s);

std::string serialize(const log_config& c);
// nullopt when the text is not a topic.conf of a version we know or a value is invalid.
std::optional<log_config> parse_log_config(const std::string& text);

}  // namespace sluice::store

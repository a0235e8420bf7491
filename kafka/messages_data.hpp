#pragma once
// Request and response bodies of the data-path APIs: Produce, Fetch, ListOffsets, Metadata.
// Field names follow Kafka's message definitions; a field only present in some versions is
// documented with its range and keeps its default where absent. Encoding and decoding for
// every supported version is in codec.hpp.
//
// Threads: plain values; any thread.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "kafka/error_code.hpp"
#include "kafka/record_set.hpp"

namespace sluice::kafka {

// ---- Produce (key 0), versions 0-7 decoded; Sluice serves 3-7 ----
struct produce_request {
    struct partition {
        std::int32_t index = 0;
        std::optional<byte_buffer> records;  // RecordBatch bytes exactly as sent
        bool operator==(const partition&) const = default;
    };
    struct topic {
        std::string name;
        std::vector<partition> partitions;
        bool operator==(const topic&) const = default;
    };
    std::optional<std::string> transactional_id;  // v3+
    std::int16_t acks = 0;
    std::int32_t timeout_ms = 0;
    std::vector<topic> topics;
    bool operator==(const produce_request&) const = default;
};

struct produce_response {
    struct partition {
        std::int32_t index = 0;
        error_code error = error_code::none;
        std::int64_t base_offset = -1;
        std::int64_t log_append_time_ms = -1;  // v2+
        std::int64_t log_start_offset = -1;    // v5+
        bool operator==(const partition&) const = default;
    };
    struct topic {
        std::string name;
        std::vector<partition> partitions;
        bool operator==(const topic&) const = default;
    };
    std::vector<topic> topics;
    std::int32_t throttle_time_ms = 0;  // v1+
    bool operator==(const produce_response&) const = default;
};

// ---- Fetch (key 1), versions 4-11 ----
struct fetch_request {
    struct partition {
        std::int32_t index = 0;
        std::int32_t current_leader_epoch = -1;  // v9+
        std::int64_t fetch_offset = 0;
        std::int64_t log_start_offset = -1;  // v5+
        std::int32_t partition_max_bytes = 0;
        bool operator==(const partition&) const = default;
    };
    struct topic {
        std::string name;
        std::vector<partition> partitions;
        bool operator==(const topic&) const = default;
    };
    struct forgotten_topic {
        std::string name;
        std::vector<std::int32_t> partitions;
        bool operator==(const forgotten_topic&) const = default;
    };
    std::int32_t replica_id = -1;
    std::int32_t max_wait_ms = 0;
    std::int32_t min_bytes = 0;
    std::int32_t max_bytes = 0x7fffffff;
    std::int8_t isolation_level = 0;
    std::int32_t session_id = 0;      // v7+
    std::int32_t session_epoch = -1;  // v7+
    std::vector<topic> topics;
    std::vector<forgotten_topic> forgotten_topics;  // v7+
    std::string rack_id;                            // v11+
    bool operator==(const fetch_request&) const = default;
};

struct fetch_response {
    struct aborted_transaction {
        std::int64_t producer_id = 0;
        std::int64_t first_offset = 0;
        bool operator==(const aborted_transaction&) const = default;
    };
    struct partition {
        std::int32_t index = 0;
        error_code error = error_code::none;
        std::int64_t high_watermark = -1;
        std::int64_t last_stable_offset = -1;                                  // v4+
        std::int64_t log_start_offset = -1;                                    // v5+
        std::optional<std::vector<aborted_transaction>> aborted_transactions;  // v4+
        std::int32_t preferred_read_replica = -1;                              // v11+
        record_set records;  // in memory or segment file ranges
        bool operator==(const partition&) const = default;
    };
    struct topic {
        std::string name;
        std::vector<partition> partitions;
        bool operator==(const topic&) const = default;
    };
    std::int32_t throttle_time_ms = 0;
    error_code error = error_code::none;  // v7+
    std::int32_t session_id = 0;          // v7+
    std::vector<topic> topics;
    bool operator==(const fetch_response&) const = default;
};

// ---- ListOffsets (key 2), versions 0-5 ----
struct list_offsets_request {
    struct partition {
        std::int32_t index = 0;
        std::int32_t current_leader_epoch = -1;  // v4+
        std::int64_t timestamp = 0;              // -1 latest, -2 earliest
        std::int32_t max_num_offsets = 1;        // v0 only
        bool operator==(const partition&) const = default;
    };
    struct topic {
        std::string name;
        std::vector<partition> partitions;
        bool operator==(const topic&) const = default;
    };
    std::int32_t replica_id = -1;
    std::int8_t isolation_level = 0;  // v2+
    std::vector<topic> topics;
    bool operator==(const list_offsets_request&) const = default;
};

struct list_offsets_response {
    struct partition {
        std::int32_t index = 0;
        error_code error = error_code::none;
        std::vector<std::int64_t> old_style_offsets;  // v0 only
        std::int64_t timestamp = -1;                  // v1+
        std::int64_t offset = -1;                     // v1+
        std::int32_t leader_epoch = -1;               // v4+
        bool operator==(const partition&) const = default;
    };
    struct topic {
        std::string name;
        std::vector<partition> partitions;
        bool operator==(const topic&) const = default;
    };
    std::int32_t throttle_time_ms = 0;  // v2+
    std::vector<topic> topics;
    bool operator==(const list_offsets_response&) const = default;
};

// ---- Metadata (key 3), versions 0-8 ----
struct metadata_request {
    // v0: an empty list means every topic; v1+: null means every topic, empty means none.
    std::optional<std::vector<std::string>> topics;
    bool allow_auto_topic_creation = true;               // v4+
    bool include_cluster_authorized_operations = false;  // v8+
    bool include_topic_authorized_operations = false;    // v8+
    bool operator==(const metadata_request&) const = default;
};

struct metadata_response {
    struct broker {
        std::int32_t node_id = 0;
        std::string host;
        std::int32_t port = 0;
        std::optional<std::string> rack;  // v1+
        bool operator==(const broker&) const = default;
    };
    struct partition {
        error_code error = error_code::none;
        std::int32_t index = 0;
        std::int32_t leader_id = 0;
        std::int32_t leader_epoch = -1;  // v7+
        std::vector<std::int32_t> replica_nodes;
        std::vector<std::int32_t> isr_nodes;
        std::vector<std::int32_t> offline_replicas;  // v5+
        bool operator==(const partition&) const = default;
    };
    struct topic {
        error_code error = error_code::none;
        std::string name;
        bool is_internal = false;  // v1+
        std::vector<partition> partitions;
        std::int32_t topic_authorized_operations = -2147483648;  // v8+
        bool operator==(const topic&) const = default;
    };
    std::int32_t throttle_time_ms = 0;  // v3+
    std::vector<broker> brokers;
    std::optional<std::string> cluster_id;  // v2+
    std::int32_t controller_id = -1;        // v1+
    std::vector<topic> topics;
    std::int32_t cluster_authorized_operations = -2147483648;  // v8+
    bool operator==(const metadata_response&) const = default;
};

}  // namespace sluice::kafka

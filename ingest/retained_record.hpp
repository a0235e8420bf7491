#pragma once
// Retained messages as records of the compacted internal topic "__retained": key = MQTT
// topic, value = payload, headers as for any publish (record_mapping.hpp) minus the delivery
// id. An empty retained payload (which deletes the retained message) is a tombstone: a null
// value, which compaction removes after delete_retention_ms. Replayed into memory at start.
// Thread: pure functions.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "ingest/record_mapping.hpp"
#include "mqtt/packet.hpp"
#include "store/log_config.hpp"
#include "store/record.hpp"

namespace sluice::ingest {

constexpr std::string_view retained_topic = "__retained";
constexpr int retained_partitions = 1;

// Compacted, no time or size retention, durability always.
store::log_config retained_log_config();

// The record for a retained publish (`publish.topic` resolved, retain set or not: the record
// says retain "1"). An empty payload gives a tombstone carrying only the key.
store::record retained_to_record(const mqtt::publish& publish, std::string_view client_id,
                                 std::int64_t receive_ms);

struct retained_entry {
    std::string topic;                     // the key: the retained message's topic
    std::optional<mqtt::publish> message;  // nullopt: delete the retained message of `topic`
};

// A record of "__retained" read back. Errors: missing_topic (no key), invalid_header,
// expired (its message expiry has passed: treat as deleted; `entry.topic` is still set).
struct retained_result {
    mapping_error error = mapping_error::ok;
    std::string detail;
    retained_entry entry;
    bool ok() const { return error == mapping_error::ok; }
};
retained_result retained_from_record(const store::record& record, std::int64_t now_ms);

}  // namespace sluice::ingest

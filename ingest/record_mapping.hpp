#pragma once
// MQTT publish <-> log record (docs/ingest.md, "Record format").
//
//   key        the partition key the ingest rule chose (or none)
//   value      the payload
//   timestamp  the receive time (ms since the epoch)
//   headers    mqtt.topic, mqtt.qos, mqtt.retain, mqtt.client_id, mqtt.delivery_id, then for
//              MQTT 5 when present mqtt.payload_format, mqtt.message_expiry, mqtt.content_type,
//              mqtt.response_topic, mqtt.correlation_data, then one "mqtt.user.<name>" header
//              per user property, in order. Numbers are decimal text; retain is "0" or "1".
//
// Thread: pure functions.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "ingest/delivery_id.hpp"
#include "mqtt/packet.hpp"
#include "store/record.hpp"

namespace sluice::ingest {

// Why a record cannot become an MQTT publish.
enum class mapping_error {
    ok,
    missing_topic,      // no mqtt.topic header (replay) and no topic from the egress rule
    invalid_header,     // an mqtt.* header with a value out of its range or not UTF-8
    expired,            // the message expiry interval has passed since the record's timestamp
    key_missing,        // the egress template needs {key} and the record has none
    invalid_topic,      // the resulting topic is not a valid MQTT topic name
    wildcard_in_topic,  // the resulting topic contains '+' or '#'
    reserved_topic,     // the resulting topic starts with '$'
};

const char* to_string(mapping_error e);

// A publish rebuilt from a record, or why not (`detail` names the header or topic at fault).
struct publish_result {
    mapping_error error = mapping_error::ok;
    std::string detail;
    mqtt::publish publish{};  // valid when error == ok; packet id 0, dup false
    bool ok() const { return error == mapping_error::ok; }
};

// The record for an MQTT publish. `publish.topic` must be the resolved topic (a topic alias
// already replaced by the broker); topic aliases and subscription identifiers are per
// connection and not recorded. Properties are recorded whatever the protocol level (a 3.1.1
// publish has none). message_expiry is the interval as received, in seconds.
store::record to_record(const mqtt::publish& publish, std::string_view client_id,
                        std::int64_t receive_ms, const delivery_id& id,
                        std::optional<std::string_view> key);

// The publish a record stands for, for replay to sessions: topic from mqtt.topic, QoS,
// retain and properties from their headers; the message expiry reduced by the whole seconds
// since the record's timestamp (`expired` once nothing is left). Headers outside "mqtt." are
// ignored; mqtt.client_id and mqtt.delivery_id are not part of a publish.
publish_result from_record(const store::record& record, std::int64_t now_ms);

namespace detail {
// Applies every mqtt.* header (and, when plain_as_user_properties, every header outside
// "mqtt." as a user property) to `out`, whose topic, qos and retain are defaults to override.
mapping_error apply_headers(const store::record& record, std::int64_t now_ms,
                            bool plain_as_user_properties, mqtt::publish& out, std::string& detail);
}  // namespace detail

}  // namespace sluice::ingest

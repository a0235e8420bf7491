#pragma once
// Egress rules: records that Kafka producers write to a log topic, delivered to MQTT
// subscribers. One rule per log topic; config: the "egress_rules" JSON array
// (docs/ingest.md, "Egress rules").
// Thread: immutable after parse; find() and to_publish() may be called from any thread.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "ingest/record_mapping.hpp"
#include "ingest/topic_template.hpp"
#include "mqtt/protocol_version.hpp"
#include "store/record.hpp"

namespace sluice::ingest {

struct egress_rule {
    std::string log_topic;
    std::optional<topic_template> mqtt_topic;  // "mqtt_topic"
    bool topic_from_header = false;            // "topic_from_header": use mqtt.topic if present
    mqtt::qos qos = mqtt::qos::at_least_once;  // "qos": unless the record has mqtt.qos
    bool headers_as_user_properties = false;   // "headers_as_user_properties"
    // "partitions": the partition count the broker creates a missing log topic with (1 when
    // absent); an existing topic must have this many when it is given.
    std::optional<int> partitions;
    bool operator==(const egress_rule&) const = default;
};

class egress_rules {
  public:
    // `rules` is the value of "egress_rules": an array of rule objects (null: no rules).
    // nullopt with `error` ("egress_rules[1].qos: must be 0, 1 or 2"); never throws.
    static std::optional<egress_rules> parse(const nlohmann::json& rules, std::string& error);

    const egress_rule* find(std::string_view log_topic) const;
    const std::vector<egress_rule>& rules() const { return rules_; }

  private:
    std::vector<egress_rule> rules_;
};

// The publish for one record of the rule's log topic: the topic from the mqtt.topic header
// when the rule allows it and the record has one, else from the template; QoS from mqtt.qos
// or the rule; retain from mqtt.retain; properties from the mqtt.* headers (record_mapping.hpp)
// with the message expiry counted from the record's timestamp; user properties from
// "mqtt.user.<name>" headers (and every header outside "mqtt." when the rule says so).
publish_result to_publish(const egress_rule& rule, const store::record& record, int partition,
                          std::int64_t now_ms);

}  // namespace sluice::ingest

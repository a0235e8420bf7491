#pragma once
// Ingest rules: which MQTT publishes are written to which log topic, how they are keyed and
// partitioned, and how durable the append must be before the publish is acknowledged.
// An ordered list; the first rule whose filter matches the topic decides. `$SYS` topics are
// never logged. Config: the "ingest_rules" JSON array (docs/ingest.md).
// Thread: immutable after parse; match() may be called from any thread at once.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "store/log_config.hpp"

namespace sluice::ingest {

// What the record key (and so the partition) is made of.
enum class key_source { client_id, topic, topic_level };

struct partition_key_spec {
    key_source source = key_source::topic;
    std::uint16_t level = 0;  // topic_level: 0-based level of the MQTT topic
    bool operator==(const partition_key_spec&) const = default;
};

struct ingest_rule {
    std::string filter;  // MQTT topic filter, wildcards allowed
    bool logged = true;  // false: "log": false, matching publishes are not logged
    // The rest applies when logged.
    std::string log_topic;
    int partitions = 1;
    partition_key_spec key{};
    store::durability flush = store::durability::always;
    std::int64_t flush_interval_ms = 1000;  // durability::interval only
    bool operator==(const ingest_rule&) const = default;
};

// A filter split into levels once, so matching a topic allocates nothing.
// Thread: immutable; shared freely.
class compiled_filter {
  public:
    // filter must satisfy mqtt::valid_topic_filter and must not be a shared subscription.
    explicit compiled_filter(std::string_view filter);
    bool matches(std::string_view topic) const;

  private:
    enum class kind : std::uint8_t { literal, single, multi };
    struct level {
        kind k;
        std::string text;  // literal only
    };
    std::vector<level> levels_;
    bool starts_with_wildcard_ = false;
};

// The log topics the rules write to, with what a topic must be created with.
struct log_topic_spec {
    std::string name;
    int partitions = 1;
    store::log_config config;
};

class ingest_rules {
  public:
    // The rules used when none are configured: one rule "#" -> log topic "mqtt", 4 partitions,
    // keyed by MQTT topic, durability always (at-least-once: acknowledged once fsynced).
    static ingest_rules defaults();

    // `rules` is the value of "ingest_rules": an array of rule objects, or null / an empty
    // array for the defaults. nullopt with `error` ("ingest_rules[2].partitions: must be
    // >= 1") on the first problem; never throws.
    static std::optional<ingest_rules> parse(const nlohmann::json& rules, std::string& error);

    // The first rule whose filter matches `topic`, logged or not; nullptr when none matches
    // or the topic is a $SYS topic. topic is a valid topic name (aliases resolved).
    const ingest_rule* match(std::string_view topic) const;
    // match(), but nullptr also when the matched rule says "log": false.
    const ingest_rule* logging_rule(std::string_view topic) const;

    const std::vector<ingest_rule>& rules() const { return rules_; }
    // Each log topic once, in first-use order (for creating them at start-up).
    std::vector<log_topic_spec> log_topics() const;

  private:
    explicit ingest_rules(std::vector<ingest_rule> rules);
    std::vector<ingest_rule> rules_;
    std::vector<compiled_filter> filters_;
};

// The log topic's settings: the store's defaults with the rule's durability policy.
store::log_config log_config_for(const ingest_rule& rule);

// The record key for a publish under `rule`: the client id, the topic, or one topic level
// (the whole topic when the topic has fewer levels). A view into topic or client_id.
std::string_view partition_key(const partition_key_spec& spec, std::string_view topic,
                               std::string_view client_id);

// kafka_partition(partition_key(...), rule.partitions).
int partition_for(const ingest_rule& rule, std::string_view topic, std::string_view client_id);

// "client_id", "topic" or "level:N" (N decimal, 0..65535); nullopt otherwise.
std::optional<partition_key_spec> parse_partition_key(std::string_view text);
std::string to_string(const partition_key_spec& spec);

// A log topic name rules may use: a valid store topic name not starting with "__" (the
// prefix of internal topics such as "__retained").
bool valid_log_topic(std::string_view name);

}  // namespace sluice::ingest

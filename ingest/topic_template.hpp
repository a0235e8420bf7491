#pragma once
// An MQTT topic template of an egress rule, e.g. "devices/{key}/commands". Placeholders:
// {key} (the record key), {topic} (the log topic), {partition} (decimal). Everything else is
// literal; '{' and '}' appear only as placeholder delimiters.
// Thread: immutable after parse; shared freely.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ingest/record_mapping.hpp"

namespace sluice::ingest {

class topic_template {
  public:
    // nullopt with `error` (e.g. "unknown placeholder {id}") for a template that can never
    // give a valid topic: empty, unbalanced braces, unknown placeholder, '+' or '#' in the
    // literal text, a leading '$', or not UTF-8.
    static std::optional<topic_template> parse(std::string_view text, std::string& error);

    bool uses_key() const { return uses_key_; }
    const std::string& text() const { return text_; }

    // The topic for one record. Fails with key_missing ({key} and no key), wildcard_in_topic
    // (a substituted value holds '+' or '#'), reserved_topic (starts with '$') or
    // invalid_topic (not a valid MQTT topic name: empty, too long, not UTF-8).
    mapping_error render(const std::optional<std::string>& key, std::string_view log_topic,
                         int partition, std::string& out) const;

    bool operator==(const topic_template& o) const { return text_ == o.text_; }

  private:
    enum class part_kind : std::uint8_t { literal, key, topic, partition };
    struct part {
        part_kind kind;
        std::string text;  // literal only
    };
    std::string text_;
    std::vector<part> parts_;
    bool uses_key_ = false;
};

// The checks a topic from a template or a header must pass before it goes to devices.
mapping_error check_outbound_topic(std::string_view topic);

}  // namespace sluice::ingest

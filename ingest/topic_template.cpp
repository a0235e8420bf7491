#include "ingest/topic_template.hpp"

#include "mqtt/topic.hpp"
#include "mqtt/utf8.hpp"

namespace sluice::ingest {

std::optional<topic_template> topic_template::parse(std::string_view text, std::string& error) {
    if (text.empty()) {
        error = "must not be empty";
        return std::nullopt;
    }
    if (!mqtt::valid_utf8(text)) {
        error = "must be UTF-8";
        return std::nullopt;
    }
    if (text.front() == '$') {
        error = "must not start with '$'";
        return std::nullopt;
    }
    topic_template t;
    t.text_ = std::string(text);
    std::size_t i = 0;
    while (i < text.size()) {
        const std::size_t open = text.find_first_of("{}", i);
        if (open == std::string_view::npos || text[open] == '}') {
            if (open != std::string_view::npos) {
                error = "'}' without '{'";
                return std::nullopt;
            }
            t.parts_.push_back({part_kind::literal, std::string(text.substr(i))});
            break;
        }
        if (open > i)
            t.parts_.push_back({part_kind::literal, std::string(text.substr(i, open - i))});
        const std::size_t close = text.find('}', open);
        if (close == std::string_view::npos) {
            error = "'{' without '}'";
            return std::nullopt;
        }
        const std::string_view name = text.substr(open + 1, close - open - 1);
        if (name == "key") {
            t.parts_.push_back({part_kind::key, {}});
            t.uses_key_ = true;
        } else if (name == "topic") {
            t.parts_.push_back({part_kind::topic, {}});
        } else if (name == "partition") {
            t.parts_.push_back({part_kind::partition, {}});
        } else {
            error = "unknown placeholder {" + std::string(name) +
                    "} (known: {key}, {topic}, {partition})";
            return std::nullopt;
        }
        i = close + 1;
    }
    for (const auto& p : t.parts_) {
        if (p.kind == part_kind::literal && p.text.find_first_of("+#") != std::string::npos) {
            error = "must not contain '+' or '#'";
            return std::nullopt;
        }
    }
    return t;
}

mapping_error topic_template::render(const std::optional<std::string>& key,
                                     std::string_view log_topic, int partition,
                                     std::string& out) const {
    out.clear();
    for (const auto& p : parts_) {
        switch (p.kind) {
            case part_kind::literal:
                out += p.text;
                break;
            case part_kind::key:
                if (!key) return mapping_error::key_missing;
                out += *key;
                break;
            case part_kind::topic:
                out += log_topic;
                break;
            case part_kind::partition:
                out += std::to_string(partition);
                break;
        }
    }
    return check_outbound_topic(out);
}

mapping_error check_outbound_topic(std::string_view topic) {
    if (topic.find_first_of("+#") != std::string_view::npos)
        return mapping_error::wildcard_in_topic;
    if (!topic.empty() && topic.front() == '$') return mapping_error::reserved_topic;
    if (!mqtt::valid_topic_name(topic)) return mapping_error::invalid_topic;
    return mapping_error::ok;
}

}  // namespace sluice::ingest

#include "ingest/egress_rules.hpp"

#include "ingest/headers.hpp"
#include "ingest/ingest_rules.hpp"
#include "ingest/rule_json.hpp"

namespace sluice::ingest {
namespace {

bool parse_rule(detail::json_object_reader& in, egress_rule& rule) {
    if (!in.only_keys(
            {"log_topic", "mqtt_topic", "topic_from_header", "qos", "headers_as_user_properties",
             "partitions"}))
        return false;
    std::optional<std::string> log_topic;
    if (!in.get_string("log_topic", log_topic)) return false;
    if (!log_topic) return in.fail("log_topic", "required");
    if (!valid_log_topic(*log_topic))
        return in.fail("log_topic",
                       "must be 1..249 of [a-zA-Z0-9._-], not \".\" or \"..\", not starting "
                       "with \"__\"");
    rule.log_topic = *log_topic;

    std::optional<std::string> mqtt_topic;
    if (!in.get_string("mqtt_topic", mqtt_topic)) return false;
    std::optional<bool> from_header;
    if (!in.get_bool("topic_from_header", from_header)) return false;
    rule.topic_from_header = from_header.value_or(false);
    if (mqtt_topic) {
        std::string why;
        rule.mqtt_topic = topic_template::parse(*mqtt_topic, why);
        if (!rule.mqtt_topic) return in.fail("mqtt_topic", why);
    } else if (!rule.topic_from_header) {
        return in.fail("mqtt_topic", "required unless \"topic_from_header\" is true");
    }

    std::optional<std::int64_t> qos;
    if (!in.get_int("qos", qos)) return false;
    if (qos) {
        if (*qos < 0 || *qos > 2) return in.fail("qos", "must be 0, 1 or 2");
        rule.qos = static_cast<mqtt::qos>(*qos);
    }
    std::optional<bool> plain;
    if (!in.get_bool("headers_as_user_properties", plain)) return false;
    rule.headers_as_user_properties = plain.value_or(false);
    std::optional<std::int64_t> partitions;
    if (!in.get_int("partitions", partitions)) return false;
    if (partitions) {
        if (*partitions < 1 || *partitions > 10'000)
            return in.fail("partitions", "must be 1..10000");
        rule.partitions = static_cast<int>(*partitions);
    }
    return true;
}

}  // namespace

std::optional<egress_rules> egress_rules::parse(const nlohmann::json& rules, std::string& error) {
    try {
        egress_rules out;
        if (rules.is_null()) return out;
        if (!rules.is_array()) {
            error = "egress_rules: must be an array of objects";
            return std::nullopt;
        }
        for (std::size_t i = 0; i < rules.size(); ++i) {
            const std::string path = detail::indexed_path("egress_rules", i);
            if (!rules[i].is_object()) {
                error = path + ": must be an object";
                return std::nullopt;
            }
            detail::json_object_reader in(rules[i], path);
            egress_rule rule;
            if (!parse_rule(in, rule)) {
                error = in.error();
                return std::nullopt;
            }
            for (std::size_t k = 0; k < out.rules_.size(); ++k) {
                if (out.rules_[k].log_topic == rule.log_topic) {
                    in.fail("log_topic", "\"" + rule.log_topic + "\" already has a rule (" +
                                             detail::indexed_path("egress_rules", k) + ")");
                    error = in.error();
                    return std::nullopt;
                }
            }
            out.rules_.push_back(std::move(rule));
        }
        return out;
    } catch (const std::exception& e) {
        error = std::string("egress_rules: ") + e.what();
        return std::nullopt;
    }
}

const egress_rule* egress_rules::find(std::string_view log_topic) const {
    for (const auto& r : rules_)
        if (r.log_topic == log_topic) return &r;
    return nullptr;
}

publish_result to_publish(const egress_rule& rule, const store::record& record, int partition,
                          std::int64_t now_ms) {
    publish_result result;
    mqtt::publish& out = result.publish;
    out.qos_level = rule.qos;

    const store::record_header* header_topic = nullptr;
    if (rule.topic_from_header)
        for (const auto& h : record.headers)
            if (h.key == header::topic) header_topic = &h;
    if (header_topic) {
        if (!header_topic->value) {
            result.error = mapping_error::invalid_header;
            result.detail = std::string(header::topic);
            return result;
        }
        out.topic = *header_topic->value;
        result.error = check_outbound_topic(out.topic);
    } else if (rule.mqtt_topic) {
        result.error = rule.mqtt_topic->render(record.key, rule.log_topic, partition, out.topic);
    } else {
        result.error = mapping_error::missing_topic;
    }
    if (!result.ok()) {
        result.detail = header_topic ? std::string(header::topic) : out.topic;
        return result;
    }
    result.error =
        detail::apply_headers(record, now_ms, rule.headers_as_user_properties, out, result.detail);
    if (!result.ok()) return result;
    if (record.value) out.payload = mqtt::shared_bytes(std::string_view(*record.value));
    return result;
}

}  // namespace sluice::ingest

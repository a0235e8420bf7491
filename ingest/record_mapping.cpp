#include "ingest/record_mapping.hpp"

#include <algorithm>
#include <charconv>
#include <limits>

#include "ingest/headers.hpp"
#include "mqtt/topic.hpp"
#include "mqtt/utf8.hpp"

namespace sluice::ingest {
namespace {

constexpr std::size_t max_mqtt_string = 65'535;

void add(std::vector<store::record_header>& headers, std::string_view key, std::string value) {
    headers.push_back({std::string(key), std::move(value)});
}

bool mqtt_string(std::string_view s) {
    return s.size() <= max_mqtt_string && mqtt::valid_utf8(s);
}

template <typename T>
std::optional<T> parse_number(std::string_view s) {
    if (s.empty() || (s.size() > 1 && s[0] == '0')) return std::nullopt;
    T value{};
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
    return value;
}

// now - then, 0 when then is later; saturated, since a record's timestamp is whatever its
// producer wrote (a Kafka producer may send any int64).
std::int64_t elapsed_ms(std::int64_t then, std::int64_t now) {
    if (then >= now) return 0;
    std::int64_t d = 0;
    if (__builtin_sub_overflow(now, then, &d)) return std::numeric_limits<std::int64_t>::max();
    return d;
}

std::optional<bool> parse_flag(std::string_view s) {
    if (s == "1" || s == "true") return true;
    if (s == "0" || s == "false") return false;
    return std::nullopt;
}

}  // namespace

const char* to_string(mapping_error e) {
    switch (e) {
        case mapping_error::ok:
            return "ok";
        case mapping_error::missing_topic:
            return "missing topic";
        case mapping_error::invalid_header:
            return "invalid header";
        case mapping_error::expired:
            return "message expired";
        case mapping_error::key_missing:
            return "record has no key";
        case mapping_error::invalid_topic:
            return "invalid topic";
        case mapping_error::wildcard_in_topic:
            return "wildcard in topic";
        case mapping_error::reserved_topic:
            return "topic starts with '$'";
    }
    return "unknown";
}

store::record to_record(const mqtt::publish& publish, std::string_view client_id,
                        std::int64_t receive_ms, const delivery_id& id,
                        std::optional<std::string_view> key) {
    store::record r;
    r.timestamp = receive_ms;
    if (key) r.key = std::string(*key);
    r.value = publish.payload.to_string();
    const mqtt::properties& p = publish.props;
    r.headers.reserve(5 + 5 + p.user_properties.size());
    add(r.headers, header::topic, publish.topic);
    add(r.headers, header::qos, std::to_string(static_cast<int>(publish.qos_level)));
    add(r.headers, header::retain, publish.retain ? "1" : "0");
    add(r.headers, header::client_id, std::string(client_id));
    add(r.headers, header::delivery_id, id.to_string());
    if (p.payload_format_indicator)
        add(r.headers, header::payload_format,
            std::to_string(static_cast<int>(*p.payload_format_indicator)));
    if (p.message_expiry_interval)
        add(r.headers, header::message_expiry, std::to_string(*p.message_expiry_interval));
    if (p.content_type) add(r.headers, header::content_type, *p.content_type);
    if (p.response_topic) add(r.headers, header::response_topic, *p.response_topic);
    if (p.correlation_data) add(r.headers, header::correlation_data, *p.correlation_data);
    for (const auto& [name, value] : p.user_properties) {
        std::string k(header::user_prefix);
        k += name;
        r.headers.push_back({std::move(k), value});
    }
    return r;
}

namespace detail {

mapping_error apply_headers(const store::record& record, std::int64_t now_ms,
                            bool plain_as_user_properties, mqtt::publish& out,
                            std::string& detail) {
    mqtt::properties& p = out.props;
    for (const auto& h : record.headers) {
        const std::string_view key = h.key;
        if (key.substr(0, header::reserved_prefix.size()) != header::reserved_prefix) {
            if (!plain_as_user_properties) continue;
            std::string value = h.value.value_or(std::string());
            if (!mqtt_string(key) || !mqtt_string(value)) {
                detail = h.key;
                return mapping_error::invalid_header;
            }
            p.user_properties.emplace_back(h.key, std::move(value));
            continue;
        }
        if (key.substr(0, header::user_prefix.size()) == header::user_prefix) {
            std::string name(key.substr(header::user_prefix.size()));
            std::string value = h.value.value_or(std::string());
            if (!mqtt_string(name) || !mqtt_string(value)) {
                detail = h.key;
                return mapping_error::invalid_header;
            }
            p.user_properties.emplace_back(std::move(name), std::move(value));
            continue;
        }
        // The topic is the caller's (replay and egress choose it differently); the client id
        // and delivery id describe the record, not the publish. Unknown mqtt.* keys are
        // left for newer versions.
        const bool known = key == header::qos || key == header::retain ||
                           key == header::payload_format || key == header::message_expiry ||
                           key == header::content_type || key == header::response_topic ||
                           key == header::correlation_data;
        if (!known) continue;
        if (!h.value) {
            detail = h.key;
            return mapping_error::invalid_header;
        }
        const std::string& v = *h.value;
        bool good = true;
        if (key == header::qos) {
            good = v == "0" || v == "1" || v == "2";
            if (good) out.qos_level = static_cast<mqtt::qos>(v[0] - '0');
        } else if (key == header::retain) {
            auto flag = parse_flag(v);
            good = flag.has_value();
            if (good) out.retain = *flag;
        } else if (key == header::payload_format) {
            good = v == "0" || v == "1";
            if (good) p.payload_format_indicator = static_cast<mqtt::payload_format>(v[0] - '0');
        } else if (key == header::message_expiry) {
            auto interval = parse_number<std::uint32_t>(v);
            good = interval.has_value();
            if (good) {
                // Whole seconds waited; expired once the full interval has passed (MQTT 3.3.2.3.3).
                const std::int64_t waited_ms = elapsed_ms(record.timestamp, now_ms);
                if (waited_ms >= static_cast<std::int64_t>(*interval) * 1000) {
                    detail = h.key;
                    return mapping_error::expired;
                }
                p.message_expiry_interval =
                    *interval - static_cast<std::uint32_t>(waited_ms / 1000);
            }
        } else if (key == header::content_type) {
            good = mqtt_string(v);
            if (good) p.content_type = v;
        } else if (key == header::response_topic) {
            good = mqtt::valid_topic_name(v);
            if (good) p.response_topic = v;
        } else if (key == header::correlation_data) {
            good = v.size() <= max_mqtt_string;
            if (good) p.correlation_data = v;
        }
        if (!good) {
            detail = h.key;
            return mapping_error::invalid_header;
        }
    }
    return mapping_error::ok;
}

}  // namespace detail

publish_result from_record(const store::record& record, std::int64_t now_ms) {
    publish_result result;
    const store::record_header* topic = nullptr;
    for (const auto& h : record.headers)
        if (h.key == header::topic) topic = &h;
    if (!topic || !topic->value) {
        result.error = mapping_error::missing_topic;
        result.detail = std::string(header::topic);
        return result;
    }
    if (!mqtt::valid_topic_name(*topic->value)) {
        result.error = mapping_error::invalid_header;
        result.detail = std::string(header::topic);
        return result;
    }
    result.publish.topic = *topic->value;
    result.error = detail::apply_headers(record, now_ms, false, result.publish, result.detail);
    if (!result.ok()) return result;
    if (record.value) result.publish.payload = mqtt::shared_bytes(std::string_view(*record.value));
    return result;
}

}  // namespace sluice::ingest

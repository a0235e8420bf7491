#include "broker/egress_offsets.hpp"

#include <charconv>

#include "broker/internal_topic.hpp"
#include "broker/log.hpp"

namespace sluice::broker::egress_offsets {

store::log_config log_config() {
    store::log_config c;
    c.cleanup = store::cleanup_policy::compact;
    c.retention_ms = -1;
    c.retention_bytes = -1;
    c.flush = store::durability::always;
    c.segment_bytes = 16u << 20;
    return c;
}

std::string encode_key(std::string_view log_topic, int partition) {
    return std::string(log_topic) + ":" + std::to_string(partition);
}

std::optional<std::pair<std::string, int>> decode_key(std::string_view key) {
    const auto colon = key.rfind(':');
    if (colon == std::string_view::npos || colon == 0) return std::nullopt;
    int partition = -1;
    const char* first = key.data() + colon + 1;
    const char* last = key.data() + key.size();
    auto [end, ec] = std::from_chars(first, last, partition);
    if (ec != std::errc() || end != last || first == last || partition < 0) return std::nullopt;
    return std::make_pair(std::string(key.substr(0, colon)), partition);
}

std::string encode_value(std::int64_t next_offset) {
    return std::to_string(next_offset);
}

std::optional<std::int64_t> decode_value(std::string_view value) {
    std::int64_t v = -1;
    const char* last = value.data() + value.size();
    auto [end, ec] = std::from_chars(value.data(), last, v);
    if (ec != std::errc() || end != last || value.empty() || v < 0) return std::nullopt;
    return v;
}

std::shared_ptr<store::partition> open(store::store& s, table& out, std::string& error) {
    if (!ensure_internal_topic(s, topic, 1, log_config(), error)) return nullptr;
    auto p = s.get(topic, 0);
    if (!p) {
        error = std::string("cannot open ") + topic;
        return nullptr;
    }
    auto e = p->for_each_record(p->log_start_offset(), [&](const store::record& r) {
        auto key = r.key ? decode_key(*r.key) : std::nullopt;
        auto value = r.value ? decode_value(*r.value) : std::nullopt;
        if (!key || !value) {
            log_warn(topic, ": record at offset ", r.offset, " is not a position; ignored");
            return true;
        }
        out[*key] = *value;  // the latest wins
        return true;
    });
    if (e != store::errc::ok) {
        error = std::string("cannot read ") + topic + ": " + store::to_string(e);
        return nullptr;
    }
    return p;
}

}  // namespace sluice::broker::egress_offsets

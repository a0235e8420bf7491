#include "ingest/retained_record.hpp"

#include "ingest/headers.hpp"
#include "mqtt/topic.hpp"

namespace sluice::ingest {

store::log_config retained_log_config() {
    store::log_config c;
    c.cleanup = store::cleanup_policy::compact;
    c.retention_ms = -1;
    c.retention_bytes = -1;
    c.flush = store::durability::always;
    return c;
}

store::record retained_to_record(const mqtt::publish& publish, std::string_view client_id,
                                 std::int64_t receive_ms) {
    if (publish.payload.empty()) {
        store::record tombstone;
        tombstone.timestamp = receive_ms;
        tombstone.key = publish.topic;
        return tombstone;
    }
    store::record r = to_record(publish, client_id, receive_ms, delivery_id{}, publish.topic);
    // A retained record is state, not a delivery: no delivery id; retain is what it is.
    std::erase_if(r.headers,
                  [](const store::record_header& h) { return h.key == header::delivery_id; });
    for (auto& h : r.headers)
        if (h.key == header::retain) h.value = "1";
    return r;
}

retained_result retained_from_record(const store::record& record, std::int64_t now_ms) {
    retained_result result;
    if (!record.key || record.key->empty()) {
        result.error = mapping_error::missing_topic;
        result.detail = "key";
        return result;
    }
    if (!mqtt::valid_topic_name(*record.key)) {
        result.error = mapping_error::invalid_topic;
        result.detail = "key";
        return result;
    }
    result.entry.topic = *record.key;
    if (!record.value) return result;  // tombstone
    mqtt::publish p;
    p.topic = *record.key;
    p.retain = true;
    result.error = detail::apply_headers(record, now_ms, false, p, result.detail);
    if (!result.ok()) return result;
    p.retain = true;
    p.payload = mqtt::shared_bytes(std::string_view(*record.value));
    result.entry.message = std::move(p);
    return result;
}

}  // namespace sluice::ingest

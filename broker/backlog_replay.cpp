#include "broker/backlog_replay.hpp"

#include <algorithm>

#include "ingest/record_mapping.hpp"
#include "mqtt/topic.hpp"
#include "store/batch_reader.hpp"
#include "store/record_batch.hpp"

namespace sluice::broker {

namespace {

std::string_view client_id_of(const store::record& r) {
    for (const auto& h : r.headers)
        if (h.key == "mqtt.client_id" && h.value) return *h.value;
    return {};
}

}  // namespace

std::optional<delivery> match_backlog(const message_ptr& msg, std::string_view publisher,
                                      std::int64_t record_ms, const backlog_subscriber& sub) {
    // The same merge as router::route for a session's plain subscriptions.
    delivery d;
    bool any = false;
    for (const auto& [filter, rec] : sub.subscriptions) {
        if (filter.starts_with("$share/")) continue;
        if (record_ms < rec.since_ms) continue;  // received before this subscription existed
        if (!mqtt::topic_matches(filter, msg->topic())) continue;
        if (rec.options.no_local && !publisher.empty() && publisher == sub.client_id) continue;
        const mqtt::qos q = std::min(msg->qos_level(), rec.options.max_qos);
        if (!any || q > d.qos_level) d.qos_level = q;
        if (rec.options.retain_as_published && msg->retain()) d.retain = true;
        if (rec.subscription_id) d.subscription_ids.push_back(rec.subscription_id);
        any = true;
    }
    if (!any) return std::nullopt;
    d.msg = msg;
    return d;
}

replay_step replay_backlog(const store::partition& p, const replay_request& req,
                           const backlog_subscriber& sub, const backlog_limits& limits,
                           backlog_usage& used) {
    replay_step out;
    std::int64_t at = req.from;
    // Retention removed what the session had not read: counted, and the replay goes on from
    // what is left.
    const std::int64_t start = p.log_start_offset().value;
    if (at < start) {
        out.lost_to_retention = static_cast<std::uint64_t>(start - at);
        at = start;
    }
    const std::int64_t until = std::min(req.until, p.high_watermark().value);
    out.next = at;
    if (at >= req.until) {
        out.done = true;
        return out;
    }
    if (at >= until || req.room == 0) return out;  // wait for the commit, or for room

    store::byte_buffer bytes;
    store::offset next_offset;
    if (auto e = p.read_copy(store::offset{at}, req.max_read_bytes, bytes, next_offset);
        e != store::errc::ok) {
        out.error = e;
        return out;
    }
    const auto now = steady_clock::now();
    std::size_t pos = 0;
    bool full = false;
    while (pos < bytes.size() && !full) {
        auto h = store::parse_batch_header(bytes.data() + pos, bytes.size() - pos);
        if (!h) break;  // read_copy returns whole, checked batches only
        const auto span = store::byte_span(bytes).subspan(pos, h->size_bytes());
        pos += h->size_bytes();
        const std::int64_t batch_end = h->last_offset().value + 1;
        if (h->is_control()) {
            out.next = std::max(out.next, std::min(batch_end, until));
            continue;
        }
        store::decoded_batch batch;
        if (store::decode_batch(span, batch) != store::errc::ok) {
            // Checked by its CRC, yet not decodable: nothing in it can be replayed.
            out.unreadable += static_cast<std::uint64_t>(h->last_offset_delta) + 1;
            out.next = std::max(out.next, std::min(batch_end, until));
            continue;
        }
        for (const auto& rec : batch.records) {
            if (rec.offset < at) continue;
            if (rec.offset >= until) {
                full = true;  // the rest is past `until`
                break;
            }
            if (out.deliveries.size() >= req.room) {
                full = true;
                break;
            }
            out.next = rec.offset + 1;
            auto res = ingest::from_record(rec, req.now_ms);
            if (!res.ok()) {
                ++out.unreadable;  // not an MQTT publish, or its expiry passed
                continue;
            }
            auto msg = make_message(std::move(res.publish), nullptr, now);
            auto d = match_backlog(msg, client_id_of(rec), rec.timestamp, sub);
            if (!d) continue;
            // QoS 0 is never kept for an offline session (as in its queue).
            if (d->qos_level == mqtt::qos::at_most_once) continue;
            const std::uint64_t size = msg->payload_size();
            const bool too_old = limits.max_age_ms > 0 && req.now_ms - rec.timestamp > limits.max_age_ms;
            const bool over = (limits.max_messages > 0 && used.messages >= limits.max_messages) ||
                              (limits.max_bytes > 0 && used.bytes + size > limits.max_bytes);
            if (too_old || over) {
                ++out.over_limits;
                continue;
            }
            ++used.messages;
            used.bytes += size;
            out.deliveries.emplace_back(rec.offset, std::move(*d));
        }
        if (!full) out.next = std::max(out.next, std::min(batch_end, until));
    }
    out.done = out.next >= req.until;
    return out;
}

}  // namespace sluice::broker

#include "broker/backlog_replay.hpp"

#include <algorithm>

#include "ingest/delivery_id.hpp"
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

backlog_chunk read_backlog_chunk(const store::partition& p, std::int64_t from, std::int64_t until,
                                 std::uint64_t max_read_bytes, std::int64_t now_ms,
                                 store::byte_buffer* scratch) {
    backlog_chunk out;
    out.from = from;
    out.next = from;
    if (from >= until) return out;
    store::byte_buffer own;
    store::byte_buffer& bytes = scratch ? *scratch : own;
    store::offset next_offset;
    if (auto e = p.read_copy(store::offset{from}, max_read_bytes, bytes, next_offset);
        e != store::errc::ok) {
        out.error = e;
        return out;
    }
    out.bytes_read = bytes.size();
    const auto now = steady_clock::now();
    std::size_t pos = 0;
    bool past = false;
    while (pos < bytes.size() && !past) {
        auto h = store::parse_batch_header(bytes.data() + pos, bytes.size() - pos);
        if (!h) break;  // read_copy returns whole, checked batches only
        const auto span = store::byte_span(bytes).subspan(pos, h->size_bytes());
        pos += h->size_bytes();
        const std::int64_t batch_end = std::min(h->last_offset().value + 1, until);
        if (h->is_control()) {
            out.next = std::max(out.next, batch_end);
            continue;
        }
        store::decoded_batch batch;
        if (store::decode_batch(span, batch) != store::errc::ok) {
            // Checked by its CRC, yet not decodable: nothing in it can be replayed.
            backlog_record r;
            r.offset = std::max(h->base_offset, from);
            r.end = batch_end;
            r.unreadable = static_cast<std::uint64_t>(h->last_offset_delta) + 1;
            if (r.end > r.offset) out.records.push_back(std::move(r));
            out.next = std::max(out.next, batch_end);
            continue;
        }
        for (const auto& rec : batch.records) {
            if (rec.offset < from) continue;
            if (rec.offset >= until) {
                past = true;
                break;
            }
            // Only what an MQTT publish wrote is replayed: what the live path routed.
            if (!ingest::written_by_mqtt_ingest(batch.header, rec)) {
                ++out.not_ingested;
                continue;
            }
            backlog_record r;
            r.offset = rec.offset;
            r.end = rec.offset + 1;
            r.timestamp = rec.timestamp;
            auto res = ingest::from_record(rec, now_ms);
            if (res.ok()) {
                r.msg = make_message(std::move(res.publish), nullptr, now);
                r.publisher = std::string(client_id_of(rec));
            } else {
                r.unreadable = 1;  // not an MQTT publish, or its expiry passed
            }
            out.records.push_back(std::move(r));
        }
        out.next = std::max(out.next, batch_end);
    }
    return out;
}

replay_step select_backlog(const backlog_chunk& chunk, const replay_request& req,
                           const backlog_subscriber& sub, const backlog_limits& limits,
                           backlog_usage& used) {
    replay_step out;
    out.next = req.from;
    if (req.from >= req.until) {
        out.done = true;
        return out;
    }
    if (req.room == 0 || !chunk.covers(req.from)) return out;
    const auto now = steady_clock::now();
    // The first record that ends past the cursor (an undecodable batch may start before it).
    auto it = std::partition_point(chunk.records.begin(), chunk.records.end(),
                                   [&](const backlog_record& r) { return r.end <= req.from; });
    bool stopped = false;
    for (; it != chunk.records.end(); ++it) {
        const backlog_record& r = *it;
        if (r.offset >= req.until || out.deliveries.size() >= req.room) {
            stopped = true;
            break;
        }
        out.next = std::min(r.end, req.until);
        // Expired since the chunk was read counts as when it was read.
        if (!r.msg || r.msg->expired(now)) {
            out.unreadable += r.msg ? 1 : r.unreadable;
            continue;
        }
        auto d = match_backlog(r.msg, r.publisher, r.timestamp, sub);
        if (!d) continue;
        // QoS 0 is never kept for an offline session (as in its queue).
        if (d->qos_level == mqtt::qos::at_most_once) continue;
        const std::uint64_t size = r.msg->payload_size();
        const bool too_old = limits.max_age_ms > 0 && req.now_ms - r.timestamp > limits.max_age_ms;
        const bool over = (limits.max_messages > 0 && used.messages >= limits.max_messages) ||
                          (limits.max_bytes > 0 && used.bytes + size > limits.max_bytes);
        if (too_old || over) {
            ++out.over_limits;
            continue;
        }
        ++used.messages;
        used.bytes += size;
        out.deliveries.emplace_back(r.offset, std::move(*d));
    }
    if (!stopped) out.next = std::max(out.next, std::min(chunk.next, req.until));
    out.done = out.next >= req.until;
    return out;
}

std::int64_t replay_start(const store::partition& p, std::int64_t from, std::int64_t until,
                          replay_step& out) {
    const std::int64_t start = p.log_start_offset().value;
    if (from < start) {
        out.lost_to_retention = static_cast<std::uint64_t>(start - from);
        from = start;
    }
    out.next = from;
    out.done = from >= until;
    return from;
}

replay_step replay_backlog(const store::partition& p, const replay_request& req,
                           const backlog_subscriber& sub, const backlog_limits& limits,
                           backlog_usage& used) {
    replay_step out;
    const std::int64_t at = replay_start(p, req.from, req.until, out);
    if (out.done) return out;
    const std::int64_t until = std::min(req.until, p.high_watermark().value);
    if (at >= until || req.room == 0) return out;  // wait for the commit, or for room

    const auto chunk = read_backlog_chunk(p, at, until, req.max_read_bytes, req.now_ms);
    if (chunk.error != store::errc::ok) {
        out.error = chunk.error;
        return out;
    }
    replay_request from_start = req;
    from_start.from = at;
    auto step = select_backlog(chunk, from_start, sub, limits, used);
    step.lost_to_retention = out.lost_to_retention;
    step.not_ingested = chunk.not_ingested;
    return step;
}

}  // namespace sluice::broker

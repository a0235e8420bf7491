// The broker's own /metrics collectors (docs/operations.md lists every metric). They read the
// counters where they are kept: per-io-thread slots (broker/stats.hpp), the listeners' and
// store partitions' atomics, and, for gauges no counter keeps (inflight and queued messages),
// one pass over a copy of the session list per scrape.
#include <chrono>
#include <string>

#include "broker/broker_core.hpp"
#include "broker/durable_log.hpp"
#include "broker/http_api.hpp"
#include "broker/kafka_request_counts.hpp"
#include "kafka/api_key.hpp"
#include "broker/listener_state.hpp"
#include "broker/process_stats.hpp"
#include "broker/version.hpp"

#include <nlohmann/json.hpp>
#include "mqtt/packet_type.hpp"
#include "store/segment.hpp"

namespace sluice::broker {

namespace {

using metrics::family_list;

const char* packet_type_name(std::size_t t) {
    static const char* const names[16] = {
        "reserved", "connect",     "connack",  "publish",  "puback",   "pubrec",
        "pubrel",   "pubcomp",     "subscribe", "suback",  "unsubscribe", "unsuback",
        "pingreq",  "pingresp",    "disconnect", "auth"};
    return names[t & 15];
}

const char* protocol_name(std::size_t slot) {
    return slot == 0 ? "3.1" : slot == 1 ? "3.1.1" : "5.0";
}

std::uint64_t sum(const std::vector<counter_slot>& slots,
                  std::atomic<std::uint64_t> counter_slot::*field) {
    std::uint64_t n = 0;
    for (const auto& s : slots) n += (s.*field).load(std::memory_order_relaxed);
    return n;
}

template <std::size_t N>
std::uint64_t sum_at(const std::vector<counter_slot>& slots,
                     std::atomic<std::uint64_t> (counter_slot::*field)[N], std::size_t i) {
    std::uint64_t n = 0;
    for (const auto& s : slots) n += (s.*field)[i].load(std::memory_order_relaxed);
    return n;
}

void collect_process(family_list& out) {
    auto p = read_process_stats();
    if (!p) return;
    out.counter("process_cpu_seconds_total", "User and system CPU time spent, in seconds.")
        .add(p->cpu_seconds);
    out.gauge("process_resident_memory_bytes", "Resident memory size in bytes.")
        .add(static_cast<double>(p->resident_bytes));
    out.gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.")
        .add(static_cast<double>(p->virtual_bytes));
    out.gauge("process_start_time_seconds", "Start time of the process since the Unix epoch, in seconds.")
        .add(p->start_time_seconds);
    out.gauge("process_open_fds", "Open file descriptors.").add(static_cast<double>(p->open_fds));
}

void collect_broker(ops_sources& src, family_list& out) {
    auto& core = *src.core;
    const auto& slots = core.stats().slots();
    out.gauge("sluice_build_info", "Always 1; the version is a label.").add(1, {{"version", version}});
    out.gauge("sluice_ready", "1 once the listeners are up and the log is recovered and writable.")
        .add(src.ready.load(std::memory_order_acquire) ? 1 : 0);
    out.gauge("sluice_uptime_seconds", "Seconds since the broker started.")
        .add(std::chrono::duration<double>(steady_clock::now() - core.started_at()).count());

    if (src.ready.load(std::memory_order_acquire) && src.listeners) {
        auto& current = out.gauge("sluice_connections",
                                  "MQTT connections past CONNECT, by listener and protocol version.");
        auto& total = out.counter("sluice_connections_total",
                                  "MQTT connections accepted (CONNACK sent), by listener and protocol version.");
        auto& open = out.gauge("sluice_listener_open_sockets",
                               "Sockets open on a listener, including those still before CONNECT.");
        for (const auto& l : *src.listeners) {
            const auto& name = l->settings.name;
            open.add(l->open.load(std::memory_order_relaxed), {{"listener", name}});
            if (l->settings.kind == listener_kind::kafka || l->settings.kind == listener_kind::kafka_tls)
                continue;  // no MQTT versions there
            for (std::size_t v = 0; v < 3; ++v) {
                const auto labels = metrics::labels{{"listener", name}, {"protocol", protocol_name(v)}};
                current.add(static_cast<double>(l->connected[v].load(std::memory_order_relaxed)), labels);
                total.add(static_cast<double>(l->connects[v].load(std::memory_order_relaxed)), labels);
            }
        }
    }

    auto& pin = out.counter("sluice_mqtt_packets_received_total", "MQTT packets received, by packet type.");
    auto& pout = out.counter("sluice_mqtt_packets_sent_total", "MQTT packets sent, by packet type.");
    auto& bin = out.counter("sluice_mqtt_packet_received_bytes_total",
                            "Bytes of whole MQTT packets received, by packet type.");
    auto& bout = out.counter("sluice_mqtt_packet_sent_bytes_total",
                             "Bytes of MQTT packets encoded for sending, by packet type.");
    for (std::size_t t = 1; t < 16; ++t) {
        const metrics::labels l{{"type", packet_type_name(t)}};
        pin.add(static_cast<double>(sum_at(slots, &counter_slot::packets_in, t)), l);
        pout.add(static_cast<double>(sum_at(slots, &counter_slot::packets_out, t)), l);
        bin.add(static_cast<double>(sum_at(slots, &counter_slot::packet_bytes_in, t)), l);
        bout.add(static_cast<double>(sum_at(slots, &counter_slot::packet_bytes_out, t)), l);
    }
    out.counter("sluice_network_received_bytes_total", "Bytes read from MQTT connections.")
        .add(static_cast<double>(sum(slots, &counter_slot::bytes_in)));
    out.counter("sluice_network_sent_bytes_total", "Bytes written to MQTT connections.")
        .add(static_cast<double>(sum(slots, &counter_slot::bytes_out)));

    auto& published = out.counter("sluice_messages_published_total",
                                  "PUBLISH messages received from clients (wills included), by QoS.");
    auto& delivered = out.counter("sluice_messages_delivered_total",
                                  "PUBLISH messages sent to subscribers, by QoS.");
    for (std::size_t q = 0; q < 3; ++q) {
        const metrics::labels l{{"qos", std::to_string(q)}};
        published.add(static_cast<double>(sum_at(slots, &counter_slot::messages_in_qos, q)), l);
        delivered.add(static_cast<double>(sum_at(slots, &counter_slot::messages_out_qos, q)), l);
    }
    auto& dropped = out.counter("sluice_messages_dropped_total", "Messages dropped, by reason.");
    dropped.add(static_cast<double>(core.routed_drops()), {{"reason", "offer_refused"}});
    dropped.add(static_cast<double>(sum(slots, &counter_slot::dropped)), {{"reason", "delivery"}});
    out.counter("sluice_messages_parked_total",
                "QoS 1/2 publishes held back by their connection because a connected receiver's "
                "queue was full, offered again until taken (docs/mqtt.md, Limits).")
        .add(static_cast<double>(sum(slots, &counter_slot::parked)));
    out.counter("sluice_messages_budget_dropped_total",
                "Messages refused because all sessions together held the queued-bytes budget "
                "(also counted in sluice_messages_dropped_total).")
        .add(static_cast<double>(session::budget_drops()));
    out.counter("sluice_backlog_covered_skips_total",
                "Offers not made: sessions skipped in covered groups because their cursors into "
                "the log covered the message (docs/routing.md, \"Covered groups\").")
        .add(static_cast<double>(core.covered_skips()));

    // Gauges no counter keeps: one pass over a copy of the session list.
    std::uint64_t inflight = 0, queued = 0, online = 0, offline = 0;
    for (const auto& s : core.sessions_snapshot()) {
        auto sum = s->inspect();
        inflight += sum.inflight;
        queued += sum.queued;
        (sum.online ? online : offline) += 1;
    }
    out.gauge("sluice_messages_inflight", "Outbound QoS 1/2 messages sent and not yet acknowledged.")
        .add(static_cast<double>(inflight));
    out.gauge("sluice_messages_queued", "Messages waiting in sessions for a window or a connection.")
        .add(static_cast<double>(queued));
    out.gauge("sluice_messages_queued_bytes", "Payload bytes waiting in sessions.")
        .add(static_cast<double>(session::all_queued_bytes()));
    auto& sessions = out.gauge("sluice_sessions", "MQTT sessions, by state.");
    sessions.add(static_cast<double>(online), {{"state", "online"}});
    sessions.add(static_cast<double>(offline), {{"state", "offline"}});
    out.gauge("sluice_subscriptions", "Subscriptions in the router (shared ones included).")
        .add(static_cast<double>(core.subscription_count()));
    out.gauge("sluice_retained_messages", "Retained messages.")
        .add(static_cast<double>(core.retained().size()));
}

void collect_store(ops_sources& src, family_list& out) {
    auto* log = src.log.load(std::memory_order_acquire);
    if (!log) return;
    out.gauge("sluice_store_failed", "1 while the commit log is failed and waiting to be reopened.")
        .add(log->failed() ? 1 : 0);
    out.gauge("sluice_store_pending_bytes", "Bytes of publishes handed to the log and not yet written.")
        .add(static_cast<double>(log->pending_bytes()));
    auto st = log->store_handle();
    if (!st) return;
    auto& appends = out.counter("sluice_store_appended_batches_total",
                                "Record batches appended to a log topic (retries not counted).");
    auto& bytes = out.counter("sluice_store_appended_bytes_total", "Bytes appended to a log topic.");
    auto& fsyncs = out.counter("sluice_store_fsyncs_total", "fdatasync calls covering appends, by log topic.");
    auto& latency = out.histogram("sluice_store_fsync_duration_seconds",
                                  "Time one fdatasync of appended batches took, by log topic.");
    auto& end = out.gauge("sluice_log_end_offset", "The next offset to be written, by topic and partition.");
    auto& start = out.gauge("sluice_log_start_offset", "The first offset kept, by topic and partition.");
    auto& size = out.gauge("sluice_log_size_bytes", "Bytes of segment files, by topic and partition.");
    for (const auto& topic : st->topics()) {
        const int n = st->partition_count(topic);
        std::uint64_t a = 0, b = 0, f = 0;
        metrics::histogram_sample h;
        h.label_set = {{"topic", topic}};
        h.bounds.assign(store::latency_histogram::bounds.begin(), store::latency_histogram::bounds.end());
        h.counts.assign(h.bounds.size() + 1, 0);
        std::uint64_t sum_ns = 0;
        for (int i = 0; i < n; ++i) {
            auto p = st->get(topic, i);
            if (!p) continue;
            a += p->batches_appended();
            b += p->bytes_appended();
            f += p->syncs();
            auto snap = p->sync_latency().snapshot();
            for (std::size_t k = 0; k < snap.counts.size(); ++k) h.counts[k] += snap.counts[k];
            sum_ns += snap.sum_ns;
            const metrics::labels l{{"topic", topic}, {"partition", std::to_string(i)}};
            end.add(static_cast<double>(p->log_end_offset().value), l);
            start.add(static_cast<double>(p->log_start_offset().value), l);
            std::uint64_t seg_bytes = 0;
            for (const auto& seg : p->segments()) seg_bytes += seg->size();
            size.add(static_cast<double>(seg_bytes), l);
        }
        h.sum = static_cast<double>(sum_ns) / 1e9;
        const metrics::labels l{{"topic", topic}};
        appends.add(static_cast<double>(a), l);
        bytes.add(static_cast<double>(b), l);
        fsyncs.add(static_cast<double>(f), l);
        latency.histograms.push_back(std::move(h));
    }
}

}  // namespace

static void collect_kafka_requests(ops_sources& src, family_list& out) {
    const auto* counts = src.kafka_requests.load(std::memory_order_acquire);
    if (!counts) return;
    auto& f = out.counter("sluice_kafka_requests_total", "Kafka requests handled, by API.");
    const auto totals = counts->totals();
    for (std::size_t k = 0; k < totals.size(); ++k)
        if (totals[k])
            f.add(static_cast<double>(totals[k]),
                  {{"api", kafka::to_string(static_cast<kafka::api_key>(k))}});
}

static void collect_groups(ops_sources& src, family_list& out) {
    auto groups = consumer_groups_json(src);
    if (!groups) return;
    auto& lag = out.gauge("sluice_kafka_consumer_group_lag",
                          "Records between a group's committed offset and the high watermark.");
    auto& members = out.gauge("sluice_kafka_consumer_group_members", "Members of a consumer group.");
    for (const auto& g : (*groups)["groups"]) {
        const std::string id = g["group_id"].get<std::string>();
        members.add(static_cast<double>(g["members"].size()), {{"group", id}});
        for (const auto& o : g["offsets"])
            if (o.contains("lag"))
                lag.add(o["lag"].get<double>(),
                        {{"group", id},
                         {"topic", o["topic"].get<std::string>()},
                         {"partition", std::to_string(o["partition"].get<int>())}});
    }
}

void add_broker_metrics(ops_sources& src) {
    src.metrics.add("broker", [&src](family_list& out) { collect_broker(src, out); });
    src.metrics.add("store", [&src](family_list& out) { collect_store(src, out); });
    src.metrics.add("process", [](family_list& out) { collect_process(out); });
    src.metrics.add("kafka_groups", [&src](family_list& out) { collect_groups(src, out); });
    src.metrics.add("kafka_requests",
                    [&src](family_list& out) { collect_kafka_requests(src, out); });
}

}  // namespace sluice::broker

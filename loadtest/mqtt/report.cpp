#include "loadtest/mqtt/report.hpp"

#include <fstream>

namespace sluice::bench {
namespace {

const char* version_name(mqtt::protocol_version v) {
    return v == mqtt::protocol_version::v5 ? "5.0" : "3.1.1";
}

double per_second(std::uint64_t n, double seconds) {
    return seconds > 0 ? static_cast<double>(n) / seconds : 0.0;
}

double mib(std::uint64_t bytes) { return static_cast<double>(bytes) / (1024.0 * 1024.0); }

// Plain TCP runs print and report exactly what they did before the other transports existed.
void print_transport(const options& o, std::FILE* out) {
    if (o.transport == transport_kind::tcp) return;
    std::fprintf(out, "  transport    %s%s%s\n", transport_name(o.transport),
                 o.tls_version.empty() ? "" : (", TLS " + o.tls_version).c_str(),
                 o.certfile.empty() ? "" : ", client certificate");
}

void add_transport(const options& o, nlohmann::json& params) {
    if (o.transport == transport_kind::tcp) return;
    params["transport"] = transport_name(o.transport);
    if (!o.tls_version.empty()) params["tls_version"] = o.tls_version;
    if (!o.groups.empty()) params["tls_groups"] = o.groups;
    if (!o.ciphers.empty()) params["tls_ciphers"] = o.ciphers;
    params["client_certificate"] = !o.certfile.empty();
}

void print_latency(std::FILE* out, const char* label, const histogram& h) {
    std::fprintf(out, "  %s p50 %llu  p90 %llu  p99 %llu  p99.9 %llu  max %llu  (mean %.0f, n=%llu)\n", label,
                 static_cast<unsigned long long>(h.value_at_percentile(50)),
                 static_cast<unsigned long long>(h.value_at_percentile(90)),
                 static_cast<unsigned long long>(h.value_at_percentile(99)),
                 static_cast<unsigned long long>(h.value_at_percentile(99.9)),
                 static_cast<unsigned long long>(h.max()), h.mean(), static_cast<unsigned long long>(h.count()));
}

nlohmann::json percentiles_json(const histogram& h) {
    return {{"count", h.count()},
            {"min", h.min()},
            {"mean", h.mean()},
            {"p50", h.value_at_percentile(50)},
            {"p90", h.value_at_percentile(90)},
            {"p99", h.value_at_percentile(99)},
            {"p99_9", h.value_at_percentile(99.9)},
            {"max", h.max()}};
}

}  // namespace

std::string load_average() {
    std::ifstream in("/proc/loadavg");
    std::string a, b, c;
    if (!(in >> a >> b >> c)) return {};
    return a + " " + b + " " + c;
}

void print_traffic_table(const options& o, const traffic_result& r, std::FILE* out) {
    std::fprintf(out, "sluice-bench mqtt %s\n", o.label.c_str());
    std::fprintf(out, "  setup        MQTT %s, QoS %d (sub %d), %u pub -> %u sub%s, %zu B, rate %s, %s\n",
                 version_name(o.version), static_cast<int>(o.pub_qos), static_cast<int>(o.subscription_qos()),
                 o.publishers, o.subscribers,
                 o.share_groups ? (" in " + std::to_string(o.share_groups) + " $share groups").c_str() : "",
                 o.payload, o.rate > 0 ? (std::to_string(static_cast<long>(o.rate)) + "/s per pub").c_str() : "max",
                 o.count ? (std::to_string(o.count) + " msg per pub").c_str()
                         : (std::to_string(o.duration) + " s").c_str());
    print_transport(o, out);
    std::fprintf(out, "  connections  %llu in %.2f s over %u worker(s)%s\n",
                 static_cast<unsigned long long>(r.connections), r.connect_seconds, r.workers,
                 r.dropped ? " -- SOME DROPPED" : "");
    std::fprintf(out, "  published    %12llu msg  %10.0f msg/s  (acked %llu, unacked %llu)\n",
                 static_cast<unsigned long long>(r.sent), per_second(r.sent, r.publish_seconds),
                 static_cast<unsigned long long>(r.acked), static_cast<unsigned long long>(r.unacked));
    std::fprintf(out, "  delivered    %12llu msg  %10.0f msg/s  (expected %llu)\n",
                 static_cast<unsigned long long>(r.received), per_second(r.received, r.receive_seconds),
                 static_cast<unsigned long long>(r.expected));
    std::fprintf(out, "  lost         %12llu%s\n", static_cast<unsigned long long>(r.lost),
                 r.lost ? "   <-- MESSAGES LOST" : "");
    std::fprintf(out, "  duplicated   %12llu\n  reordered    %12llu\n",
                 static_cast<unsigned long long>(r.duplicates), static_cast<unsigned long long>(r.reordered));
    for (const auto& a : r.worst)
        std::fprintf(out, "    publisher %u: lost %llu, duplicated %llu, reordered %llu\n", a.publisher,
                     static_cast<unsigned long long>(a.lost), static_cast<unsigned long long>(a.duplicates),
                     static_cast<unsigned long long>(a.reordered));
    print_latency(out, "latency us  ", r.latency);
    // QoS 1/2 only: from a message's due time to its PUBACK (PUBREC for QoS 2), which is when
    // a durable broker has the message on disk.
    if (r.ack_latency.count()) print_latency(out, "ack us      ", r.ack_latency);
    if (r.broker_measured) {
        std::fprintf(out, "  broker       cpu %.2f s, rss %.1f MiB, %llu threads\n", r.broker_cpu_seconds,
                     mib(r.broker_rss_bytes), static_cast<unsigned long long>(r.broker_threads));
        std::fprintf(out, "  per cpu-s    %10.0f msg in  %10.0f msg out\n",
                     per_second(r.sent, r.broker_cpu_seconds), per_second(r.received, r.broker_cpu_seconds));
    }
    if (o.churn_rate > 0)
        std::fprintf(out,
                     "  churn        %llu sub+unsub pairs (%.0f/s), %llu acknowledged, %llu refused; "
                     "pair latency us p50 %llu  p99 %llu  max %llu\n",
                     static_cast<unsigned long long>(r.churn_sent), per_second(r.churn_sent, r.publish_seconds),
                     static_cast<unsigned long long>(r.churn_done),
                     static_cast<unsigned long long>(r.churn_refused),
                     static_cast<unsigned long long>(r.churn_latency.value_at_percentile(50)),
                     static_cast<unsigned long long>(r.churn_latency.value_at_percentile(99)),
                     static_cast<unsigned long long>(r.churn_latency.max()));
    std::fprintf(out, "  generator    cpu %.2f s; load average %s before, %s after\n", r.generator_cpu_seconds,
                 r.load_before.c_str(), r.load_after.c_str());
    for (const auto& e : r.errors) std::fprintf(out, "  error        %s\n", e.c_str());
    if (r.anomalies) std::fprintf(out, "  anomalies    %llu unexpected packets\n", static_cast<unsigned long long>(r.anomalies));
}

nlohmann::json traffic_json(const options& o, const traffic_result& r) {
    nlohmann::json j;
    j["tool"] = "sluice-bench";
    j["mode"] = "mqtt";
    j["label"] = o.label;
    j["params"] = {{"mqtt_version", version_name(o.version)},
                   {"qos", static_cast<int>(o.pub_qos)},
                   {"sub_qos", static_cast<int>(o.subscription_qos())},
                   {"publishers", o.publishers},
                   {"subscribers", o.subscribers},
                   {"share_groups", o.share_groups},
                   {"payload", o.payload},
                   {"rate", o.rate},
                   {"inflight", o.inflight},
                   {"pub_topic", o.pub_topic},
                   {"sub_topic", o.sub_topic},
                   {"duration", o.duration},
                   {"count", o.count},
                   {"churn_rate", o.churn_rate},
                   {"churn_clients", o.churn_rate > 0 ? o.churn_clients : 0u},
                   {"churn_topic", o.churn_topic}};
    add_transport(o, j["params"]);
    j["workers"] = r.workers;
    j["connections"] = r.connections;
    j["dropped_connections"] = r.dropped;
    j["connect_s"] = r.connect_seconds;
    j["publish_s"] = r.publish_seconds;
    j["receive_s"] = r.receive_seconds;
    j["sent"] = r.sent;
    j["acked"] = r.acked;
    j["unacked"] = r.unacked;
    j["expected"] = r.expected;
    j["received"] = r.received;
    j["unique"] = r.unique;
    j["foreign"] = r.foreign;
    j["lost"] = r.lost;
    j["duplicates"] = r.duplicates;
    j["reordered"] = r.reordered;
    j["anomalies"] = r.anomalies;
    j["publishers_with_anomalies"] = r.publishers_with_anomalies;
    nlohmann::json worst = nlohmann::json::array();
    for (const auto& a : r.worst)
        worst.push_back({{"publisher", a.publisher}, {"lost", a.lost}, {"duplicates", a.duplicates}, {"reordered", a.reordered}});
    j["worst_publishers"] = std::move(worst);
    j["in_rate"] = per_second(r.sent, r.publish_seconds);
    j["out_rate"] = per_second(r.received, r.receive_seconds);
    j["latency_us"] = percentiles_json(r.latency);
    if (r.ack_latency.count()) j["ack_latency_us"] = percentiles_json(r.ack_latency);
    if (r.broker_measured) {
        j["broker"] = {{"pid", o.broker_pid},
                       {"cpu_s", r.broker_cpu_seconds},
                       {"rss_bytes", r.broker_rss_bytes},
                       {"threads", r.broker_threads},
                       {"in_per_cpu_s", per_second(r.sent, r.broker_cpu_seconds)},
                       {"out_per_cpu_s", per_second(r.received, r.broker_cpu_seconds)}};
    } else {
        j["broker"] = nullptr;
    }
    if (o.churn_rate > 0)
        j["churn"] = {{"sent", r.churn_sent},
                      {"acknowledged", r.churn_done},
                      {"refused", r.churn_refused},
                      {"rate", per_second(r.churn_sent, r.publish_seconds)},
                      {"latency_us",
                       {{"p50", r.churn_latency.value_at_percentile(50)},
                        {"p99", r.churn_latency.value_at_percentile(99)},
                        {"max", r.churn_latency.max()}}}};
    else
        j["churn"] = nullptr;
    j["generator_cpu_s"] = r.generator_cpu_seconds;
    j["load_average"] = {{"before", r.load_before}, {"after", r.load_after}};
    j["errors"] = r.errors;
    j["ok"] = traffic_exit_status(o, r) == 0;
    return j;
}

int traffic_exit_status(const options& o, const traffic_result& r) {
    if (!r.errors.empty() || r.dropped) return 1;
    if (o.pub_qos != mqtt::qos::at_most_once && o.subscription_qos() != mqtt::qos::at_most_once &&
        (r.lost || r.unacked))
        return 3;
    if (o.pub_qos == mqtt::qos::exactly_once && o.subscription_qos() == mqtt::qos::exactly_once && r.duplicates)
        return 3;
    return 0;
}

void print_idle_table(const options& o, const idle_result& r, std::FILE* out) {
    std::fprintf(out, "sluice-bench mqtt-idle %s (MQTT %s, keep alive %u s, %u worker(s))\n", o.label.c_str(),
                 version_name(o.version), o.keep_alive, r.workers);
    print_transport(o, out);
    std::fprintf(out, "  empty broker rss %.1f MiB; load average %s before\n", mib(r.baseline_rss_bytes),
                 r.load_before.c_str());
    std::fprintf(out, "  %8s %8s %7s %9s %10s %10s %10s %12s\n", "target", "open", "failed", "connect s",
                 "rss MiB", "conn cpu s", "idle cpu%", "B/conn slope");
    for (const auto& s : r.steps)
        std::fprintf(out, "  %8llu %8llu %7llu %9.2f %10.1f %10.2f %10.2f %12.0f\n",
                     static_cast<unsigned long long>(s.target), static_cast<unsigned long long>(s.connections),
                     static_cast<unsigned long long>(s.failed), s.connect_seconds, mib(s.rss_bytes),
                     s.connect_cpu_seconds, s.idle_cpu_percent, s.rss_per_connection);
    if (r.dropped) std::fprintf(out, "  DROPPED      %llu connections\n", static_cast<unsigned long long>(r.dropped));
    for (const auto& e : r.errors) std::fprintf(out, "  error        %s\n", e.c_str());
}

nlohmann::json idle_json(const options& o, const idle_result& r) {
    nlohmann::json steps = nlohmann::json::array();
    for (const auto& s : r.steps)
        steps.push_back({{"target", s.target},
                         {"connections", s.connections},
                         {"failed", s.failed},
                         {"connect_s", s.connect_seconds},
                         {"rss_bytes", s.rss_bytes},
                         {"connect_cpu_s", s.connect_cpu_seconds},
                         {"idle_cpu_percent", s.idle_cpu_percent},
                         {"rss_per_connection", s.rss_per_connection}});
    nlohmann::json j;
    j["tool"] = "sluice-bench";
    j["mode"] = "mqtt-idle";
    j["label"] = o.label;
    j["params"] = {{"mqtt_version", version_name(o.version)}, {"keep_alive", o.keep_alive},
                   {"steps", o.steps}, {"settle", o.settle}, {"hold", o.hold}};
    add_transport(o, j["params"]);
    j["workers"] = r.workers;
    j["baseline_rss_bytes"] = r.baseline_rss_bytes;
    j["load_average"] = {{"before", r.load_before}};
    j["steps"] = std::move(steps);
    // The slope over all steps, which is what carries to machines with more connections.
    if (r.steps.size() >= 2) {
        const auto& a = r.steps.front();
        const auto& b = r.steps.back();
        const double dn = static_cast<double>(b.connections) - static_cast<double>(a.connections);
        j["rss_per_connection"] =
            dn > 0 ? (static_cast<double>(b.rss_bytes) - static_cast<double>(a.rss_bytes)) / dn : 0.0;
    } else if (r.steps.size() == 1) {
        j["rss_per_connection"] = r.steps.front().rss_per_connection;
    }
    j["dropped_connections"] = r.dropped;
    j["errors"] = r.errors;
    bool ok = r.dropped == 0;
    for (const auto& s : r.steps) ok = ok && s.failed == 0 && s.connections == s.target;
    j["ok"] = ok;
    return j;
}

}  // namespace sluice::bench

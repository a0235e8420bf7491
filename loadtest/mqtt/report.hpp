#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "loadtest/mqtt/histogram.hpp"
#include "loadtest/mqtt/options.hpp"

namespace sluice::bench {

struct publisher_anomaly {
    std::uint32_t publisher = 0;
    std::uint64_t lost = 0;
    std::uint64_t duplicates = 0;
    std::uint64_t reordered = 0;
};

// The merged outcome of one `sluice-bench mqtt` run.
struct traffic_result {
    unsigned workers = 0;
    std::uint64_t connections = 0;
    std::uint64_t dropped = 0;        // connections lost after they were established
    std::vector<std::string> errors;
    double connect_seconds = 0;
    double publish_seconds = 0;       // "go" until the last publisher finished (acks included)
    double receive_seconds = 0;       // "go" until the last message arrived
    std::uint64_t sent = 0;           // PUBLISH packets written by publishers
    std::uint64_t acked = 0;          // of which acknowledged (QoS 0: all)
    std::uint64_t unacked = 0;        // given up on after --drain-timeout
    std::uint64_t expected = 0;       // deliveries that should have arrived
    std::uint64_t received = 0;       // deliveries that arrived, duplicates included
    std::uint64_t unique = 0;
    std::uint64_t foreign = 0;        // payloads not written by sluice-bench
    std::uint64_t lost = 0;
    std::uint64_t duplicates = 0;
    std::uint64_t reordered = 0;
    std::uint64_t anomalies = 0;      // unexpected packets (e.g. an ack for an unknown id)
    std::uint64_t publishers_with_anomalies = 0;
    std::vector<publisher_anomaly> worst;  // up to 10
    histogram latency;                // microseconds, publish (due time) to delivery
    histogram ack_latency;            // microseconds, due time to PUBACK / PUBREC (QoS 1/2)
    double generator_cpu_seconds = 0;  // all workers, same window as the broker's
    std::string load_before;          // /proc/loadavg: other work on the machine skews figures
    std::string load_after;
    bool broker_measured = false;
    double broker_cpu_seconds = 0;
    std::uint64_t broker_rss_bytes = 0;
    std::uint64_t broker_threads = 0;
    // Subscription churn (--churn-rate): pairs sent, acknowledged, refused by the broker.
    std::uint64_t churn_sent = 0;
    std::uint64_t churn_done = 0;
    std::uint64_t churn_refused = 0;
    histogram churn_latency;  // microseconds from SUBSCRIBE sent to UNSUBACK received
};

// The first three fields of /proc/loadavg ("1.02 0.88 0.51"), or empty.
std::string load_average();

void print_traffic_table(const options& o, const traffic_result& r, std::FILE* out);
nlohmann::json traffic_json(const options& o, const traffic_result& r);
int traffic_exit_status(const options& o, const traffic_result& r);

// One step of an idle run.
struct idle_step {
    std::uint64_t target = 0;
    std::uint64_t connections = 0;    // established and still open when sampled
    std::uint64_t failed = 0;
    double connect_seconds = 0;
    bool broker_measured = false;
    std::uint64_t rss_bytes = 0;
    double connect_cpu_seconds = 0;   // broker CPU while this step's connections were opened
    double idle_cpu_percent = 0;      // broker CPU over the hold period
    double rss_per_connection = 0;    // slope from the previous step (or the empty broker)
};

struct idle_result {
    unsigned workers = 0;
    std::uint64_t baseline_rss_bytes = 0;
    std::string load_before;
    std::vector<idle_step> steps;
    std::uint64_t dropped = 0;
    std::vector<std::string> errors;
};

void print_idle_table(const options& o, const idle_result& r, std::FILE* out);
nlohmann::json idle_json(const options& o, const idle_result& r);

}  // namespace sluice::bench

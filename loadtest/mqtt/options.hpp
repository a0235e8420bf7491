#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "mqtt/protocol_version.hpp"

namespace sluice::bench {

// How clients reach the broker: MQTT over plain TCP, TLS, WebSocket or WebSocket over TLS.
enum class transport_kind { tcp, tls, ws, wss };

// Everything a `sluice-bench mqtt` or `sluice-bench mqtt-idle` run is told on its command line.
// The coordinator and every worker process hold the same copy, so all of them derive the same
// topics, client ids and expected deliveries from it without talking to each other.
struct options {
    // Where and how to connect.
    std::string host = "127.0.0.1";
    std::uint16_t port = 1883;
    mqtt::protocol_version version = mqtt::protocol_version::v5;
    std::uint16_t keep_alive = 60;      // seconds; PINGREQ when idle for half of it
    unsigned source_ips = 32;           // client sockets bind to 127.100.x.y, round robin
    double connect_rate = 2000;         // new connections per second, whole run
    unsigned max_pending_connects = 256;  // per worker: handshakes in progress at once
    unsigned per_worker = 9000;         // connections per worker process
    unsigned workers = 0;               // 0: as many as per_worker requires
    std::string client_prefix;          // empty: "sb<random>-"

    // Transport (`--tls`, `--ws`, `--wss`; plain TCP by default).
    transport_kind transport = transport_kind::tcp;
    std::string cafile;                 // TLS: verify the broker against it (none: no check)
    std::string certfile, keyfile;      // TLS: client certificate and key (optional)
    std::string tls_version;            // "1.2" or "1.3" only; empty: either
    std::string ciphers;                // TLS 1.2 cipher list (OpenSSL's default if empty)
    std::string groups;                 // key exchange groups (OpenSSL's default if empty)
    std::string ws_path = "/mqtt";      // WebSocket: the upgrade request's path

    // Traffic (`mqtt`).
    unsigned publishers = 1;
    unsigned subscribers = 1;
    mqtt::qos pub_qos = mqtt::qos::at_most_once;
    std::optional<mqtt::qos> sub_qos;   // default: pub_qos
    std::size_t payload = 64;           // bytes, at least the 24-byte header
    double rate = 0;                    // per publisher, messages/s; 0 = as fast as acked
    unsigned inflight = 16;             // per publisher, QoS 1/2 messages awaiting their ack
    std::string pub_topic = "bench/{i}";  // {i}: publisher index
    std::string sub_topic = "bench/#";    // {i}: subscriber index
    unsigned share_groups = 0;          // >0: subscriber i joins $share/g<i % share_groups>/...
    double duration = 10;               // seconds of publishing (0: no limit, needs count)
    std::uint64_t count = 0;            // messages per publisher (0: no limit, needs duration)
    double drain_timeout = 10;          // seconds to wait for the last messages and acks
    double quiet_timeout = 3;           // stop draining after this long without a message
    // Subscription churn: extra connections that SUBSCRIBE and UNSUBSCRIBE while the traffic
    // runs, to measure what subscription changes cost publishers.
    double churn_rate = 0;              // subscribe+unsubscribe pairs per second; 0 = none
    unsigned churn_clients = 10;        // connections that share the churn
    std::string churn_topic = "churn/{i}";  // churn client i's filter; {i}: its index

    // Idle connections (`mqtt-idle`).
    std::vector<unsigned> steps;        // cumulative connection counts, e.g. 1000,5000,19000
    double settle = 2;                  // seconds between the last CONNACK and the RSS sample
    double hold = 5;                    // seconds the idle CPU is measured over, per step

    // Reporting.
    int broker_pid = 0;                 // 0: broker CPU and memory are not reported
    std::string label;                  // scenario name carried into the JSON line
    bool json_only = false;             // skip the human-readable table

    mqtt::qos subscription_qos() const { return sub_qos.value_or(pub_qos); }
};

// Parses argv (argv[0] is the subcommand's name). On a bad or missing value prints a message to
// stderr and returns nothing; on --help prints usage and returns nothing with *help = true.
std::optional<options> parse_traffic_options(int argc, char** argv, bool* help);
std::optional<options> parse_idle_options(int argc, char** argv, bool* help);

const char* transport_name(transport_kind t);

// "bench/{i}" with index 7 -> "bench/7".
std::string expand_template(const std::string& pattern, unsigned index);

}  // namespace sluice::bench

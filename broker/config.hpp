#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ingest/egress_rules.hpp"
#include "ingest/ingest_rules.hpp"
#include "kafka/group_coordinator.hpp"

// The broker's configuration: one struct with a default for every key. The defaults here are
// the ones documented in docs/configuration.md; keep the two in step.
// Threads: built once on the main thread before anything starts, then read-only.
namespace sluice::broker {

struct listen_address {
    std::string host;
    std::uint16_t port = 0;  // 0 binds a free port
    bool operator==(const listen_address&) const = default;
};

// What a listener speaks. Kafka and HTTP listeners are reserved: validated, not opened yet.
// mqtt_ws and mqtt_wss: MQTT over WebSocket, on TCP and on TLS. kafka_tls: Kafka over TLS.
enum class listener_kind { mqtt_tcp, kafka, http, mqtt_tls, mqtt_ws, mqtt_wss, kafka_tls };

// Whether a TLS listener asks for client certificates and refuses clients without a valid one.
enum class tls_client_auth { none, optional, required };

// A TLS listener's settings (docs/security.md, "TLS"). Paths are checked, and the context
// built, when the listener starts (and again on SIGHUP); parsing only checks the values.
struct tls_settings {
    std::string cert;  // PEM server certificate chain
    std::string key;   // PEM private key matching `cert`
    std::string ca;    // PEM CA bundle that client certificates must chain to
    tls_client_auth client_auth = tls_client_auth::none;
    bool min_tls13 = false;    // "min_version": "1.2" (default) or "1.3"
    std::string ciphers;       // TLS 1.2 cipher list (OpenSSL syntax); empty: OpenSSL default
    std::string ciphersuites;  // TLS 1.3 suites; empty: OpenSSL default
    std::string groups;        // key exchange groups ("X25519:P-256"); empty: OpenSSL default
    bool operator==(const tls_settings&) const = default;
};

// One entry of the listener registry (docs/configuration.md, "Listeners"): a name for log
// lines and the `listening <name> <host>:<port>` line, what it speaks, where, and its own
// settings (TLS and authentication join them later).
struct listener_settings {
    std::string name;
    listener_kind kind = listener_kind::mqtt_tcp;
    listen_address address;
    std::uint32_t max_connections = 0;  // open connections at once on this listener; 0 = no cap
    // kind http only (docs/operations.md, "Authentication"). The users of the password file
    // who may use the admin API (HTTP Basic), and a file holding a bearer token; with neither a
    // password file nor a token the admin API is anonymous, and the listener refuses to start
    // on an address other than loopback unless allow_anonymous_admin says so.
    std::vector<std::string> admin_users{};
    std::string admin_token_file{};
    bool allow_anonymous_admin = false;
    // kind kafka only: record bytes go from the segment file to the socket with sendfile(2);
    // false copies them through user space (pread + send) instead, a diagnostic to measure
    // what sendfile saves (docs/kafka-protocol.md, "The listener").
    bool sendfile = true;
    tls_settings tls{};                 // kind mqtt_tls, mqtt_wss and kafka_tls only
    std::string path = "/mqtt";         // kind mqtt_ws and mqtt_wss: the upgrade's HTTP path
    // Clients without a user name (docs/security.md, "Anonymous clients"); unset: allowed on a
    // loopback address only (listener_allows_anonymous).
    std::optional<bool> allow_anonymous{};
    // TLS: a verified client certificate's name (CN, else SAN) is the user name, no password.
    bool use_identity_as_username = false;
    bool operator==(const listener_settings&) const = default;
};

// True when the listener accepts clients without a user name: its allow_anonymous, else
// whether its address is a loopback one (127.0.0.0/8, ::1, localhost).
bool listener_allows_anonymous(const listener_settings& l);

// Authentication and authorisation files (the "auth" object of the config file,
// docs/security.md); empty: not used. Shared by every listener; SIGHUP reloads both.
struct auth_settings {
    std::string password_file;  // users and password hashes (`sluice passwd`)
    std::string acl_file;       // access control rules
    bool operator==(const auth_settings&) const = default;
};

// Limits and features of the MQTT side (the "mqtt" object of the config file).
struct mqtt_settings {
    std::uint32_t max_packet_size = 1024 * 1024;  // both directions' cap we enforce on input
    std::uint16_t receive_maximum = 1024;         // inbound QoS 1/2 window we advertise
    std::uint16_t max_inflight = 1024;            // outbound window cap (and the client's RM)
    std::uint16_t topic_alias_maximum = 64;       // inbound aliases we accept per connection
    std::uint16_t max_keep_alive = 65535;         // larger client keep alives are lowered
    std::uint32_t connect_timeout_ms = 10000;     // a socket must send CONNECT within this
    std::uint8_t maximum_qos = 2;
    bool retain_available = true;
    std::uint32_t send_queue_bytes = 1024 * 1024;   // per connection, encoded bytes not yet written
    std::uint32_t max_queued_messages = 1000;       // per session, QoS 1/2 waiting for a window
    std::uint64_t max_queued_bytes = 64ull << 20;   // per session, payload bytes waiting; 0 = none
    std::uint64_t queued_bytes_budget = 1ull << 30;  // all sessions together; 0 = none
    // A resumed persistent session's replay of its backlog in the log (docs/mqtt.md): at most
    // this many messages, payload bytes, and nothing older (ms); 0 = no limit.
    std::uint64_t backlog_max_messages = 0;
    std::uint64_t backlog_max_bytes = 0;
    std::uint64_t backlog_max_age_ms = 0;
    std::uint32_t max_session_expiry = 0xFFFFFFFF;  // seconds; 0xFFFFFFFF = never expires
    std::uint32_t sys_interval_s = 10;              // $SYS/broker/... update period; 0 = off
    // Bytes all connections that have not completed their CONNECT may hold buffered, together
    // (a half-sent CONNECT pins memory before anyone is authenticated).
    std::uint64_t unauthenticated_bytes = 64ull * 1024 * 1024;
    bool operator==(const mqtt_settings&) const = default;
};

// The commit log the broker writes publishes to (the "store" object of the config file,
// docs/configuration.md, "Durable ingest").
struct store_settings {
    std::uint32_t writer_threads = 2;  // store writer threads (each partition is pinned to one)
    std::uint32_t parallel_syncs = 1;  // fdatasyncs one writer thread runs at once
    // Shortest time between the starts of one writer thread's sync rounds (store/writer_pool.hpp):
    // bounds the fdatasyncs per second at moderate rates, never delays an append after a quiet
    // spell (docs/benchmarks.md, "Fewer syncs at 10k msg/s").
    std::uint32_t sync_round_gap_us = 1000;
    // Bytes of publishes handed to the log and not yet written, all connections together: past
    // it, a connection with appends outstanding stops reading until they complete.
    std::uint64_t pending_bytes_budget = 64ull << 20;
    // After a failed write (disk full, I/O error) the log is reopened by the first logged
    // publish at least this long after the last attempt (docs/configuration.md).
    std::uint32_t reopen_interval_ms = 1000;
    bool operator==(const store_settings&) const = default;
};

struct config {
    // The --config file, empty without one: SIGHUP parses the command line again to re-read it
    // (broker/config_reload.hpp).
    std::string config_file;
    std::string data_dir = "./data";
    std::string log_level = "info";
    std::string log_format = "text";  // "text" or "json" lines on stderr
    unsigned threads = 0;  // io threads; 0 = one per core
    // The listener registry; `--mqtt`, `--kafka` and `--http` set the address of the entry of
    // that name. Kafka and HTTP entries are reserved (validated, not opened yet).
    std::vector<listener_settings> listeners{
        {"mqtt", listener_kind::mqtt_tcp, {"127.0.0.1", 1883}},
        {"kafka", listener_kind::kafka, {"127.0.0.1", 9092}},
        {"http", listener_kind::http, {"127.0.0.1", 8080}},
    };
    mqtt_settings mqtt_opts;
    store_settings store_opts;
    auth_settings auth_opts;
    // Consumer-group timing ("kafka_groups"): session timeout bounds and the initial
    // rebalance delay, as Kafka's group.* settings (docs/configuration.md).
    kafka::group_config kafka_groups;
    // Which publishes go to which log topic ("ingest_rules", docs/ingest.md); never null. The
    // default sends every publish to log topic "mqtt" with durability always.
    std::shared_ptr<const ingest::ingest_rules> ingest =
        std::make_shared<const ingest::ingest_rules>(ingest::ingest_rules::defaults());
    // Which log topics are published to MQTT ("egress_rules", docs/ingest.md); never null,
    // empty by default.
    std::shared_ptr<const ingest::egress_rules> egress =
        std::make_shared<const ingest::egress_rules>();

    // The listener named `name`, or null.
    listener_settings* listener(std::string_view name);
    const listener_settings* listener(std::string_view name) const;
};

// Thrown by the parsers below with a message that names the offending flag or key.
struct config_error {
    std::string message;
};

// "HOST:PORT" or "[V6HOST]:PORT"; port 0..65535.
std::optional<listen_address> parse_listen_address(std::string_view text);

// Applies a JSON document (comments allowed) on top of `cfg`. Unknown keys, wrong types and
// out-of-range values throw config_error naming the key ("mqtt.receive_maximum").
void apply_config_json(config& cfg, std::string_view json_text);

// What the command line asked for besides the config itself.
enum class cli_action { run, help, version };

// Parses argv: reads --config FILE first (if given), then applies the other flags over it.
// Throws config_error naming the flag or key on any bad input.
cli_action parse_command_line(int argc, const char* const* argv, config& cfg);

// The --help text (every flag, with its default).
std::string usage_text();

}  // namespace sluice::broker

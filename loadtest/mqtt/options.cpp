#include "loadtest/mqtt/options.hpp"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <sstream>

namespace sluice::bench {
namespace {

const char* const common_usage =
    "  --host ADDR            broker address (127.0.0.1)\n"
    "  --port N               broker MQTT port (1883)\n"
    "  --mqtt-version V       3.1.1 or 5 (5)\n"
    "  --keep-alive S         keep alive in seconds; PINGREQ when idle for half of it (60)\n"
    "  --source-ips N         spread client sockets over N addresses 127.100.x.y (32)\n"
    "  --connect-rate N       new connections per second over all workers (2000)\n"
    "  --max-pending N        handshakes in progress at once per worker (256)\n"
    "  --per-worker N         connections per worker process (9000)\n"
    "  --workers N            worker processes (default: as --per-worker requires)\n"
    "  --client-prefix S      client id prefix (random per run)\n"
    "  --broker-pid PID       report this process's CPU seconds and RSS from /proc\n"
    "  --label NAME           scenario name carried into the JSON line\n"
    "  --json                 print only the JSON line\n"
    "  --tls                  MQTT over TLS (port: the broker's TLS listener)\n"
    "  --ws                   MQTT over WebSocket (path --ws-path, subprotocol mqtt)\n"
    "  --wss                  MQTT over WebSocket over TLS\n"
    "  --cafile FILE          TLS: verify the broker's certificate and name against this CA\n"
    "                         (without it the certificate is not checked)\n"
    "  --cert FILE, --key FILE  TLS: client certificate and its key\n"
    "  --tls-version V        TLS: 1.2 or 1.3 only (either)\n"
    "  --tls-ciphers LIST     TLS 1.2: OpenSSL cipher list (OpenSSL's default)\n"
    "  --tls-groups LIST      TLS: key exchange groups, e.g. P-256 or X25519 (OpenSSL's default)\n"
    "  --ws-path PATH         WebSocket: the upgrade request's path (/mqtt)\n";

const char* const traffic_usage =
    "usage: sluice-bench mqtt [options]\n"
    "Publishers and subscribers against one broker; prints a table and one JSON line.\n"
    "  --publishers N         publishing connections (1)\n"
    "  --subscribers N        subscribing connections (1)\n"
    "  --qos Q                publish QoS 0, 1 or 2 (0)\n"
    "  --sub-qos Q            subscription QoS (same as --qos)\n"
    "  --payload BYTES        payload size, at least 24 (64)\n"
    "  --rate N               messages/s per publisher; 0 = as fast as the broker takes (0)\n"
    "  --inflight N           QoS 1/2 messages per publisher awaiting their ack (16)\n"
    "  --pub-topic T          publisher i's topic; {i} is replaced by i (bench/{i})\n"
    "  --sub-topic F          subscriber i's filter; {i} is replaced by i (bench/#)\n"
    "  --share-groups K       subscriber i subscribes to $share/g<i mod K>/<filter>\n"
    "  --duration S           seconds of publishing (10); 0 = until --count\n"
    "  --count N              messages per publisher (0 = until --duration)\n"
    "  --drain-timeout S      longest wait for outstanding messages and acks (10)\n"
    "  --quiet-timeout S      stop waiting after S seconds without a message (3)\n"
    "  --churn-rate N         SUBSCRIBE+UNSUBSCRIBE pairs per second while publishing (0)\n"
    "  --churn-clients N      connections that share the churn (10)\n"
    "  --churn-topic F        churn client i's filter; {i} is replaced by i (churn/{i})\n";

const char* const idle_usage =
    "usage: sluice-bench mqtt-idle --steps N1,N2,... [options]\n"
    "Opens idle connections in steps and samples the broker's RSS and CPU at each.\n"
    "  --steps LIST           cumulative connection counts, e.g. 1000,5000,19000\n"
    "  --settle S             wait after the last CONNACK of a step before sampling (2)\n"
    "  --hold S               seconds over which idle CPU is measured per step (5)\n";

bool parse_double(const char* s, double& out) {
    char* end = nullptr;
    errno = 0;
    out = std::strtod(s, &end);
    return errno == 0 && end != s && *end == '\0' && out >= 0;
}

bool parse_u64(const char* s, std::uint64_t& out) {
    char* end = nullptr;
    errno = 0;
    if (*s == '-') return false;
    out = std::strtoull(s, &end, 10);
    return errno == 0 && end != s && *end == '\0';
}

template <class T>
std::function<bool(const char*)> unsigned_into(T& field, std::uint64_t lo, std::uint64_t hi) {
    return [&field, lo, hi](const char* s) {
        std::uint64_t v = 0;
        if (!parse_u64(s, v) || v < lo || v > hi) return false;
        field = static_cast<T>(v);
        return true;
    };
}

std::function<bool(const char*)> double_into(double& field) {
    return [&field](const char* s) { return parse_double(s, field); };
}

std::function<bool(const char*)> string_into(std::string& field) {
    return [&field](const char* s) {
        field = s;
        return true;
    };
}

bool parse_qos(const char* s, mqtt::qos& out) {
    if (!std::strcmp(s, "0")) out = mqtt::qos::at_most_once;
    else if (!std::strcmp(s, "1")) out = mqtt::qos::at_least_once;
    else if (!std::strcmp(s, "2")) out = mqtt::qos::exactly_once;
    else return false;
    return true;
}

using handlers = std::map<std::string, std::function<bool(const char*)>>;

handlers common_handlers(options& o) {
    handlers h;
    h["--host"] = string_into(o.host);
    h["--port"] = unsigned_into(o.port, 1, 65535);
    h["--mqtt-version"] = [&o](const char* s) {
        if (!std::strcmp(s, "5") || !std::strcmp(s, "5.0")) o.version = mqtt::protocol_version::v5;
        else if (!std::strcmp(s, "3.1.1") || !std::strcmp(s, "4"))
            o.version = mqtt::protocol_version::v3_1_1;
        else return false;
        return true;
    };
    h["--keep-alive"] = unsigned_into(o.keep_alive, 2, 65535);
    h["--source-ips"] = unsigned_into(o.source_ips, 1, 60000);
    h["--connect-rate"] = [&o](const char* s) { return parse_double(s, o.connect_rate) && o.connect_rate > 0; };
    h["--max-pending"] = unsigned_into(o.max_pending_connects, 1, 100000);
    h["--per-worker"] = unsigned_into(o.per_worker, 1, 19000);
    h["--workers"] = unsigned_into(o.workers, 1, 64);
    h["--client-prefix"] = string_into(o.client_prefix);
    h["--broker-pid"] = unsigned_into(o.broker_pid, 1, 1u << 30);
    h["--label"] = string_into(o.label);
    h["--cafile"] = string_into(o.cafile);
    h["--cert"] = string_into(o.certfile);
    h["--key"] = string_into(o.keyfile);
    h["--tls-version"] = [&o](const char* s) {
        if (std::strcmp(s, "1.2") != 0 && std::strcmp(s, "1.3") != 0) return false;
        o.tls_version = s;
        return true;
    };
    h["--tls-ciphers"] = string_into(o.ciphers);
    h["--tls-groups"] = string_into(o.groups);
    h["--ws-path"] = [&o](const char* s) {
        if (*s != '/') return false;
        o.ws_path = s;
        return true;
    };
    return h;
}

// TLS settings without a TLS transport are a mistake, not something to ignore.
bool check_transport_options(const options& o) {
    const bool tls = o.transport == transport_kind::tls || o.transport == transport_kind::wss;
    const char* stray = !o.cafile.empty() ? "--cafile"
                        : !o.certfile.empty() ? "--cert"
                        : !o.keyfile.empty() ? "--key"
                        : !o.tls_version.empty() ? "--tls-version"
                        : !o.ciphers.empty() ? "--tls-ciphers"
                        : !o.groups.empty() ? "--tls-groups"
                                            : nullptr;
    if (!tls && stray) {
        std::fprintf(stderr, "sluice-bench: %s needs --tls or --wss\n", stray);
        return false;
    }
    if (o.certfile.empty() != o.keyfile.empty()) {
        std::fprintf(stderr, "sluice-bench: --cert and --key go together\n");
        return false;
    }
    if (o.ws_path != "/mqtt" && o.transport != transport_kind::ws && o.transport != transport_kind::wss) {
        std::fprintf(stderr, "sluice-bench: --ws-path needs --ws or --wss\n");
        return false;
    }
    return true;
}

bool run_parser(int argc, char** argv, handlers& h, options& o, const char* usage, bool* help) {
    *help = false;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--help" || arg == "-h") {
            std::fputs(usage, stdout);
            std::fputs(common_usage, stdout);
            *help = true;
            return false;
        }
        if (arg == "--json") {
            o.json_only = true;
            continue;
        }
        if (arg == "--tls" || arg == "--ws" || arg == "--wss") {
            const transport_kind t = arg == "--tls" ? transport_kind::tls
                                     : arg == "--ws" ? transport_kind::ws
                                                     : transport_kind::wss;
            if (o.transport != transport_kind::tcp && o.transport != t) {
                std::fprintf(stderr, "sluice-bench: give only one of --tls, --ws, --wss\n");
                return false;
            }
            o.transport = t;
            continue;
        }
        auto it = h.find(arg);
        if (it == h.end()) {
            std::fprintf(stderr, "sluice-bench: unknown option '%s' (try --help)\n", arg.c_str());
            return false;
        }
        if (i + 1 >= argc) {
            std::fprintf(stderr, "sluice-bench: %s needs a value\n", arg.c_str());
            return false;
        }
        if (!it->second(argv[++i])) {
            std::fprintf(stderr, "sluice-bench: bad value '%s' for %s\n", argv[i], arg.c_str());
            return false;
        }
    }
    return check_transport_options(o);
}

}  // namespace

std::optional<options> parse_traffic_options(int argc, char** argv, bool* help) {
    options o;
    handlers h = common_handlers(o);
    h["--publishers"] = unsigned_into(o.publishers, 0, 200000);
    h["--subscribers"] = unsigned_into(o.subscribers, 0, 200000);
    h["--qos"] = [&o](const char* s) { return parse_qos(s, o.pub_qos); };
    h["--sub-qos"] = [&o](const char* s) {
        mqtt::qos q{};
        if (!parse_qos(s, q)) return false;
        o.sub_qos = q;
        return true;
    };
    h["--payload"] = unsigned_into(o.payload, 24, 16u << 20);
    h["--rate"] = double_into(o.rate);
    h["--inflight"] = unsigned_into(o.inflight, 1, 65535);
    h["--pub-topic"] = string_into(o.pub_topic);
    h["--sub-topic"] = string_into(o.sub_topic);
    h["--share-groups"] = unsigned_into(o.share_groups, 0, 100000);
    h["--duration"] = double_into(o.duration);
    h["--count"] = unsigned_into(o.count, 0, std::uint64_t{1} << 40);
    h["--drain-timeout"] = double_into(o.drain_timeout);
    h["--quiet-timeout"] = double_into(o.quiet_timeout);
    h["--churn-rate"] = double_into(o.churn_rate);
    h["--churn-clients"] = unsigned_into(o.churn_clients, 1, 10000);
    h["--churn-topic"] = string_into(o.churn_topic);
    if (!run_parser(argc, argv, h, o, traffic_usage, help)) return std::nullopt;
    if (o.duration <= 0 && o.count == 0) {
        std::fprintf(stderr, "sluice-bench: give --duration or --count\n");
        return std::nullopt;
    }
    if (o.publishers == 0 && o.subscribers == 0) {
        std::fprintf(stderr, "sluice-bench: nothing to do (no publishers, no subscribers)\n");
        return std::nullopt;
    }
    return o;
}

std::optional<options> parse_idle_options(int argc, char** argv, bool* help) {
    options o;
    handlers h = common_handlers(o);
    h["--steps"] = [&o](const char* s) {
        o.steps.clear();
        std::stringstream in(s);
        std::string item;
        while (std::getline(in, item, ',')) {
            std::uint64_t v = 0;
            if (!parse_u64(item.c_str(), v) || v == 0 || v > 1'000'000) return false;
            if (!o.steps.empty() && v <= o.steps.back()) return false;  // must increase
            o.steps.push_back(static_cast<unsigned>(v));
        }
        return !o.steps.empty();
    };
    h["--settle"] = double_into(o.settle);
    h["--hold"] = double_into(o.hold);
    if (!run_parser(argc, argv, h, o, idle_usage, help)) return std::nullopt;
    if (o.steps.empty()) {
        std::fprintf(stderr, "sluice-bench: mqtt-idle needs --steps\n");
        return std::nullopt;
    }
    return o;
}

const char* transport_name(transport_kind t) {
    switch (t) {
        case transport_kind::tls: return "tls";
        case transport_kind::ws: return "ws";
        case transport_kind::wss: return "wss";
        case transport_kind::tcp: break;
    }
    return "tcp";
}

std::string expand_template(const std::string& pattern, unsigned index) {
    std::string out;
    const std::string idx = std::to_string(index);
    for (std::size_t i = 0; i < pattern.size(); ++i) {
        if (pattern.compare(i, 3, "{i}") == 0) {
            out += idx;
            i += 2;
        } else {
            out += pattern[i];
        }
    }
    return out;
}

}  // namespace sluice::bench

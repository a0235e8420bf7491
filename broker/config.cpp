#include "broker/config.hpp"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <limits>
#include <sstream>

#include <arpa/inet.h>

#include <nlohmann/json.hpp>

#include "broker/log.hpp"

namespace sluice::broker {
namespace {

using json = nlohmann::json;

template <typename T>
bool parse_unsigned(std::string_view text, T& out) {
    if (text.empty()) return false;
    std::uint64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size()) return false;
    if (value > std::numeric_limits<T>::max()) return false;
    out = static_cast<T>(value);
    return true;
}

[[noreturn]] void fail(std::string message) {
    throw config_error{std::move(message)};
}

template <typename T>
void read_unsigned(const json& value, const std::string& key, T& out, std::uint64_t min,
                   std::uint64_t max) {
    if (!value.is_number_unsigned() &&
        !(value.is_number_integer() && value.get<std::int64_t>() >= 0))
        fail("config key " + key + ": expected a non-negative integer");
    std::uint64_t v = value.get<std::uint64_t>();
    if (v < min || v > max)
        fail("config key " + key + ": " + std::to_string(v) + " is out of range " +
             std::to_string(min) + ".." + std::to_string(max));
    out = static_cast<T>(v);
}

void read_bool(const json& value, const std::string& key, bool& out) {
    if (!value.is_boolean()) fail("config key " + key + ": expected true or false");
    out = value.get<bool>();
}

void read_string(const json& value, const std::string& key, std::string& out) {
    if (!value.is_string()) fail("config key " + key + ": expected a string");
    out = value.get<std::string>();
}

void read_address(const json& value, const std::string& key, listen_address& out) {
    if (!value.is_string()) fail("config key " + key + ": expected \"HOST:PORT\"");
    auto parsed = parse_listen_address(value.get<std::string>());
    if (!parsed)
        fail("config key " + key + ": bad address \"" + value.get<std::string>() +
             "\" (expected HOST:PORT, port 0..65535)");
    out = *parsed;
}

// The kind a listener's "type" names; the reserved names keep their kind without a type.
listener_kind read_kind(const json& value, const std::string& key) {
    if (!value.is_string()) fail("config key " + key + ": expected a string");
    const auto t = value.get<std::string>();
    if (t == "tcp" || t == "mqtt") return listener_kind::mqtt_tcp;
    if (t == "kafka") return listener_kind::kafka;
    if (t == "http") return listener_kind::http;
    if (t == "tls") return listener_kind::mqtt_tls;
    if (t == "ws") return listener_kind::mqtt_ws;
    if (t == "wss") return listener_kind::mqtt_wss;
    if (t == "kafka-tls") return listener_kind::kafka_tls;
    fail("config key " + key + ": unknown listener type \"" + t +
         "\" (tcp, tls, ws, wss, kafka, kafka-tls, http)");
}

tls_client_auth parse_client_auth(std::string_view v, const std::string& what) {
    if (v == "none") return tls_client_auth::none;
    if (v == "optional") return tls_client_auth::optional;
    if (v == "required") return tls_client_auth::required;
    fail(what + ": expected \"required\", \"optional\" or \"none\", not \"" + std::string(v) +
         "\"");
}

// A TLS key of a listener object ("cert", "key", ...); false when `k` is not one.
bool read_tls_key(const std::string& k, const json& v, const std::string& key, tls_settings& t) {
    if (k == "cert") {
        read_string(v, key, t.cert);
    } else if (k == "key") {
        read_string(v, key, t.key);
    } else if (k == "ca") {
        read_string(v, key, t.ca);
    } else if (k == "client_auth") {
        std::string s;
        read_string(v, key, s);
        t.client_auth = parse_client_auth(s, "config key " + key);
    } else if (k == "min_version") {
        std::string s;
        read_string(v, key, s);
        if (s != "1.2" && s != "1.3")
            fail("config key " + key + ": expected \"1.2\" or \"1.3\", not \"" + s + "\"");
        t.min_tls13 = s == "1.3";
    } else if (k == "ciphers") {
        read_string(v, key, t.ciphers);
    } else if (k == "ciphersuites") {
        read_string(v, key, t.ciphersuites);
    } else if (k == "groups") {
        read_string(v, key, t.groups);
    } else {
        return false;
    }
    return true;
}

bool speaks_tls(listener_kind k) {
    return k == listener_kind::mqtt_tls || k == listener_kind::mqtt_wss ||
           k == listener_kind::kafka_tls;
}

// A WebSocket listener's "path": absolute, without a query or spaces.
void read_ws_path(const json& value, const std::string& key, std::string& out) {
    read_string(value, key, out);
    if (out.empty() || out.front() != '/' ||
        out.find_first_of("?# \t") != std::string::npos)
        fail("config key " + key + ": expected a path starting with \"/\" (no query or spaces), not \"" +
             out + "\"");
}

// What every TLS listener (tls, wss) needs once all flags and files are applied.
void check_tls_listeners(const config& cfg) {
    for (const auto& l : cfg.listeners) {
        if (!speaks_tls(l.kind)) continue;
        const std::string key = "listeners." + l.name;
        const char* type = l.kind == listener_kind::mqtt_wss    ? "wss"
                           : l.kind == listener_kind::kafka_tls ? "kafka-tls"
                                                                : "tls";
        if (l.tls.cert.empty())
            fail("config key " + key + ".cert: a " + type + " listener needs a certificate");
        if (l.tls.key.empty())
            fail("config key " + key + ".key: a " + type + " listener needs a private key");
        if (l.tls.client_auth != tls_client_auth::none && l.tls.ca.empty())
            fail("config key " + key + ".ca: client_auth needs a CA to verify client certificates");
    }
}

// An http listener's "admin_users": an array of user names of the password file.
void read_admin_users(const json& v, const std::string& key, std::vector<std::string>& out) {
    if (!v.is_array()) fail("config key " + key + ": expected an array of user names");
    out.clear();
    for (const auto& u : v) {
        if (!u.is_string() || u.get<std::string>().empty())
            fail("config key " + key + ": expected an array of non-empty strings");
        out.push_back(u.get<std::string>());
    }
}

// "listeners": {"<name>": "HOST:PORT" | {"type": ..., "address": ..., "max_connections": N}}.
// A name already in the registry (mqtt, kafka, http) is updated; a new one is added and must
// say its type.
void apply_listeners(config& cfg, const json& v) {
    if (!v.is_object()) fail("config key listeners: expected an object");
    for (auto l = v.begin(); l != v.end(); ++l) {
        const std::string key = "listeners." + l.key();
        listener_settings* entry = cfg.listener(l.key());
        listener_settings fresh;
        if (!entry) {
            if (!l.value().is_object() || !l.value().contains("type"))
                fail("config key " + key + ": a new listener needs an object with a \"type\"");
            fresh.name = l.key();
            entry = &fresh;
        }
        if (l.value().is_string()) {
            read_address(l.value(), key, entry->address);
        } else if (l.value().is_object()) {
            bool has_tls_key = false;
            bool has_path = false;
            for (auto f = l.value().begin(); f != l.value().end(); ++f) {
                const std::string fkey = key + "." + f.key();
                if (f.key() == "type")
                    entry->kind = read_kind(f.value(), fkey);
                else if (f.key() == "address")
                    read_address(f.value(), fkey, entry->address);
                else if (f.key() == "max_connections")
                    read_unsigned(f.value(), fkey, entry->max_connections, 0u, 1u << 30);
                else if (f.key() == "allow_anonymous") {
                    bool b = false;
                    read_bool(f.value(), fkey, b);
                    entry->allow_anonymous = b;
                } else if (f.key() == "use_identity_as_username")
                    read_bool(f.value(), fkey, entry->use_identity_as_username);
                else if ((f.key() == "allow_anonymous_admin" || f.key() == "allow_remote") &&
                         entry->kind == listener_kind::http)  // allow_remote: its older name
                    read_bool(f.value(), fkey, entry->allow_anonymous_admin);
                else if (f.key() == "admin_users" && entry->kind == listener_kind::http)
                    read_admin_users(f.value(), fkey, entry->admin_users);
                else if (f.key() == "admin_token_file" && entry->kind == listener_kind::http) {
                    read_string(f.value(), fkey, entry->admin_token_file);
                    if (entry->admin_token_file.empty())
                        fail("config key " + fkey + ": must not be empty");
                }
                else if (f.key() == "sendfile" && entry->kind == listener_kind::kafka)
                    read_bool(f.value(), fkey, entry->sendfile);
                else if (read_tls_key(f.key(), f.value(), fkey, entry->tls))
                    has_tls_key = true;
                else if (f.key() == "path") {
                    read_ws_path(f.value(), fkey, entry->path);
                    has_path = true;
                } else
                    fail("unknown config key " + fkey);
            }
            if (has_tls_key && !speaks_tls(entry->kind))
                fail("config key " + key +
                     ": TLS keys need \"type\": \"tls\", \"wss\" or \"kafka-tls\"");
            if (has_path && entry->kind != listener_kind::mqtt_ws &&
                entry->kind != listener_kind::mqtt_wss)
                fail("config key " + key + ".path: needs \"type\": \"ws\" or \"wss\"");
        } else {
            fail("config key " + key + ": expected \"HOST:PORT\" or an object");
        }
        if (entry == &fresh) {
            // WebSocket listeners have a usual port (docs/configuration.md, "Listeners").
            if (fresh.address.host.empty() && fresh.kind == listener_kind::mqtt_ws)
                fresh.address = {"127.0.0.1", 8083};
            if (fresh.address.host.empty() && fresh.kind == listener_kind::mqtt_wss)
                fresh.address = {"127.0.0.1", 8084};
            if (fresh.address.host.empty() && fresh.kind == listener_kind::kafka_tls)
                fresh.address = {"127.0.0.1", 9093};
            cfg.listeners.push_back(std::move(fresh));
        }
    }
}

// Authentication settings that only make sense together.
void check_auth_listeners(const config& cfg) {
    for (const auto& l : cfg.listeners) {
        if (!l.admin_users.empty() && cfg.auth_opts.password_file.empty())
            fail("config key listeners." + l.name +
                 ".admin_users: needs auth.password_file (the users are its users)");
        if (!l.use_identity_as_username) continue;
        const std::string key = "config key listeners." + l.name + ".use_identity_as_username";
        if (!speaks_tls(l.kind)) fail(key + ": needs \"type\": \"tls\", \"wss\" or \"kafka-tls\"");
        if (l.tls.client_auth == tls_client_auth::none)
            fail(key + ": needs client_auth \"required\" or \"optional\" (no certificate, no identity)");
    }
}

void apply_kafka_groups(kafka::group_config& g, const json& obj) {
    if (!obj.is_object()) fail("config key kafka_groups: expected an object");
    for (auto it = obj.begin(); it != obj.end(); ++it) {
        const std::string key = "kafka_groups." + it.key();
        if (it.key() == "min_session_timeout_ms")
            read_unsigned(it.value(), key, g.min_session_timeout_ms, 1, 3600000);
        else if (it.key() == "max_session_timeout_ms")
            read_unsigned(it.value(), key, g.max_session_timeout_ms, 1, 86400000);
        else if (it.key() == "initial_rebalance_delay_ms")
            read_unsigned(it.value(), key, g.initial_rebalance_delay_ms, 0, 300000);
        else
            fail("unknown config key " + key);
    }
    if (g.min_session_timeout_ms > g.max_session_timeout_ms)
        fail("config key kafka_groups.min_session_timeout_ms: larger than max_session_timeout_ms");
}

void apply_auth(auth_settings& a, const json& obj) {
    if (!obj.is_object()) fail("config key auth: expected an object");
    for (auto it = obj.begin(); it != obj.end(); ++it) {
        const std::string key = "auth." + it.key();
        std::string* target = it.key() == "password_file" ? &a.password_file
                              : it.key() == "acl_file"    ? &a.acl_file
                                                          : nullptr;
        if (!target) fail("unknown config key " + key);
        read_string(it.value(), key, *target);
        if (target->empty()) fail("config key " + key + ": must not be empty");
    }
}

// The listener a flag sets: "mqtts" (tls, 127.0.0.1:8883), "ws" (8083), "wss" (8084) or
// "kafka-tls" (9093), made with its usual address when the config has none of that name.
listener_settings* flag_listener(config& cfg, const std::string& name, const std::string& flag) {
    const listener_kind kind = name == "ws"          ? listener_kind::mqtt_ws
                               : name == "wss"       ? listener_kind::mqtt_wss
                               : name == "kafka-tls" ? listener_kind::kafka_tls
                                                     : listener_kind::mqtt_tls;
    listener_settings* l = cfg.listener(name);
    if (!l) {
        const std::uint16_t port = name == "ws"          ? 8083
                                   : name == "wss"       ? 8084
                                   : name == "kafka-tls" ? 9093
                                                         : 8883;
        cfg.listeners.push_back({name, kind, {"127.0.0.1", port}});
        l = &cfg.listeners.back();
    }
    if (l->kind != kind)
        fail("option " + flag + ": the config's " + name + " listener is not of type " +
             (name == "mqtts" ? std::string("tls") : name));
    return l;
}

void check_log_level(const std::string& value, const std::string& what) {
    if (!parse_log_level(value))
        fail(what + ": unknown log level \"" + value + "\" (error, warn, info, debug, trace)");
}

void check_log_format(const std::string& value, const std::string& what) {
    if (!parse_log_format(value)) fail(what + ": unknown log format \"" + value + "\" (text, json)");
}

void apply_mqtt(mqtt_settings& m, const json& obj) {
    if (!obj.is_object()) fail("config key mqtt: expected an object");
    for (auto it = obj.begin(); it != obj.end(); ++it) {
        const std::string key = "mqtt." + it.key();
        const json& v = it.value();
        const std::string& k = it.key();
        if (k == "max_packet_size")
            read_unsigned(v, key, m.max_packet_size, 64, 268435460);
        else if (k == "receive_maximum")
            read_unsigned(v, key, m.receive_maximum, 1, 65535);
        else if (k == "max_inflight")
            read_unsigned(v, key, m.max_inflight, 1, 65535);
        else if (k == "topic_alias_maximum")
            read_unsigned(v, key, m.topic_alias_maximum, 0, 65535);
        else if (k == "max_keep_alive")
            read_unsigned(v, key, m.max_keep_alive, 1, 65535);
        else if (k == "connect_timeout_ms")
            read_unsigned(v, key, m.connect_timeout_ms, 100, 3600000);
        else if (k == "maximum_qos")
            read_unsigned(v, key, m.maximum_qos, 0, 2);
        else if (k == "retain_available")
            read_bool(v, key, m.retain_available);
        else if (k == "send_queue_bytes")
            read_unsigned(v, key, m.send_queue_bytes, 1024, 0xFFFFFFFFu);
        else if (k == "max_queued_messages")
            read_unsigned(v, key, m.max_queued_messages, 1, 0xFFFFFFFFu);
        else if (k == "max_session_expiry")
            read_unsigned(v, key, m.max_session_expiry, 0, 0xFFFFFFFFu);
        else if (k == "sys_interval_s")
            read_unsigned(v, key, m.sys_interval_s, 0, 86400);
        else if (k == "max_queued_bytes")
            read_unsigned(v, key, m.max_queued_bytes, 0, 1ull << 40);
        else if (k == "queued_bytes_budget")
            read_unsigned(v, key, m.queued_bytes_budget, 0, 1ull << 42);
        else if (k == "backlog_max_messages")
            read_unsigned(v, key, m.backlog_max_messages, 0, 1ull << 40);
        else if (k == "backlog_max_bytes")
            read_unsigned(v, key, m.backlog_max_bytes, 0, 1ull << 50);
        else if (k == "backlog_max_age_ms")
            read_unsigned(v, key, m.backlog_max_age_ms, 0, 1ull << 42);
        else if (k == "unauthenticated_bytes")
            read_unsigned(v, key, m.unauthenticated_bytes, 4096, 1ull << 40);
        else
            fail("unknown config key " + key);
    }
}

void apply_store(store_settings& st, const json& obj) {
    if (!obj.is_object()) fail("config key store: expected an object");
    for (auto it = obj.begin(); it != obj.end(); ++it) {
        const std::string key = "store." + it.key();
        if (it.key() == "writer_threads")
            read_unsigned(it.value(), key, st.writer_threads, 1, 256);
        else if (it.key() == "parallel_syncs")
            read_unsigned(it.value(), key, st.parallel_syncs, 1, 64);
        else if (it.key() == "sync_round_gap_us")
            read_unsigned(it.value(), key, st.sync_round_gap_us, 0, 100000);
        else if (it.key() == "pending_bytes_budget")
            read_unsigned(it.value(), key, st.pending_bytes_budget, 1024, 1ull << 40);
        else if (it.key() == "reopen_interval_ms")
            read_unsigned(it.value(), key, st.reopen_interval_ms, 0, 3600000);
        else
            fail("unknown config key " + key);
    }
}

void apply_ingest_rules(config& cfg, const json& v) {
    std::string error;
    auto rules = ingest::ingest_rules::parse(v, error);
    if (!rules) fail("config key " + error);
    cfg.ingest = std::make_shared<const ingest::ingest_rules>(std::move(*rules));
}

void apply_egress_rules(config& cfg, const json& v) {
    std::string error;
    auto rules = ingest::egress_rules::parse(v, error);
    if (!rules) fail("config key " + error);
    cfg.egress = std::make_shared<const ingest::egress_rules>(std::move(*rules));
}

}  // namespace

listener_settings* config::listener(std::string_view name) {
    for (auto& l : listeners)
        if (l.name == name) return &l;
    return nullptr;
}

const listener_settings* config::listener(std::string_view name) const {
    for (const auto& l : listeners)
        if (l.name == name) return &l;
    return nullptr;
}

bool listener_allows_anonymous(const listener_settings& l) {
    if (l.allow_anonymous) return *l.allow_anonymous;
    const std::string& h = l.address.host;
    if (h == "localhost") return true;
    unsigned char a[16];
    if (inet_pton(AF_INET, h.c_str(), a) == 1) return a[0] == 127;
    if (inet_pton(AF_INET6, h.c_str(), a) == 1) {
        static const unsigned char loopback6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
        return std::equal(a, a + 16, loopback6);
    }
    return false;
}

std::optional<listen_address> parse_listen_address(std::string_view text) {
    std::string_view host, port;
    if (!text.empty() && text.front() == '[') {
        auto close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
            return std::nullopt;
        host = text.substr(1, close - 1);
        port = text.substr(close + 2);
    } else {
        auto colon = text.rfind(':');
        if (colon == std::string_view::npos) return std::nullopt;
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
        if (host.find(':') != std::string_view::npos) return std::nullopt;  // v6 needs brackets
    }
    if (host.empty()) return std::nullopt;
    listen_address out;
    out.host = std::string(host);
    if (!parse_unsigned(port, out.port)) return std::nullopt;
    return out;
}

void apply_config_json(config& cfg, std::string_view json_text) {
    json doc;
    try {
        doc = json::parse(json_text.begin(), json_text.end(), nullptr, true,
                          /*ignore_comments=*/true);
    } catch (const json::parse_error& e) {
        fail(std::string("config file is not valid JSON: ") + e.what());
    }
    if (!doc.is_object()) fail("config file: expected a JSON object at the top level");
    for (auto it = doc.begin(); it != doc.end(); ++it) {
        const std::string& k = it.key();
        const json& v = it.value();
        if (k == "data_dir") {
            read_string(v, k, cfg.data_dir);
            if (cfg.data_dir.empty()) fail("config key data_dir: must not be empty");
        } else if (k == "log_level") {
            read_string(v, k, cfg.log_level);
            check_log_level(cfg.log_level, "config key log_level");
        } else if (k == "log_format") {
            read_string(v, k, cfg.log_format);
            check_log_format(cfg.log_format, "config key log_format");
        } else if (k == "threads") {
            read_unsigned(v, k, cfg.threads, 0, 1024);
        } else if (k == "listeners") {
            apply_listeners(cfg, v);
        } else if (k == "mqtt") {
            apply_mqtt(cfg.mqtt_opts, v);
        } else if (k == "store") {
            apply_store(cfg.store_opts, v);
        } else if (k == "ingest_rules") {
            apply_ingest_rules(cfg, v);
        } else if (k == "egress_rules") {
            apply_egress_rules(cfg, v);
        } else if (k == "auth") {
            apply_auth(cfg.auth_opts, v);
        } else if (k == "kafka_groups") {
            apply_kafka_groups(cfg.kafka_groups, v);
        } else {
            fail("unknown config key " + k);
        }
    }
}

std::string usage_text() {
    const config d;
    std::ostringstream o;
    o << "usage: sluice [options]\n"
         "\n"
         "Sluice, an MQTT 3.1.1/5.0 broker. With no options it runs a single node on loopback\n"
         "with MQTT on 127.0.0.1:1883 and its data in ./data. Flags override the config file;\n"
         "every config key and its default is described in docs/configuration.md.\n"
         "\n"
         "options:\n"
         "  --config FILE       JSON config file (comments allowed); unknown keys are errors\n"
         "  --data-dir DIR      data directory (default "
      << d.data_dir
      << ")\n"
         "  --mqtt HOST:PORT    MQTT over TCP listener (default "
      << d.listener("mqtt")->address.host << ":" << d.listener("mqtt")->address.port
      << ")\n"
         "                      port 0 binds a free port; the bound port is printed\n"
         "  --kafka HOST:PORT   Kafka listener: backends consume and produce the log with\n"
         "                      Kafka clients; port 0 binds a free port (default "
      << d.listener("kafka")->address.host << ":" << d.listener("kafka")->address.port
      << ")\n"
         "  --http HOST:PORT    HTTP listener: /health, /ready, /metrics, the admin API and\n"
         "                      the dashboard; authenticated when auth.password_file or\n"
         "                      admin_token_file is set, else loopback only unless\n"
         "                      allow_anonymous_admin (default "
      << d.listener("http")->address.host << ":" << d.listener("http")->address.port
      << ")\n"
         "  --mqtts HOST:PORT   MQTT over TLS listener \"mqtts\" (off by default; 8883 when any\n"
         "                      --tls-* flag turns it on); needs --tls-cert and --tls-key\n"
         "  --ws HOST:PORT      MQTT over WebSocket listener \"ws\" (off by default; usual port\n"
         "                      8083), upgrade path /mqtt, subprotocol mqtt\n"
         "  --wss HOST:PORT     MQTT over secure WebSocket listener \"wss\" (off by default;\n"
         "                      usual port 8084); the --tls-* flags set its certificates, and\n"
         "                      with --wss they no longer turn mqtts on by themselves\n"
         "  --kafka-tls HOST:PORT\n"
         "                      Kafka over TLS listener \"kafka-tls\" (off by default; usual\n"
         "                      port 9093); the --tls-* flags set its certificates, and with\n"
         "                      --kafka-tls they no longer turn mqtts on by themselves\n"
         "  --tls-cert FILE     PEM server certificate (chain) of the mqtts, wss and kafka-tls\n"
         "                      listeners\n"
         "  --tls-key FILE      PEM private key of that certificate\n"
         "  --tls-ca FILE       PEM CA bundle for client certificates\n"
         "  --tls-client-auth required|optional|none\n"
         "                      ask for client certificates (default none); needs --tls-ca\n"
         "  --allow-anonymous true|false\n"
         "                      clients without a user name on every MQTT listener (default:\n"
         "                      allowed on a loopback address only)\n"
         "  --password-file FILE users and password hashes (make one with sluice passwd)\n"
         "  --acl-file FILE     access control rules for publish and subscribe\n"
         "  --threads N         io threads, one io_context each (default 0 = one per core)\n"
         "  --log-level LEVEL   error, warn, info, debug or trace (default "
      << d.log_level
      << ")\n"
         "  --log-format FORMAT text (one line per event) or json (one JSON object per line)\n"
         "                      (default "
      << d.log_format
      << ")\n"
         "  --sys-interval SECS period of the $SYS/broker/... topics, 0 = off (default "
      << d.mqtt_opts.sys_interval_s
      << ")\n"
         "  --help              print this text and exit\n"
         "  --version           print the version and exit\n"
         "\n"
         "At start-up sluice prints one line per open listener on stdout:\n"
         "  listening <name> <host>:<port>\n"
         "SIGINT or SIGTERM stops it cleanly (exit 0); SIGHUP reloads the certificates of TLS\n"
         "listeners and the password and ACL files. Bad flags or config values exit with 2.\n"
         "\n"
         "  sluice passwd [--delete] FILE USER\n"
         "                      adds a user or changes its password (read from the terminal,\n"
         "                      or one line of standard input), or deletes it\n";
    return o.str();
}

cli_action parse_command_line(int argc, const char* const* argv, config& cfg) {
    struct flag_value {
        std::string flag, value;
    };
    std::vector<flag_value> flags;
    std::optional<std::string> config_path;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "--help" || arg == "-h") return cli_action::help;
        if (arg == "--version") return cli_action::version;
        std::string value;
        bool has_value = false;
        if (auto eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
            value = arg.substr(eq + 1);
            arg = arg.substr(0, eq);
            has_value = true;
        }
        static const char* const known[] = {
            "--config",  "--data-dir",  "--mqtt",           "--kafka", "--http", "--log-format",
            "--threads", "--log-level", "--sys-interval",   "--mqtts", "--tls-cert", "--ws", "--wss",
            "--tls-key", "--tls-ca",    "--tls-client-auth", "--allow-anonymous", "--password-file",
            "--acl-file", "--kafka-tls"};
        bool is_known = false;
        for (const char* k : known) is_known = is_known || arg == k;
        if (!is_known) fail("unknown option " + arg + " (see sluice --help)");
        if (!has_value) {
            if (i + 1 >= argc) fail("option " + arg + " needs a value");
            value = argv[++i];
        }
        if (arg == "--config")
            config_path = value;
        else
            flags.push_back({arg, value});
    }
    // --wss or --kafka-tls given: --tls-* flags alone do not make an mqtts listener.
    bool wss_flag = false, kafka_tls_flag = false;
    for (const auto& f : flags) {
        wss_flag = wss_flag || f.flag == "--wss";
        kafka_tls_flag = kafka_tls_flag || f.flag == "--kafka-tls";
    }
    if (config_path) {
        cfg.config_file = *config_path;
        std::ifstream in(*config_path, std::ios::binary);
        if (!in) fail("--config: cannot read " + *config_path);
        std::ostringstream text;
        text << in.rdbuf();
        apply_config_json(cfg, text.str());
    }
    std::optional<bool> allow_anonymous;  // applied last, to every listener the flags made too
    for (const auto& [flag, value] : flags) {
        if (flag == "--data-dir") {
            if (value.empty()) fail("option --data-dir: must not be empty");
            cfg.data_dir = value;
        } else if (flag == "--mqtt" || flag == "--kafka" || flag == "--http") {
            auto addr = parse_listen_address(value);
            if (!addr)
                fail("option " + flag + ": bad address \"" + value +
                     "\" (expected HOST:PORT, port 0..65535)");
            const std::string name = flag.substr(2);
            if (auto* l = cfg.listener(name))
                l->address = *addr;
            else
                cfg.listeners.push_back({name,
                                         name == "mqtt"    ? listener_kind::mqtt_tcp
                                         : name == "kafka" ? listener_kind::kafka
                                                           : listener_kind::http,
                                         *addr});
        } else if (flag == "--mqtts" || flag == "--ws" || flag == "--wss" || flag == "--kafka-tls") {
            auto addr = parse_listen_address(value);
            if (!addr)
                fail("option " + flag + ": bad address \"" + value +
                     "\" (expected HOST:PORT, port 0..65535)");
            flag_listener(cfg, flag.substr(2), flag)->address = *addr;
        } else if (flag.rfind("--tls-", 0) == 0) {
            // The TLS settings of the `mqtts` listener, made by the first of these flags unless
            // --wss asks for a wss listener only, and of the `wss` listener when there is one.
            std::vector<listener_settings*> targets;
            if (cfg.listener("mqtts") || (!wss_flag && !kafka_tls_flag))
                targets.push_back(flag_listener(cfg, "mqtts", flag));
            if (cfg.listener("wss") || wss_flag) targets.push_back(flag_listener(cfg, "wss", flag));
            if (cfg.listener("kafka-tls") || kafka_tls_flag)
                targets.push_back(flag_listener(cfg, "kafka-tls", flag));
            for (listener_settings* l : targets) {
                if (flag == "--tls-cert")
                    l->tls.cert = value;
                else if (flag == "--tls-key")
                    l->tls.key = value;
                else if (flag == "--tls-ca")
                    l->tls.ca = value;
                else
                    l->tls.client_auth = parse_client_auth(value, "option --tls-client-auth");
            }
        } else if (flag == "--allow-anonymous") {
            if (value != "true" && value != "false")
                fail("option --allow-anonymous: expected true or false, not \"" + value + "\"");
            allow_anonymous = value == "true";
        } else if (flag == "--password-file" || flag == "--acl-file") {
            if (value.empty()) fail("option " + flag + ": must not be empty");
            (flag == "--password-file" ? cfg.auth_opts.password_file : cfg.auth_opts.acl_file) =
                value;
        } else if (flag == "--threads") {
            if (!parse_unsigned(value, cfg.threads) || cfg.threads > 1024)
                fail("option --threads: bad value \"" + value + "\" (0..1024)");
        } else if (flag == "--log-level") {
            check_log_level(value, "option --log-level");
            cfg.log_level = value;
        } else if (flag == "--log-format") {
            check_log_format(value, "option --log-format");
            cfg.log_format = value;
        } else if (flag == "--sys-interval") {
            if (!parse_unsigned(value, cfg.mqtt_opts.sys_interval_s) ||
                cfg.mqtt_opts.sys_interval_s > 86400)
                fail("option --sys-interval: bad value \"" + value + "\" (0..86400)");
        }
    }
    if (allow_anonymous)
        for (auto& l : cfg.listeners) l.allow_anonymous = *allow_anonymous;
    check_tls_listeners(cfg);
    check_auth_listeners(cfg);
    return cli_action::run;
}

}  // namespace sluice::broker

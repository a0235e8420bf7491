#include <catch2/catch.hpp>

#include "broker/config.hpp"
#include "broker/tls_context.hpp"

using namespace sluice::broker;

TEST_CASE("listen addresses parse host and port") {
    auto a = parse_listen_address("127.0.0.1:1883");
    REQUIRE(a);
    CHECK(a->host == "127.0.0.1");
    CHECK(a->port == 1883);
    auto v6 = parse_listen_address("[::1]:0");
    REQUIRE(v6);
    CHECK(v6->host == "::1");
    CHECK(v6->port == 0);
    CHECK_FALSE(parse_listen_address("127.0.0.1"));
    CHECK_FALSE(parse_listen_address("127.0.0.1:65536"));
    CHECK_FALSE(parse_listen_address(":80"));
    CHECK_FALSE(parse_listen_address("::1:80"));
    CHECK_FALSE(parse_listen_address("host:8x"));
}

TEST_CASE("config JSON with comments overrides defaults") {
    config cfg;
    apply_config_json(cfg, R"({
        // line comment
        "threads": 3, /* block */
        "listeners": {"mqtt": "0.0.0.0:1884"},
        "mqtt": {"receive_maximum": 10, "retain_available": false}
    })");
    CHECK(cfg.threads == 3);
    CHECK(cfg.listener("mqtt")->address.host == "0.0.0.0");
    CHECK(cfg.listener("mqtt")->address.port == 1884);
    CHECK(cfg.mqtt_opts.receive_maximum == 10);
    CHECK_FALSE(cfg.mqtt_opts.retain_available);
    CHECK(cfg.data_dir == "./data");
}

static std::string error_of(const char* json) {
    config cfg;
    try {
        apply_config_json(cfg, json);
    } catch (const config_error& e) {
        return e.message;
    }
    return "";
}

TEST_CASE("bad config values name their key") {
    CHECK_THAT(error_of(R"({"nope": 1})"), Catch::Contains("nope"));
    CHECK_THAT(error_of(R"({"mqtt": {"maximum_qos": 3}})"), Catch::Contains("mqtt.maximum_qos"));
    CHECK_THAT(error_of(R"({"mqtt": {"retain_available": 1}})"),
               Catch::Contains("mqtt.retain_available"));
    CHECK_THAT(error_of(R"({"threads": -1})"), Catch::Contains("threads"));
    CHECK_THAT(error_of(R"({"log_level": "loud"})"), Catch::Contains("log_level"));
    CHECK_THAT(error_of(R"({"listeners": {"mqtt": "x"}})"), Catch::Contains("listeners.mqtt"));
    CHECK_THAT(error_of("[1]"), Catch::Contains("object"));
    CHECK_THAT(error_of("{"), Catch::Contains("JSON"));
}

TEST_CASE("command line flags override the config file") {
    config cfg;
    const char* argv[] = {"sluice", "--mqtt", "127.0.0.1:0", "--threads=2", "--log-level", "debug"};
    CHECK(parse_command_line(6, argv, cfg) == cli_action::run);
    CHECK(cfg.listener("mqtt")->address.port == 0);
    CHECK(cfg.threads == 2);
    CHECK(cfg.log_level == "debug");
    const char* bad[] = {"sluice", "--threads"};
    CHECK_THROWS_AS(parse_command_line(2, bad, cfg), config_error);
}

TEST_CASE("the listener registry: named entries, new listeners with a type, limits") {
    config cfg;
    REQUIRE(cfg.listeners.size() == 3);
    apply_config_json(cfg, R"({"listeners": {
        "mqtt": {"address": "127.0.0.1:0", "max_connections": 10},
        "lan": {"type": "tcp", "address": "0.0.0.0:1884"}
    }})");
    REQUIRE(cfg.listener("mqtt"));
    CHECK(cfg.listener("mqtt")->max_connections == 10);
    CHECK(cfg.listener("mqtt")->address.port == 0);
    REQUIRE(cfg.listener("lan"));
    CHECK(cfg.listener("lan")->kind == listener_kind::mqtt_tcp);
    CHECK(cfg.listener("lan")->address.host == "0.0.0.0");
    CHECK(cfg.listener("kafka")->kind == listener_kind::kafka);

    CHECK_THAT(error_of(R"({"listeners": {"x": "127.0.0.1:1"}})"),
               Catch::Contains("listeners.x") && Catch::Contains("type"));
    CHECK_THAT(error_of(R"({"listeners": {"x": {"type": "carrier-pigeon"}}})"),
               Catch::Contains("listeners.x.type"));
    CHECK_THAT(error_of(R"({"listeners": {"mqtt": {"max_connections": -1}}})"),
               Catch::Contains("listeners.mqtt.max_connections"));
    CHECK_THAT(error_of(R"({"mqtt": {"queued_bytes_budget": "lots"}})"),
               Catch::Contains("mqtt.queued_bytes_budget"));
}

TEST_CASE("backlog limits: off by default, set per key, bad values named") {
    config cfg;
    CHECK(cfg.mqtt_opts.backlog_max_messages == 0);
    CHECK(cfg.mqtt_opts.backlog_max_bytes == 0);
    CHECK(cfg.mqtt_opts.backlog_max_age_ms == 0);
    apply_config_json(cfg, R"({"mqtt": {"backlog_max_messages": 100000,
        "backlog_max_bytes": 1048576, "backlog_max_age_ms": 3600000}})");
    CHECK(cfg.mqtt_opts.backlog_max_messages == 100000);
    CHECK(cfg.mqtt_opts.backlog_max_bytes == 1048576);
    CHECK(cfg.mqtt_opts.backlog_max_age_ms == 3600000);
    CHECK_THAT(error_of(R"({"mqtt": {"backlog_max_age_ms": -1}})"),
               Catch::Contains("mqtt.backlog_max_age_ms"));
    CHECK_THAT(error_of(R"({"mqtt": {"backlog_max_messages": "many"}})"),
               Catch::Contains("mqtt.backlog_max_messages"));
}

TEST_CASE("tls listeners: config keys, --mqtts and --tls-* flags, checks at start") {
    config cfg;
    apply_config_json(cfg, R"({"listeners": {"secure": {"type": "tls", "address": "0.0.0.0:8884",
        "cert": "s.crt", "key": "s.key", "ca": "ca.crt", "client_auth": "optional",
        "min_version": "1.3", "ciphers": "ECDHE-ECDSA-AES128-GCM-SHA256",
        "ciphersuites": "TLS_AES_128_GCM_SHA256", "groups": "X25519:P-256"}}})");
    const listener_settings* s = cfg.listener("secure");
    REQUIRE(s);
    CHECK(s->kind == listener_kind::mqtt_tls);
    CHECK(s->address.port == 8884);
    CHECK(s->tls.cert == "s.crt");
    CHECK(s->tls.key == "s.key");
    CHECK(s->tls.ca == "ca.crt");
    CHECK(s->tls.client_auth == tls_client_auth::optional);
    CHECK(s->tls.min_tls13);
    CHECK(s->tls.ciphers == "ECDHE-ECDSA-AES128-GCM-SHA256");
    CHECK(s->tls.ciphersuites == "TLS_AES_128_GCM_SHA256");
    CHECK(s->tls.groups == "X25519:P-256");

    CHECK_THAT(error_of(R"({"listeners": {"t": {"type": "tls", "min_version": "1.1"}}})"),
               Catch::Contains("listeners.t.min_version"));
    CHECK_THAT(error_of(R"({"listeners": {"t": {"type": "tls", "client_auth": "maybe"}}})"),
               Catch::Contains("listeners.t.client_auth"));
    CHECK_THAT(error_of(R"({"listeners": {"t": {"type": "tls", "cert": 5}}})"),
               Catch::Contains("listeners.t.cert"));
    CHECK_THAT(error_of(R"({"listeners": {"mqtt": {"cert": "a.crt"}}})"),
               Catch::Contains("listeners.mqtt") && Catch::Contains("tls"));

    SECTION("the command line makes the mqtts listener, 8883 by default") {
        config c;
        const char* argv[] = {
            "sluice", "--tls-cert",        "a.crt",   "--tls-key=a.key", "--tls-ca",
            "ca.crt", "--tls-client-auth", "required"};
        REQUIRE(parse_command_line(8, argv, c) == cli_action::run);
        const listener_settings* m = c.listener("mqtts");
        REQUIRE(m);
        CHECK(m->kind == listener_kind::mqtt_tls);
        CHECK(m->address.host == "127.0.0.1");
        CHECK(m->address.port == 8883);
        CHECK(m->tls.cert == "a.crt");
        CHECK(m->tls.key == "a.key");
        CHECK(m->tls.client_auth == tls_client_auth::required);

        config c2;
        const char* argv2[] = {"sluice", "--mqtts", "[::1]:0", "--tls-cert", "a", "--tls-key", "b"};
        REQUIRE(parse_command_line(7, argv2, c2) == cli_action::run);
        CHECK(c2.listener("mqtts")->address.host == "::1");
        CHECK(c2.listener("mqtts")->address.port == 0);
        CHECK(c2.listener("mqtts")->tls.client_auth == tls_client_auth::none);
    }
    SECTION("a tls listener needs a certificate and key; client_auth needs a CA") {
        auto cli_error = [](std::vector<const char*> args) {
            config c;
            args.insert(args.begin(), "sluice");
            try {
                parse_command_line(static_cast<int>(args.size()), args.data(), c);
            } catch (const config_error& e) {
                return e.message;
            }
            return std::string();
        };
        CHECK_THAT(cli_error({"--mqtts", "127.0.0.1:0"}), Catch::Contains("listeners.mqtts.cert"));
        CHECK_THAT(cli_error({"--mqtts", "127.0.0.1:0", "--tls-cert", "a"}),
                   Catch::Contains("listeners.mqtts.key"));
        CHECK_THAT(
            cli_error({"--tls-cert", "a", "--tls-key", "b", "--tls-client-auth", "required"}),
            Catch::Contains("listeners.mqtts.ca"));
        CHECK_THAT(cli_error({"--tls-cert", "a", "--tls-key", "b", "--tls-client-auth", "always"}),
                   Catch::Contains("--tls-client-auth"));
        CHECK_THAT(cli_error({"--mqtts", "nowhere"}), Catch::Contains("--mqtts"));
    }
    SECTION("building the context names the key whose file is missing or unusable") {
        listener_settings l{"mqtts", listener_kind::mqtt_tls, {"127.0.0.1", 0}};
        l.tls.cert = "/nonexistent/server.crt";
        l.tls.key = "/nonexistent/server.key";
        auto build_error = [&] {
            try {
                make_tls_context(l);
            } catch (const config_error& e) {
                return e.message;
            }
            return std::string();
        };
        CHECK_THAT(build_error(),
                   Catch::Contains("listeners.mqtts.cert") && Catch::Contains("cannot read"));
        l.tls.cert = "/dev/null";
        CHECK_THAT(build_error(), Catch::Contains("listeners.mqtts.key"));
        l.tls.key = "/dev/null";
        CHECK_THAT(build_error(),
                   Catch::Contains("listeners.mqtts.cert") && Catch::Contains("PEM certificate"));
    }
}

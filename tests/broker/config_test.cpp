#include <catch2/catch.hpp>

#include "broker/config.hpp"

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
    CHECK_THAT(error_of(R"({"listeners": {"x": {"type": "tls"}}})"),
               Catch::Contains("not built yet"));
    CHECK_THAT(error_of(R"({"listeners": {"mqtt": {"max_connections": -1}}})"),
               Catch::Contains("listeners.mqtt.max_connections"));
    CHECK_THAT(error_of(R"({"mqtt": {"queued_bytes_budget": "lots"}})"),
               Catch::Contains("mqtt.queued_bytes_budget"));
}

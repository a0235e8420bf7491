// The WebSocket listeners in the registry: "ws"/"wss" types, "path", --ws/--wss and the
// --tls-* flags on a wss listener (docs/configuration.md, "Listeners").
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "broker/config.hpp"

using namespace sluice::broker;

namespace {

std::string json_error(const char* json) {
    config cfg;
    try {
        apply_config_json(cfg, json);
    } catch (const config_error& e) {
        return e.message;
    }
    return "";
}

// Parses `args` into `c`; the error message, or "" when they were accepted.
std::string cli(config& c, std::vector<const char*> args) {
    args.insert(args.begin(), "sluice");
    try {
        parse_command_line(static_cast<int>(args.size()), args.data(), c);
    } catch (const config_error& e) {
        return e.message;
    }
    return "";
}

}  // namespace

TEST_CASE("ws listeners: types, path, usual ports") {
    config cfg;
    apply_config_json(cfg, R"({"listeners": {
        "web": {"type": "ws"},
        "websecure": {"type": "wss", "address": "0.0.0.0:9443", "path": "/broker/mqtt",
                      "cert": "s.crt", "key": "s.key", "client_auth": "optional", "ca": "ca.crt"}
    }})");
    const listener_settings* web = cfg.listener("web");
    REQUIRE(web);
    CHECK(web->kind == listener_kind::mqtt_ws);
    CHECK(web->address.host == "127.0.0.1");
    CHECK(web->address.port == 8083);
    CHECK(web->path == "/mqtt");
    const listener_settings* wss = cfg.listener("websecure");
    REQUIRE(wss);
    CHECK(wss->kind == listener_kind::mqtt_wss);
    CHECK(wss->address.port == 9443);
    CHECK(wss->path == "/broker/mqtt");
    CHECK(wss->tls.cert == "s.crt");
    CHECK(wss->tls.client_auth == tls_client_auth::optional);

    config dflt;
    apply_config_json(dflt, R"({"listeners": {"w": {"type": "wss", "cert": "a", "key": "b"}}})");
    CHECK(dflt.listener("w")->address.port == 8084);

    CHECK_THAT(json_error(R"({"listeners": {"w": {"type": "ws", "path": "mqtt"}}})"),
               Catch::Contains("listeners.w.path"));
    CHECK_THAT(json_error(R"({"listeners": {"w": {"type": "ws", "path": "/m?x=1"}}})"),
               Catch::Contains("listeners.w.path"));
    CHECK_THAT(json_error(R"({"listeners": {"w": {"type": "ws", "path": 3}}})"),
               Catch::Contains("listeners.w.path"));
    CHECK_THAT(json_error(R"({"listeners": {"mqtt": {"path": "/mqtt"}}})"),
               Catch::Contains("listeners.mqtt.path") && Catch::Contains("ws"));
    CHECK_THAT(json_error(R"({"listeners": {"w": {"type": "ws", "cert": "a.crt"}}})"),
               Catch::Contains("listeners.w") && Catch::Contains("wss"));
    CHECK_THAT(json_error(R"({"listeners": {"w": {"type": "websocket"}}})"),
               Catch::Contains("listeners.w.type") && Catch::Contains("ws, wss"));
}

TEST_CASE("ws listeners: --ws and --wss, the --tls-* flags set the wss certificates") {
    SECTION("--ws alone makes the ws listener") {
        config c;
        REQUIRE(cli(c, {"--ws", "127.0.0.1:0"}).empty());
        const listener_settings* ws = c.listener("ws");
        REQUIRE(ws);
        CHECK(ws->kind == listener_kind::mqtt_ws);
        CHECK(ws->address.port == 0);
        CHECK_FALSE(c.listener("wss"));
        CHECK_FALSE(c.listener("mqtts"));
    }
    SECTION("--wss with --tls-* makes a wss listener and no mqtts") {
        config c;
        REQUIRE(cli(c, {"--tls-cert", "a.crt", "--wss", "[::1]:0", "--tls-key", "a.key",
                        "--tls-ca", "ca.crt", "--tls-client-auth", "required"})
                    .empty());
        const listener_settings* wss = c.listener("wss");
        REQUIRE(wss);
        CHECK(wss->kind == listener_kind::mqtt_wss);
        CHECK(wss->address.host == "::1");
        CHECK(wss->tls.cert == "a.crt");
        CHECK(wss->tls.key == "a.key");
        CHECK(wss->tls.ca == "ca.crt");
        CHECK(wss->tls.client_auth == tls_client_auth::required);
        CHECK_FALSE(c.listener("mqtts"));
    }
    SECTION("--mqtts and --wss share the --tls-* flags") {
        config c;
        REQUIRE(cli(c, {"--mqtts", "127.0.0.1:0", "--wss", "127.0.0.1:0", "--tls-cert", "a",
                        "--tls-key", "b"})
                    .empty());
        REQUIRE(c.listener("mqtts"));
        REQUIRE(c.listener("wss"));
        CHECK(c.listener("mqtts")->tls.cert == "a");
        CHECK(c.listener("wss")->tls.cert == "a");
        CHECK(c.listener("wss")->tls.key == "b");
    }
    SECTION("errors name the flag or key") {
        config c;
        CHECK_THAT(cli(c, {"--wss", "127.0.0.1:0"}), Catch::Contains("listeners.wss.cert") &&
                                                         Catch::Contains("wss listener"));
        config c2;
        CHECK_THAT(cli(c2, {"--wss", "127.0.0.1:0", "--tls-cert", "a"}),
                   Catch::Contains("listeners.wss.key"));
        config c3;
        CHECK_THAT(cli(c3, {"--ws", "nowhere"}), Catch::Contains("--ws"));
        config c4;
        apply_config_json(c4, R"({"listeners": {"ws": {"type": "tcp", "address": "127.0.0.1:0"}}})");
        CHECK_THAT(cli(c4, {"--ws", "127.0.0.1:0"}),
                   Catch::Contains("--ws") && Catch::Contains("not of type ws"));
    }
}

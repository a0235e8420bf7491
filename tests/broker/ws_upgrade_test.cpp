#include <catch2/catch.hpp>

#include <boost/beast/http/field.hpp>

#include "broker/ws_upgrade.hpp"

using namespace sluice::broker;
namespace http = boost::beast::http;

namespace {

// A well-formed WebSocket upgrade for `target` offering `protocols` (none when empty).
ws_upgrade_request upgrade(std::string target, std::string protocols = "mqtt") {
    ws_upgrade_request req{http::verb::get, target, 11};
    req.set(http::field::host, "localhost");
    req.set(http::field::upgrade, "websocket");
    req.set(http::field::connection, "Upgrade");
    req.set(http::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
    req.set(http::field::sec_websocket_version, "13");
    if (!protocols.empty()) req.set(http::field::sec_websocket_protocol, protocols);
    return req;
}

}  // namespace

TEST_CASE("ws upgrade: the subprotocol list is comma-separated tokens") {
    CHECK(ws_offers_subprotocol("mqtt", "mqtt"));
    CHECK(ws_offers_subprotocol("mqttv3.1, mqtt", "mqtt"));
    CHECK(ws_offers_subprotocol(" mqtt ,x", "mqtt"));
    CHECK(ws_offers_subprotocol("a,\tmqtt", "mqtt"));
    CHECK_FALSE(ws_offers_subprotocol("", "mqtt"));
    CHECK_FALSE(ws_offers_subprotocol("mqttv3.1", "mqtt"));
    CHECK_FALSE(ws_offers_subprotocol("MQTT", "mqtt"));  // tokens are case-sensitive
    CHECK_FALSE(ws_offers_subprotocol("mqtt-x, xmqtt", "mqtt"));
    CHECK_FALSE(ws_offers_subprotocol(",,", "mqtt"));
}

TEST_CASE("ws upgrade: the path is the target up to its query") {
    CHECK(ws_target_path("/mqtt") == "/mqtt");
    CHECK(ws_target_path("/mqtt?token=1") == "/mqtt");
    CHECK(ws_target_path("/") == "/");
    CHECK(ws_target_path("") == "");
}

TEST_CASE("ws upgrade: accepted with the path and subprotocol mqtt") {
    CHECK_FALSE(check_ws_upgrade(upgrade("/mqtt"), "/mqtt"));
    CHECK_FALSE(check_ws_upgrade(upgrade("/mqtt?client=1"), "/mqtt"));
    CHECK_FALSE(check_ws_upgrade(upgrade("/ws/broker", "mqttv3.1, mqtt"), "/ws/broker"));
    // Offered in a second Sec-WebSocket-Protocol field: the fields together are one list.
    auto req = upgrade("/mqtt", "x-other");
    req.insert(http::field::sec_websocket_protocol, "mqtt");
    CHECK_FALSE(check_ws_upgrade(req, "/mqtt"));
}

TEST_CASE("ws upgrade: wrong path 404, not an upgrade 426, no mqtt subprotocol 400") {
    auto r = check_ws_upgrade(upgrade("/other"), "/mqtt");
    REQUIRE(r);
    CHECK(r->status == http::status::not_found);
    CHECK_THAT(r->reason, Catch::Contains("/mqtt"));
    r = check_ws_upgrade(upgrade("/mqtt/"), "/mqtt");
    REQUIRE(r);
    CHECK(r->status == http::status::not_found);

    // The path is checked first: a plain GET elsewhere is a 404 too.
    ws_upgrade_request plain{http::verb::get, "/mqtt", 11};
    r = check_ws_upgrade(plain, "/mqtt");
    REQUIRE(r);
    CHECK(r->status == http::status::upgrade_required);
    auto post = upgrade("/mqtt");
    post.method(http::verb::post);
    r = check_ws_upgrade(post, "/mqtt");
    REQUIRE(r);
    CHECK(r->status == http::status::upgrade_required);

    for (const char* offered : {"", "mqttv3.1", "chat, superchat"}) {
        r = check_ws_upgrade(upgrade("/mqtt", offered), "/mqtt");
        REQUIRE(r);
        CHECK(r->status == http::status::bad_request);
        CHECK_THAT(r->reason, Catch::Contains("subprotocol \"mqtt\""));
    }
}

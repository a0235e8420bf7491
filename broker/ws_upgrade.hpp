#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/status.hpp>

// Whether an HTTP request may become an MQTT-over-WebSocket connection (docs/mqtt.md,
// "WebSocket"): it must ask for the listener's path, be a WebSocket upgrade, and offer the
// subprotocol `mqtt` (MQTT-6.0.0-3; the server answers with `mqtt`, MQTT-6.0.0-4). No I/O:
// ws_connection reads the request and writes the answer; the rules are unit tested here.
namespace sluice::broker {

// The upgrade request as ws_connection reads it (a body is refused by the parser).
using ws_upgrade_request = boost::beast::http::request<boost::beast::http::empty_body>;

// The WebSocket subprotocol of MQTT, offered by the client and echoed by the server.
inline constexpr std::string_view ws_mqtt_subprotocol = "mqtt";

// Why an upgrade is refused: the HTTP status and a one-line text for the response body (and
// the log line).
struct ws_refusal {
    boost::beast::http::status status;
    std::string reason;
};

// nullopt: accept the upgrade. Otherwise, in this order: a target whose path is not `path`
// gets 404; a request that is not a WebSocket upgrade 426 (Upgrade Required); an upgrade that
// does not offer `mqtt` 400. Beast's accept checks the rest (key, version) and answers itself.
std::optional<ws_refusal> check_ws_upgrade(const ws_upgrade_request& req, std::string_view path);

// The path of a request target: up to any '?' (a query string does not change the endpoint).
std::string_view ws_target_path(std::string_view target);

// True when `list`, the value of one Sec-WebSocket-Protocol field (comma-separated tokens with
// optional spaces, RFC 6455 4.1), holds `name` exactly (tokens are case-sensitive).
bool ws_offers_subprotocol(std::string_view list, std::string_view name);

}  // namespace sluice::broker

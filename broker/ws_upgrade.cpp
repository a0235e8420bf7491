#include "broker/ws_upgrade.hpp"

#include <boost/beast/websocket/rfc6455.hpp>

namespace sluice::broker {

namespace http = boost::beast::http;

std::string_view ws_target_path(std::string_view target) {
    return target.substr(0, target.find('?'));
}

bool ws_offers_subprotocol(std::string_view list, std::string_view name) {
    while (!list.empty()) {
        auto comma = list.find(',');
        std::string_view token = list.substr(0, comma);
        list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
        while (!token.empty() && (token.front() == ' ' || token.front() == '\t'))
            token.remove_prefix(1);
        while (!token.empty() && (token.back() == ' ' || token.back() == '\t'))
            token.remove_suffix(1);
        if (token == name) return true;
    }
    return false;
}

std::optional<ws_refusal> check_ws_upgrade(const ws_upgrade_request& req, std::string_view path) {
    if (ws_target_path(req.target()) != path)
        return ws_refusal{http::status::not_found,
                          "no MQTT WebSocket endpoint at this path (it is " + std::string(path) +
                              ")"};
    if (!boost::beast::websocket::is_upgrade(req))
        return ws_refusal{http::status::upgrade_required,
                          "this is an MQTT WebSocket endpoint: send a WebSocket upgrade (GET "
                          "with Upgrade: websocket)"};
    // The field may appear more than once; together they are one list.
    auto fields = req.equal_range(http::field::sec_websocket_protocol);
    for (auto it = fields.first; it != fields.second; ++it)
        if (ws_offers_subprotocol(it->value(), ws_mqtt_subprotocol)) return std::nullopt;
    return ws_refusal{http::status::bad_request,
                      "MQTT over WebSocket needs the subprotocol \"mqtt\" "
                      "(Sec-WebSocket-Protocol: mqtt)"};
}

}  // namespace sluice::broker

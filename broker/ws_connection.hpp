#pragma once

#include <memory>
#include <string>
#include <type_traits>

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/beast/websocket/stream.hpp>

#include "broker/mqtt_protocol.hpp"
#include "broker/tcp_listener.hpp"
#include "broker/tls_connection.hpp"
#include "broker/ws_upgrade.hpp"

// The WebSocket transport drivers (docs/mqtt.md, "WebSocket"): an mqtt_protocol over a Beast
// WebSocket stream, on a TCP socket (`ws`) or on a TLS stream (`wss`); one template serves
// both, the TLS handshake being the only step the plain one lacks.
//
// The connection reads the HTTP upgrade request itself (at most ws_max_upgrade_request bytes)
// and checks it (ws_upgrade.hpp) before Beast answers it with 101 and the subprotocol `mqtt`;
// a refused one gets an HTTP error and is closed. The TLS handshake, the upgrade and the
// CONNECT all fall under the connect timeout (counted from accept by the housekeeping tick).
// After the upgrade, payload bytes go to the protocol as they come, whatever the frame
// boundaries (a packet may span frames, a frame may hold several packets, MQTT-6.0.0-2); a
// text message closes the connection (MQTT-6.0.0-1, close code 1003). Each write of the
// protocol's output is one binary frame. Beast answers pings and enforces the message limit
// (twice mqtt.max_packet_size: close code 1009). A close sends a close frame and waits a
// bounded time for the peer's.
//
// Unlike tcp_connection it keeps a read buffer (a pending WebSocket read needs one) and
// Beast's stream state, so an idle WebSocket connection costs more memory (broker/README.md).
//
// Threads: created on, and only ever touched by, the io thread its socket belongs to.
namespace sluice::broker {

// The largest upgrade request (request line and headers) read; larger ones get 431.
inline constexpr std::size_t ws_max_upgrade_request = 8 * 1024;

template <class NextLayer>
class ws_connection final : public mqtt_protocol {
  public:
    static constexpr bool secure = !std::is_same_v<NextLayer, tcp_socket>;

    // ws: (listener, socket); wss: (listener, socket, the listener's current TLS context).
    // (A constructor template, so the explicit instantiations below make only the one that fits.)
    template <class... Ctx>
        requires(sizeof...(Ctx) == (secure ? 1 : 0))
    ws_connection(listener_state& listener, tcp_socket socket, const Ctx&... ctx)
        : mqtt_protocol(listener),
          ctx_(ctx...),
          ws_(std::move(socket), *ctx...),
          upgrade_(std::make_unique<upgrade_state>(listener.settings)) {}
    ~ws_connection();

    void start();  // (TLS handshake,) upgrade, then reading

  private:
    void on_tls_handshake(const boost::system::error_code& ec);
    void read_request();
    void on_request(const boost::system::error_code& ec);
    void refuse(const ws_refusal& r);
    void on_accept(const boost::system::error_code& ec);
    void do_read();
    void on_read(const boost::system::error_code& ec, std::size_t n);
    void do_write();
    void on_write(const boost::system::error_code& ec, std::size_t bytes);
    void fail(const boost::system::error_code& ec, const char* what);
    void close_socket();
    boost::asio::steady_timer& timer();
    std::shared_ptr<ws_connection> self();

    // mqtt_protocol's transport hooks
    void transport_write() override { do_write(); }
    void transport_close(bool graceful) override;
    void transport_pause(std::chrono::microseconds delay) override;
    void transport_read() override;
    void transport_post(void (*fn)(mqtt_protocol&, std::uintptr_t), std::uintptr_t arg) override;
    std::string transport_peer() const override;
    const std::string& transport_identity() const override;

    struct none {};
    // The request being read and the refusal being written; gone once the upgrade is done.
    struct upgrade_state {
        explicit upgrade_state(const listener_settings& s) : settings(s) {}
        const listener_settings& settings;  // the path to serve
        boost::beast::flat_buffer buffer{ws_max_upgrade_request};
        boost::beast::http::request_parser<boost::beast::http::empty_body> parser;
        boost::beast::http::response<boost::beast::http::string_body> refusal;
    };

    // wss: declared before the stream, so the context it was made from lives as long.
    [[no_unique_address]] std::conditional_t<secure, std::shared_ptr<ssl_context>, none> ctx_;
    // Without permessage-deflate (none of its state per connection; MQTT payloads are often
    // compressed or tiny already).
    boost::beast::websocket::stream<NextLayer, false> ws_;
    std::unique_ptr<upgrade_state> upgrade_;  // made with the connection
    std::unique_ptr<std::uint8_t[]> rbuf_;  // made after the upgrade
    // One timer for backpressure pauses and the bounded close (made on first use).
    std::unique_ptr<boost::asio::steady_timer> timer_;
    // wss: the verified client certificate's name (tls_peer_identity).
    [[no_unique_address]] std::conditional_t<secure, std::string, none> identity_;
    // The close frame's code (transport_close), 1003 after a text frame.
    boost::beast::websocket::close_code close_code_ = boost::beast::websocket::close_code::normal;
    bool upgraded_ = false;
    bool socket_closed_ = false;
};

using ws_tcp_connection = ws_connection<tcp_socket>;  // listener type "ws"
using wss_connection = ws_connection<tls_stream>;     // listener type "wss"

extern template class ws_connection<tcp_socket>;
extern template class ws_connection<tls_stream>;

}  // namespace sluice::broker

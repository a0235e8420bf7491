#include "broker/ws_connection.hpp"

#include <algorithm>
#include <limits>

#include <boost/asio/post.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include "broker/log.hpp"
#include "broker/transport_helpers.hpp"

namespace sluice::broker {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;

namespace {
// Payload bytes per read. Beast reads a frame's header (and small frames) into its own 1.5 KiB
// buffer and larger payloads straight into ours.
constexpr std::size_t read_size = 4 * 1024;
// How long a close waits for the peer's close frame (and, wss, its close_notify).
constexpr auto close_limit = std::chrono::seconds(1);
}  // namespace

template <class NextLayer>
ws_connection<NextLayer>::~ws_connection() = default;

template <class NextLayer>
std::shared_ptr<ws_connection<NextLayer>> ws_connection<NextLayer>::self() {
    return std::static_pointer_cast<ws_connection>(shared_from_this());
}

template <class NextLayer>
asio::steady_timer& ws_connection<NextLayer>::timer() {
    if (!timer_) timer_ = std::make_unique<asio::steady_timer>(ws_.get_executor());
    return *timer_;
}

template <class NextLayer>
void ws_connection<NextLayer>::start() {
    // Linked first, so the connect timeout of the housekeeping tick covers the handshakes.
    opened();
    if constexpr (secure) {
        ws_.next_layer().async_handshake(
            asio::ssl::stream_base::server,
            [self = self()](const boost::system::error_code& ec) { self->on_tls_handshake(ec); });
    } else {
        read_request();
    }
}

template <class NextLayer>
void ws_connection<NextLayer>::on_tls_handshake(const boost::system::error_code& ec) {
    if constexpr (secure) {
        if (current_state() == state::closed) return;  // the connect timeout closed it
        if (ec) {
            std::string reason = tls_handshake_failure(ws_.next_layer().native_handle(), ec);
            log_info(transport_peer(), ": TLS handshake failed: ", reason);
            return on_transport_error("handshake", reason, true);
        }
        identity_ = tls_peer_identity(ws_.next_layer().native_handle());
        if (!identity_.empty())
            log_debug(transport_peer(), ": TLS client certificate for ", identity_);
        read_request();
    }
}

template <class NextLayer>
void ws_connection<NextLayer>::read_request() {
    auto& u = *upgrade_;
    u.parser.header_limit(ws_max_upgrade_request);
    u.parser.body_limit(0);
    http::async_read(ws_.next_layer(), u.buffer, u.parser,
                     [self = self()](const boost::system::error_code& ec, std::size_t) {
                         self->on_request(ec);
                     });
}

template <class NextLayer>
void ws_connection<NextLayer>::on_request(const boost::system::error_code& ec) {
    if (current_state() == state::closed) return;
    if (ec == http::error::end_of_stream || ec == asio::error::eof)
        return on_transport_error("upgrade", ec.message(), true);
    if (ec == http::error::header_limit || ec == http::error::buffer_overflow)
        return refuse({http::status::request_header_fields_too_large,
                       "the upgrade request is larger than " +
                           std::to_string(ws_max_upgrade_request) + " bytes"});
    if (ec) return refuse({http::status::bad_request, "bad HTTP request: " + ec.message()});
    auto& req = upgrade_->parser.get();
    if (auto refusal = check_ws_upgrade(req, upgrade_->settings.path)) return refuse(*refusal);

    // A message may hold a full-size packet and a few more (a frame may hold several packets);
    // Beast refuses a larger one with close code 1009.
    const std::uint64_t max_message = std::min<std::uint64_t>(
        2ull * core().settings().max_packet_size, std::numeric_limits<std::size_t>::max());
    ws_.read_message_max(static_cast<std::size_t>(max_message));
    ws_.auto_fragment(false);  // one write, one frame
    // Our own housekeeping times the handshake and keep alive; Beast keeps no timer running.
    ws_.set_option(websocket::stream_base::timeout{websocket::stream_base::none(),
                                                   websocket::stream_base::none(), false});
    ws_.set_option(websocket::stream_base::decorator([](websocket::response_type& res) {
        res.set(http::field::sec_websocket_protocol, ws_mqtt_subprotocol);
        res.set(http::field::server, "sluice");
    }));
    ws_.async_accept(req,
                     [self = self()](const boost::system::error_code& e) { self->on_accept(e); });
}

template <class NextLayer>
void ws_connection<NextLayer>::refuse(const ws_refusal& r) {
    log_info(transport_peer(), ": WebSocket upgrade refused (", static_cast<unsigned>(r.status),
             "): ", r.reason);
    auto& res = upgrade_->refusal;
    res.version(11);
    res.result(r.status);
    res.set(http::field::server, "sluice");
    res.set(http::field::content_type, "text/plain");
    if (r.status == http::status::upgrade_required) res.set(http::field::upgrade, "websocket");
    res.keep_alive(false);
    res.body() = r.reason + "\n";
    res.prepare_payload();
    http::async_write(ws_.next_layer(), res,
                      [self = self()](const boost::system::error_code& ec, std::size_t) {
                          self->on_transport_error("upgrade", "refused", !ec);
                      });
}

template <class NextLayer>
void ws_connection<NextLayer>::on_accept(const boost::system::error_code& ec) {
    if (current_state() == state::closed) return;
    if (ec) {
        // Beast has answered the request itself (a bad key or version).
        log_info(transport_peer(), ": WebSocket upgrade failed: ", ec.message());
        return on_transport_error("upgrade", ec.message(), true);
    }
    upgrade_.reset();
    upgraded_ = true;
    ws_.binary(true);
    do_read();
}

template <class NextLayer>
void ws_connection<NextLayer>::do_read() {
    if (transport_reading_ || !upgraded_ || socket_closed_ || !may_read()) return;
    transport_reading_ = true;
    if (!rbuf_) rbuf_ = std::make_unique<std::uint8_t[]>(read_size);
    ws_.async_read_some(asio::buffer(rbuf_.get(), read_size),
                        [self = self()](const boost::system::error_code& ec, std::size_t n) {
                            self->transport_reading_ = false;
                            self->on_read(ec, n);
                        });
}

template <class NextLayer>
void ws_connection<NextLayer>::on_read(const boost::system::error_code& ec, std::size_t n) {
    if (ec) return fail(ec, "read");
    if (ws_.got_text()) {
        // MQTT-6.0.0-1: control packets travel in binary frames only; none of it is fed.
        close_code_ = websocket::close_code::unknown_data;
        return on_transport_error("read", "a text frame (MQTT needs binary frames)", false);
    }
    // Fed in order after anything a pause left in the decoder; frame boundaries do not matter.
    if (!on_bytes(std::span<const std::uint8_t>(rbuf_.get(), n))) return;
    do_read();
}

template <class NextLayer>
void ws_connection<NextLayer>::do_write() {
    if (!upgraded_ || socket_closed_) return;
    auto* buf = begin_write();
    if (!buf) return;
    ws_.async_write(asio::buffer(*buf),
                    [self = self()](const boost::system::error_code& ec, std::size_t n) {
                        self->on_write(ec, n);
                    });
}

template <class NextLayer>
void ws_connection<NextLayer>::on_write(const boost::system::error_code& ec, std::size_t bytes) {
    if (ec) {
        end_write(0);
        return fail(ec, "write");
    }
    end_write(bytes);
    if (current_state() == state::closed) return;
    do_write();
    transport_read();
}

template <class NextLayer>
void ws_connection<NextLayer>::fail(const boost::system::error_code& ec, const char* what) {
    on_transport_error(what, ec.message(),
                       expected_stream_error(ec) || ec == websocket::error::closed);
}

template <class NextLayer>
void ws_connection<NextLayer>::close_socket() {
    if (socket_closed_) return;
    socket_closed_ = true;
    boost::system::error_code ignored;
    auto& socket = beast::get_lowest_layer(ws_);
    // After an HTTP refusal: what was written goes before the FIN.
    socket.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
    socket.close(ignored);
    if (timer_) timer_->cancel();
}

template <class NextLayer>
void ws_connection<NextLayer>::transport_close(bool graceful) {
    if (socket_closed_) return;
    if (!upgraded_ || !ws_.is_open()) return close_socket();
    // A close frame, then a bounded wait for the peer's: Beast sends it once any write in
    // progress is done, and a pending read ends when it arrives. Its code: 1003 for a text
    // frame; 1008 (policy) for a connection closed before it had a session (the connect
    // timeout, a bad CONNECT) with nothing said; else 1000, any MQTT reason having gone in a
    // CONNACK or DISCONNECT.
    if (close_code_ == websocket::close_code::normal && !graceful && client_id().empty())
        close_code_ = websocket::close_code::policy_error;
    timer().expires_after(close_limit);
    timer().async_wait([self = self()](const boost::system::error_code& ec) {
        if (!ec) self->close_socket();
    });
    ws_.async_close(close_code_,
                    [self = self()](const boost::system::error_code&) { self->close_socket(); });
}

template <class NextLayer>
void ws_connection<NextLayer>::transport_pause(std::chrono::microseconds delay) {
    timer().expires_after(delay);
    timer().async_wait([self = self()](const boost::system::error_code& ec) {
        if (!ec) self->on_pause_over();
    });
}

template <class NextLayer>
void ws_connection<NextLayer>::transport_read() {
    if (!transport_reading_ && upgraded_ && may_read() && resume()) do_read();
}

template <class NextLayer>
void ws_connection<NextLayer>::transport_post(void (*fn)(mqtt_protocol&, std::uintptr_t),
                                              std::uintptr_t arg) {
    post_to_connection(ws_.get_executor(), weak_from_this(), fn, arg);
}

template <class NextLayer>
std::string ws_connection<NextLayer>::transport_peer() const {
    return peer_address(beast::get_lowest_layer(ws_));
}

template <class NextLayer>
const std::string& ws_connection<NextLayer>::transport_identity() const {
    if constexpr (secure)
        return identity_;
    else
        return mqtt_protocol::transport_identity();
}

template class ws_connection<tcp_socket>;
template class ws_connection<tls_stream>;

}  // namespace sluice::broker

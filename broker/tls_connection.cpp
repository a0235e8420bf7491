#include "broker/tls_connection.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include "broker/log.hpp"
#include "broker/transport_helpers.hpp"

namespace sluice::broker {

namespace asio = boost::asio;

namespace {
// Decrypted bytes per read: a TLS record holds at most 16 KiB; smaller reads just take a
// record in pieces from OpenSSL's buffer.
constexpr std::size_t read_size = 4 * 1024;
// How long a graceful close waits for the peer's close_notify before closing the socket.
constexpr auto shutdown_limit = std::chrono::seconds(1);
}  // namespace

tls_connection::tls_connection(listener_state& listener, tcp_socket socket,
                               std::shared_ptr<ssl_context> ctx)
    : mqtt_protocol(listener), ctx_(std::move(ctx)), stream_(std::move(socket), *ctx_) {}

tls_connection::~tls_connection() = default;

std::shared_ptr<tls_connection> tls_connection::self() {
    return std::static_pointer_cast<tls_connection>(shared_from_this());
}

asio::steady_timer& tls_connection::timer() {
    if (!timer_) timer_ = std::make_unique<asio::steady_timer>(stream_.get_executor());
    return *timer_;
}

void tls_connection::start() {
    // Linked first, so the connect timeout of the housekeeping tick covers the handshake.
    opened();
    stream_.async_handshake(
        asio::ssl::stream_base::server,
        [self = self()](const boost::system::error_code& ec) { self->on_handshake(ec); });
}

void tls_connection::on_handshake(const boost::system::error_code& ec) {
    if (current_state() == state::closed) return;  // the connect timeout closed it
    if (ec) {
        // Once, with OpenSSL's reason (and the certificate check's, when that failed).
        std::string reason = tls_handshake_failure(stream_.native_handle(), ec);
        log_info(transport_peer(), ": TLS handshake failed: ", reason);
        on_transport_error("handshake", reason, true);
        return;
    }
    handshaken_ = true;
    identity_ = tls_peer_identity(stream_.native_handle());
    if (!identity_.empty()) log_debug(transport_peer(), ": TLS client certificate for ", identity_);
    do_read();
}

void tls_connection::do_read() {
    if (transport_reading_ || !handshaken_ || !may_read()) return;
    transport_reading_ = true;
    if (!rbuf_) rbuf_ = std::make_unique<std::uint8_t[]>(read_size);
    stream_.async_read_some(asio::buffer(rbuf_.get(), read_size),
                            [self = self()](const boost::system::error_code& ec, std::size_t n) {
                                self->transport_reading_ = false;
                                self->on_read(ec, n);
                            });
}

void tls_connection::on_read(const boost::system::error_code& ec, std::size_t n) {
    if (ec) return fail(ec, "read");
    // Fed in order after anything a pause left in the decoder.
    if (!on_bytes(std::span<const std::uint8_t>(rbuf_.get(), n))) return;
    do_read();
}

void tls_connection::do_write() {
    if (socket_closed_) return;
    auto* buf = begin_write();
    if (!buf) return;
    asio::async_write(stream_, asio::buffer(*buf),
                      [self = self()](const boost::system::error_code& ec, std::size_t n) {
                          self->on_write(ec, n);
                      });
}

void tls_connection::on_write(const boost::system::error_code& ec, std::size_t bytes) {
    if (ec) {
        end_write(0);
        return fail(ec, "write");
    }
    end_write(bytes);
    if (current_state() == state::closed) return;
    do_write();
    transport_read();
}

void tls_connection::fail(const boost::system::error_code& ec, const char* what) {
    on_transport_error(what, ec.message(), expected_stream_error(ec));
}

void tls_connection::close_socket() {
    if (socket_closed_) return;
    socket_closed_ = true;
    boost::system::error_code ignored;
    stream_.lowest_layer().close(ignored);
    if (timer_) timer_->cancel();
}

void tls_connection::transport_close(bool graceful) {
    if (!graceful || !handshaken_ || socket_closed_) return close_socket();
    // Send close_notify and give the peer a bounded time to answer; the pending read is
    // cancelled first (the shutdown reads too), and the shutdown starts after its handler ran.
    boost::system::error_code ignored;
    stream_.lowest_layer().cancel(ignored);
    timer().expires_after(shutdown_limit);
    timer().async_wait([self = self()](const boost::system::error_code& ec) {
        if (!ec) self->close_socket();
    });
    asio::post(stream_.get_executor(), [self = self()] {
        if (self->socket_closed_) return;
        self->stream_.async_shutdown(
            [self](const boost::system::error_code&) { self->close_socket(); });
    });
}

void tls_connection::transport_pause(std::chrono::microseconds delay) {
    timer().expires_after(delay);
    timer().async_wait([self = self()](const boost::system::error_code& ec) {
        if (!ec) self->on_pause_over();
    });
}

void tls_connection::transport_read() {
    if (!transport_reading_ && handshaken_ && may_read() && resume()) do_read();
}

void tls_connection::transport_post(void (*fn)(mqtt_protocol&, std::uintptr_t),
                                    std::uintptr_t arg) {
    post_to_connection(stream_.get_executor(), weak_from_this(), fn, arg);
}

std::string tls_connection::transport_peer() const { return peer_address(stream_.next_layer()); }

}  // namespace sluice::broker

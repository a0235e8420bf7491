#pragma once

#include <memory>
#include <string>

#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>

#include "broker/mqtt_protocol.hpp"
#include "broker/tcp_listener.hpp"
#include "broker/tls_context.hpp"

// The TLS transport driver: an mqtt_protocol over an OpenSSL stream (Asio's ssl::stream) on a
// TCP socket. The handshake comes first; the protocol's connect timeout (counted from accept
// by the housekeeping tick) closes a handshake that stalls. Unlike tcp_connection it keeps a
// read buffer of its own (decrypted bytes cannot be read without one, and a pending read
// needs it) and the stream's record buffers, so an idle TLS connection costs more memory.
//
// Threads: created on, and only ever touched by, the io thread its socket belongs to.
namespace sluice::broker {

using tls_stream = boost::asio::ssl::stream<tcp_socket>;

class tls_connection final : public mqtt_protocol {
  public:
    tls_connection(listener_state& listener, tcp_socket socket, std::shared_ptr<ssl_context> ctx);
    ~tls_connection();

    void start();  // the handshake, then reading

  private:
    void on_handshake(const boost::system::error_code& ec);
    void do_read();
    void on_read(const boost::system::error_code& ec, std::size_t n);
    void do_write();
    void on_write(const boost::system::error_code& ec, std::size_t bytes);
    void fail(const boost::system::error_code& ec, const char* what);
    void close_socket();
    boost::asio::steady_timer& timer();
    std::shared_ptr<tls_connection> self();

    // mqtt_protocol's transport hooks
    void transport_write() override { do_write(); }
    void transport_close(bool graceful) override;
    void transport_pause(std::chrono::microseconds delay) override;
    void transport_read() override;
    void transport_post(void (*fn)(mqtt_protocol&, std::uintptr_t), std::uintptr_t arg) override;
    std::string transport_peer() const override;
    const std::string& transport_identity() const override { return identity_; }

    // Declared before the stream: the context the stream was made from lives as long.
    std::shared_ptr<ssl_context> ctx_;
    tls_stream stream_;
    std::unique_ptr<std::uint8_t[]> rbuf_;  // made after the handshake
    // One timer for backpressure pauses and the bounded shutdown (made on first use).
    std::unique_ptr<boost::asio::steady_timer> timer_;
    std::string identity_;  // the verified client certificate's name (tls_peer_identity)
    bool handshaken_ = false;
    bool socket_closed_ = false;
};

}  // namespace sluice::broker

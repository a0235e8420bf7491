#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <openssl/ssl.h>
#include <boost/asio/io_context.hpp>
#include <boost/system/error_code.hpp>

#include "broker/tcp_listener.hpp"

// What every transport driver of mqtt_protocol (tcp_connection, tls_connection, ws_connection)
// does the same way: name its peer, tell a routine end of the stream from a failure, post work
// to its own thread, say why a TLS handshake failed.
namespace sluice::broker {

class mqtt_protocol;

// "ADDRESS:PORT" of the socket's peer, or "unknown peer" once it is gone.
std::string peer_address(const tcp_socket& socket);

// True for the ends of a stream that are no news (the peer closed or reset it, we cancelled,
// a TLS peer left without close_notify): not worth a log line.
bool expected_stream_error(const boost::system::error_code& ec);

// Runs fn(c, arg) on the connection's thread (executor `ex`) if it is still alive now; the
// posted work keeps it alive until then.
void post_to_connection(const boost::asio::io_context::executor_type& ex,
                        const std::weak_ptr<mqtt_protocol>& c,
                        void (*fn)(mqtt_protocol&, std::uintptr_t), std::uintptr_t arg);

// Why a server-side TLS handshake on `ssl` failed: the error's text, with the certificate
// check's reason when that is what failed (for the one log line a failure gets).
std::string tls_handshake_failure(SSL* ssl, const boost::system::error_code& ec);

}  // namespace sluice::broker

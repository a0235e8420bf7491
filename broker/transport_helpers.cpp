#include "broker/transport_helpers.hpp"

#include <openssl/x509.h>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>

#include "broker/mqtt_protocol.hpp"

namespace sluice::broker {

namespace asio = boost::asio;

std::string peer_address(const tcp_socket& socket) {
    boost::system::error_code ec;
    auto ep = socket.remote_endpoint(ec);
    if (ec) return "unknown peer";
    return ep.address().to_string() + ":" + std::to_string(ep.port());
}

bool expected_stream_error(const boost::system::error_code& ec) {
    return ec == asio::error::eof || ec == asio::error::operation_aborted ||
           ec == asio::error::connection_reset || ec == asio::ssl::error::stream_truncated;
}

void post_to_connection(const asio::io_context::executor_type& ex,
                        const std::weak_ptr<mqtt_protocol>& c,
                        void (*fn)(mqtt_protocol&, std::uintptr_t), std::uintptr_t arg) {
    auto s = c.lock();
    if (!s) return;
    asio::post(ex, [s = std::move(s), fn, arg] { fn(*s, arg); });
}

std::string tls_handshake_failure(SSL* ssl, const boost::system::error_code& ec) {
    std::string reason = ec.message();
    long verify = SSL_get_verify_result(ssl);
    if (verify != X509_V_OK)
        reason += std::string(" (") + X509_verify_cert_error_string(verify) + ")";
    return reason;
}

}  // namespace sluice::broker

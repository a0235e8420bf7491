#pragma once

#include <memory>
#include <mutex>
#include <string>

#include <boost/asio/ssl/context.hpp>

#include "broker/config.hpp"

// The OpenSSL server context of one TLS listener (docs/security.md, "TLS"): built from the
// listener's settings at start, rebuilt on SIGHUP. Its connections share it; a reload swaps
// in a new one for new handshakes while live connections keep the one they started with.
namespace sluice::broker {

using ssl_context = boost::asio::ssl::context;

// Builds a server context: TLS 1.2+ (or 1.3 only), the certificate chain and key (which must
// match), the client CA and verify mode, ciphers, TLS 1.3 suites and groups. Throws
// config_error naming the listener's key ("listeners.mqtts.key: ...") with OpenSSL's reason.
std::shared_ptr<ssl_context> make_tls_context(const listener_settings& l);

// The current context of one listener. Threads: any (a mutex around a shared_ptr swap; the
// acceptor takes the current one per connection, the main thread replaces it on SIGHUP).
class tls_context_holder {
  public:
    explicit tls_context_holder(std::shared_ptr<ssl_context> ctx) : ctx_(std::move(ctx)) {}
    std::shared_ptr<ssl_context> current() const {
        std::lock_guard lock(mu_);
        return ctx_;
    }
    void replace(std::shared_ptr<ssl_context> ctx) {
        std::lock_guard lock(mu_);
        ctx_.swap(ctx);
    }  // the old context is freed outside the lock (by `ctx`), or later by its last connection

  private:
    mutable std::mutex mu_;
    std::shared_ptr<ssl_context> ctx_;
};

// The name a verified peer certificate vouches for: the subject's common name, else the first
// DNS or email subjectAltName; empty when there is no certificate or it was not verified.
std::string tls_peer_identity(SSL* ssl);

}  // namespace sluice::broker

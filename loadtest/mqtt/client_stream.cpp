#include "loadtest/mqtt/client_stream.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/role.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <stdexcept>

namespace sluice::bench {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using boost::system::error_code;
using tcp = asio::ip::tcp;

namespace {

bool is_ip_address(const std::string& host) {
    error_code ec;
    asio::ip::make_address(host, ec);
    return !ec;
}

// A full handshake per connection: each stream gets a fresh SSL object and no session is
// offered for resumption, so every connection costs the broker what a new device costs it.
std::unique_ptr<asio::ssl::context> make_tls_context(const options& o) {
    auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
    SSL_CTX* c = ctx->native_handle();
    const int min = o.tls_version == "1.3" ? TLS1_3_VERSION : TLS1_2_VERSION;
    const int max = o.tls_version == "1.2" ? TLS1_2_VERSION : TLS1_3_VERSION;
    SSL_CTX_set_min_proto_version(c, min);
    SSL_CTX_set_max_proto_version(c, max);
    SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(c, SSL_OP_NO_TICKET);
    // Keeps the generator's idle connections small, as the broker's are.
    SSL_CTX_set_mode(c, SSL_MODE_RELEASE_BUFFERS);
    error_code ec;
    if (!o.cafile.empty()) {
        ctx->load_verify_file(o.cafile, ec);
        if (ec) throw std::runtime_error("--cafile " + o.cafile + ": " + ec.message());
        ctx->set_verify_mode(asio::ssl::verify_peer, ec);
    } else {
        ctx->set_verify_mode(asio::ssl::verify_none, ec);  // benchmark only: no --cafile, no check
    }
    if (!o.certfile.empty()) {
        ctx->use_certificate_chain_file(o.certfile, ec);
        if (ec) throw std::runtime_error("--cert " + o.certfile + ": " + ec.message());
        ctx->use_private_key_file(o.keyfile, asio::ssl::context::pem, ec);
        if (ec) throw std::runtime_error("--key " + o.keyfile + ": " + ec.message());
        if (SSL_CTX_check_private_key(c) != 1)
            throw std::runtime_error("--key " + o.keyfile + " does not match --cert " + o.certfile);
    }
    if (!o.ciphers.empty() && SSL_CTX_set_cipher_list(c, o.ciphers.c_str()) != 1)
        throw std::runtime_error("--tls-ciphers: no usable cipher in \"" + o.ciphers + "\"");
    if (!o.groups.empty() && SSL_CTX_set1_groups_list(c, o.groups.c_str()) != 1)
        throw std::runtime_error("--tls-groups: unknown group in \"" + o.groups + "\"");
    ERR_clear_error();
    return ctx;
}

// The TLS handshake's client-side setup: SNI for names, and the server certificate's name
// or address checked against --host when --cafile is given.
template <class Ssl>
void prepare_tls(Ssl& s, const options& o) {
    if (!is_ip_address(o.host)) SSL_set_tlsext_host_name(s.native_handle(), o.host.c_str());
    if (!o.cafile.empty()) s.set_verify_callback(asio::ssl::host_name_verification(o.host));
}

class tcp_stream final : public client_stream {
public:
    explicit tcp_stream(asio::io_context& io) : socket_(io) {}
    tcp::socket& socket() override { return socket_; }
    void async_handshake(done_handler h) override { h(error_code{}); }
    void async_read_some(asio::mutable_buffer b, io_handler h) override {
        socket_.async_read_some(b, std::move(h));
    }
    void async_write(asio::const_buffer b, io_handler h) override {
        asio::async_write(socket_, b, std::move(h));
    }

private:
    tcp::socket socket_;
};

class tls_stream final : public client_stream {
public:
    tls_stream(asio::io_context& io, asio::ssl::context& ctx, const options& o)
        : opt_(o), stream_(io, ctx) {}
    tcp::socket& socket() override { return stream_.next_layer(); }
    void async_handshake(done_handler h) override {
        prepare_tls(stream_, opt_);
        stream_.async_handshake(asio::ssl::stream_base::client, std::move(h));
    }
    void async_read_some(asio::mutable_buffer b, io_handler h) override {
        stream_.async_read_some(b, std::move(h));
    }
    void async_write(asio::const_buffer b, io_handler h) override {
        asio::async_write(stream_, b, std::move(h));
    }

private:
    const options& opt_;
    asio::ssl::stream<tcp::socket> stream_;
};

// ws over a TCP socket, wss over a TLS stream.
template <class Next>
class ws_stream final : public client_stream {
public:
    static constexpr bool secure = !std::is_same_v<Next, tcp::socket>;

    template <class... Ctx>
    ws_stream(asio::io_context& io, const options& o, Ctx&... ctx) : opt_(o), ws_(io, ctx...) {
        ws_.binary(true);
        // One frame per write, as browser and device clients send MQTT packets; the masking
        // buffer bounds how much is masked per socket write.
        ws_.auto_fragment(false);
        ws_.write_buffer_bytes(16 * 1024);
        ws_.set_option(websocket::stream_base::decorator([](websocket::request_type& req) {
            req.set(beast::http::field::sec_websocket_protocol, "mqtt");
        }));
    }
    tcp::socket& socket() override { return beast::get_lowest_layer(ws_); }
    void async_handshake(done_handler h) override {
        if constexpr (secure) {
            prepare_tls(ws_.next_layer(), opt_);
            ws_.next_layer().async_handshake(asio::ssl::stream_base::client,
                                             [this, h = std::move(h)](const error_code& ec) mutable {
                                                 if (ec) return h(ec);
                                                 upgrade(std::move(h));
                                             });
        } else {
            upgrade(std::move(h));
        }
    }
    void async_read_some(asio::mutable_buffer b, io_handler h) override {
        ws_.async_read_some(b, std::move(h));
    }
    void async_write(asio::const_buffer b, io_handler h) override { ws_.async_write(b, std::move(h)); }

private:
    void upgrade(done_handler h) {
        ws_.async_handshake(opt_.host, opt_.ws_path, std::move(h));
    }

    const options& opt_;
    websocket::stream<Next, false> ws_;
};

}  // namespace

stream_factory::stream_factory(const options& o) : opt_(o) {
    if (o.transport == transport_kind::tls || o.transport == transport_kind::wss)
        tls_ = make_tls_context(o);
}

stream_factory::~stream_factory() = default;

std::unique_ptr<client_stream> stream_factory::make(asio::io_context& io) const {
    switch (opt_.transport) {
        case transport_kind::tls: return std::make_unique<tls_stream>(io, *tls_, opt_);
        case transport_kind::ws: return std::make_unique<ws_stream<tcp::socket>>(io, opt_);
        case transport_kind::wss:
            return std::make_unique<ws_stream<asio::ssl::stream<tcp::socket>>>(io, opt_, *tls_);
        case transport_kind::tcp: break;
    }
    return std::make_unique<tcp_stream>(io);
}

std::string check_transport(const options& o) {
    try {
        stream_factory f(o);
    } catch (const std::exception& e) {
        return e.what();
    }
    return {};
}

}  // namespace sluice::bench

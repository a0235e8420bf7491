#include "broker/tcp_listener.hpp"

#include <stdexcept>

#include <boost/asio/post.hpp>

#include "broker/log.hpp"

namespace sluice::broker {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

tcp_listener::tcp_listener(std::string name, io_pool& pool, const listen_address& address,
                           accept_handler on_accept)
    : name_(std::move(name)),
      pool_(pool),
      acceptor_(pool.context(0)),
      handler_(std::move(on_accept)) {
    boost::system::error_code ec;
    auto ip = asio::ip::make_address(address.host, ec);
    if (ec) {
        // Not a literal address: resolve it (e.g. "localhost").
        asio::io_context resolver_ctx;
        tcp::resolver resolver(resolver_ctx);
        auto results = resolver.resolve(address.host, std::to_string(address.port), ec);
        if (ec || results.empty())
            throw std::runtime_error(name_ + " listener: cannot resolve host \"" + address.host +
                                     "\"");
        ip = results.begin()->endpoint().address();
    }
    tcp::endpoint ep(ip, address.port);
    auto check = [&](const char* what) {
        if (ec)
            throw std::runtime_error(name_ + " listener on " + address.host + ":" +
                                     std::to_string(address.port) + ": " + what + ": " +
                                     ec.message());
    };
    acceptor_.open(ep.protocol(), ec);
    check("open");
    acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
    check("set reuse_address");
    acceptor_.bind(ep, ec);
    check("bind");
    acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    check("listen");
}

void tcp_listener::stop() {
    asio::post(acceptor_.get_executor(), [self = shared_from_this()] {
        boost::system::error_code ignored;
        self->acceptor_.close(ignored);
    });
}

void tcp_listener::do_accept() {
    acceptor_.async_accept(pool_.next(), [self = shared_from_this()](
                                             const boost::system::error_code& ec, tcp_socket s) {
        self->on_accept(ec, std::move(s));
    });
}

void tcp_listener::on_accept(const boost::system::error_code& ec, tcp_socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
    if (ec) {
        // EMFILE and friends: log and keep accepting rather than take the listener down.
        log_warn(name_, " listener: accept failed: ", ec.message());
    } else {
        boost::system::error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        handler_(std::move(socket));
    }
    do_accept();
}

}  // namespace sluice::broker

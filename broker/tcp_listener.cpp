#include "broker/tcp_listener.hpp"

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <boost/asio/post.hpp>

#include "broker/log.hpp"

namespace sluice::broker {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {
constexpr auto accept_retry = std::chrono::milliseconds(100);
constexpr auto log_interval = std::chrono::seconds(10);
}  // namespace

tcp_listener::tcp_listener(listener_state& state, io_pool& pool, accept_handler on_accept)
    : state_(state),
      pool_(pool),
      acceptor_(pool.context(0)),
      retry_timer_(pool.context(0)),
      handler_(std::move(on_accept)) {
    const std::string& name_ = state_.settings.name;
    const listen_address& address = state_.settings.address;
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
        self->retry_timer_.cancel();
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
    // Compared by errno value: comparing the error_code with asio's enums calls into its
    // category, which UBSan's vptr check was seen to reject when the process is out of
    // descriptors.
    if (ec && (ec.value() == EMFILE || ec.value() == ENFILE || ec.value() == ENOBUFS ||
               ec.value() == ENOMEM)) {
        return back_off(ec);
    }
    if (ec) {
        log_warn(name(), " listener: accept failed: ", ec.message());
    } else if (state_.settings.max_connections &&
               state_.open.load(std::memory_order_relaxed) >= state_.settings.max_connections) {
        boost::system::error_code ignored;
        socket.close(ignored);
        note_refused();
    } else {
        boost::system::error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        handler_(std::move(socket));
    }
    do_accept();
}

void tcp_listener::back_off(const boost::system::error_code& ec) {
    // Out of descriptors (or memory): the pending connection stays in the kernel's backlog.
    // Accepting again at once would fail again at once; wait for connections to close.
    auto now = std::chrono::steady_clock::now();
    if (now - last_log_ >= log_interval) {
        // strerror, not ec.message(): see on_accept.
        log_warn(name(), " listener: accept failed: ", std::strerror(ec.value()), "; retrying every ",
                 accept_retry.count(), " ms", unlogged_ ? " (" : "",
                 unlogged_ ? std::to_string(unlogged_) + " more failures since the last report)"
                           : std::string());
        last_log_ = now;
        unlogged_ = 0;
    } else {
        ++unlogged_;
    }
    retry_timer_.expires_after(accept_retry);
    retry_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& e) {
        if (!e && self->acceptor_.is_open()) self->do_accept();
    });
}

void tcp_listener::note_refused() {
    auto now = std::chrono::steady_clock::now();
    if (now - last_log_ >= log_interval) {
        log_warn(name(), " listener: refusing connections over max_connections (",
                 state_.settings.max_connections, ")");
        last_log_ = now;
    }
}

}  // namespace sluice::broker

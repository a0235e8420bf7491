#pragma once

#include <functional>
#include <memory>
#include <string>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "broker/config.hpp"
#include "broker/io_pool.hpp"
#include "broker/listener_state.hpp"

// Accepts TCP connections on one address and hands each socket to `on_accept`, round-robin
// across the pool's io_contexts (the socket is created on the context it will live on).
// Over the listener's max_connections a new socket is closed at once. When accept fails for
// lack of descriptors or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM) it backs off before trying
// again and logs once per interval, so thread 0 neither spins nor floods the log.
// Threads: constructed on the main thread; the accept loop runs on the acceptor's context.
namespace sluice::broker {

// A TCP socket bound to an io_context's own executor type rather than any_io_executor: half the
// size, and so are the operations pending on it (it matters for idle connections).
using tcp_socket =
    boost::asio::ip::tcp::socket::rebind_executor<boost::asio::io_context::executor_type>::other;

class tcp_listener : public std::enable_shared_from_this<tcp_listener> {
  public:
    using accept_handler = std::function<void(tcp_socket)>;

    // Binds and listens; throws std::runtime_error naming the address on failure.
    tcp_listener(listener_state& state, io_pool& pool, accept_handler on_accept);

    void start() { do_accept(); }
    void stop();  // posts the close to the acceptor's thread

    const std::string& name() const { return state_.settings.name; }
    boost::asio::ip::tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }

  private:
    void do_accept();
    void on_accept(const boost::system::error_code& ec, tcp_socket socket);

    void back_off(const boost::system::error_code& ec);
    void note_refused();

    listener_state& state_;
    io_pool& pool_;
    boost::asio::ip::tcp::acceptor acceptor_;
    boost::asio::steady_timer retry_timer_;
    accept_handler handler_;
    // Rate-limited logging of accept failures and refusals (acceptor thread only).
    std::chrono::steady_clock::time_point last_log_{};
    std::uint64_t unlogged_ = 0;
};

}  // namespace sluice::broker

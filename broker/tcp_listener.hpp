#pragma once

#include <functional>
#include <memory>
#include <string>

#include <boost/asio/ip/tcp.hpp>

#include "broker/config.hpp"
#include "broker/io_pool.hpp"

// Accepts TCP connections on one address and hands each socket to `on_accept`, round-robin
// across the pool's io_contexts (the socket is created on the context it will live on).
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
    tcp_listener(std::string name, io_pool& pool, const listen_address& address,
                 accept_handler on_accept);

    void start() { do_accept(); }
    void stop();  // posts the close to the acceptor's thread

    const std::string& name() const { return name_; }
    boost::asio::ip::tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }

  private:
    void do_accept();
    void on_accept(const boost::system::error_code& ec, tcp_socket socket);

    std::string name_;
    io_pool& pool_;
    boost::asio::ip::tcp::acceptor acceptor_;
    accept_handler handler_;
};

}  // namespace sluice::broker

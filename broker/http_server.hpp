#pragma once

#include <memory>
#include <string>

#include <boost/asio/ip/tcp.hpp>

#include "broker/config.hpp"

// The `http` listener (docs/operations.md): Boost.Beast HTTP/1.1 with keep-alive, a request
// size limit, an idle timeout and JSON errors for requests it cannot parse; each request goes
// to http_api. It runs on its own thread and io_context, so a slow scrape or a page of the
// admin API never delays MQTT connections, and it can answer /health while the log recovers.
// Threads: constructed, started and stopped by the main thread; everything else on its thread.
namespace sluice::broker {

class http_api;

class http_server {
  public:
    // Binds (throws std::runtime_error naming the listener on failure).
    http_server(const listener_settings& settings, http_api& api);
    ~http_server();
    http_server(const http_server&) = delete;
    http_server& operator=(const http_server&) = delete;

    const std::string& name() const;
    boost::asio::ip::tcp::endpoint local_endpoint() const;
    void start();  // accepts on its own thread
    void stop();   // closes the acceptor and every connection, joins the thread

  private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace sluice::broker

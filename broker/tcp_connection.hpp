#pragma once

#include <memory>
#include <optional>

#include <boost/asio/steady_timer.hpp>

#include "broker/mqtt_protocol.hpp"
#include "broker/tcp_listener.hpp"

// The plain TCP transport driver: an mqtt_protocol over a TCP socket. It keeps the idle-memory
// shape of the broker (broker/README.md): no read buffer of its own (it waits for readability,
// then reads into its thread's scratch buffer) and no timer object until a backpressure pause
// needs one.
//
// Threads: created on, and only ever touched by, the io thread its socket belongs to.
namespace sluice::broker {

class tcp_connection final : public mqtt_protocol {
  public:
    tcp_connection(listener_state& listener, tcp_socket socket);
    ~tcp_connection();

    void start();

  private:
    void do_read();
    void on_readable(const boost::system::error_code& ec);
    void do_write();
    void on_write(const boost::system::error_code& ec, std::size_t bytes);
    void fail(const boost::system::error_code& ec, const char* what);
    std::shared_ptr<tcp_connection> self();

    // mqtt_protocol's transport hooks
    void transport_write() override { do_write(); }
    void transport_close(bool graceful) override;
    void transport_pause(std::chrono::microseconds delay) override;
    void transport_read() override;
    void transport_post(void (*fn)(mqtt_protocol&, std::uintptr_t), std::uintptr_t arg) override;
    std::string transport_peer() const override;

    tcp_socket socket_;
    std::unique_ptr<boost::asio::steady_timer> pause_timer_;  // made on the first pause
};

}  // namespace sluice::broker

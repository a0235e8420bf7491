#pragma once

#include <cstddef>
#include <memory>

#include "broker/mqtt_protocol.hpp"
#include "broker/tcp_listener.hpp"

// The plain TCP transport driver: an mqtt_protocol over a TCP socket. It keeps the idle-memory
// shape of the broker (broker/README.md, "Per connection memory and performance"): no read
// buffer of its own (it waits for readability, then reads into its thread's scratch buffer),
// no timer object until a backpressure pause needs one, and the memory of its pending
// readability wait inside the object (no heap block of its own).
//
// Threads: created on, and only ever touched by, the io thread its socket belongs to.
namespace sluice::broker {

class tcp_connection final : public mqtt_protocol {
  public:
    tcp_connection(listener_state& listener, tcp_socket socket);
    ~tcp_connection();

    void start();

  private:
    // The readability wait's completion handler, and the allocator Asio uses for its
    // operation: `wait_memory_` when free (it always is: one wait at a time), else the heap.
    struct wait_handler;
    template <typename T>
    struct wait_allocator;

    void do_read();
    void on_readable(const boost::system::error_code& ec);
    void do_write();
    void on_write(const boost::system::error_code& ec, std::size_t bytes);
    void fail(const boost::system::error_code& ec, const char* what);
    std::shared_ptr<tcp_connection> self();
    void* allocate_wait(std::size_t size);
    void deallocate_wait(void* p) noexcept;

    // mqtt_protocol's transport hooks
    void transport_write() override { do_write(); }
    void transport_close(bool graceful) override;
    void transport_pause(std::chrono::microseconds delay) override;
    void transport_read() override;
    void transport_post(void (*fn)(mqtt_protocol&, std::uintptr_t), std::uintptr_t arg) override;
    std::string transport_peer() const override;

    bool wait_memory_used_ = false;  // first: it fits in the base class's tail padding
    tcp_socket socket_;
    // Asio's wait operation with our handler (a shared_ptr) is 96 bytes with Boost 1.81's
    // epoll reactor (checked in tcp_connection.cpp). Allocated from Asio's recycling cache it
    // would be a 128-byte heap block per idle connection.
    static constexpr std::size_t wait_memory_size = 96;
    alignas(alignof(void*)) unsigned char wait_memory_[wait_memory_size];
};

}  // namespace sluice::broker

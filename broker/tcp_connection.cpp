#include "broker/tcp_connection.hpp"

#include <array>

#include <boost/asio/write.hpp>

#include "broker/transport_helpers.hpp"

namespace sluice::broker {

namespace asio = boost::asio;

namespace {
constexpr std::size_t read_chunk = 64 * 1024;
}  // namespace

template <typename T>
struct tcp_connection::wait_allocator {
    using value_type = T;
    tcp_connection* c;
    explicit wait_allocator(tcp_connection* conn) noexcept : c(conn) {}
    template <typename U>
    wait_allocator(const wait_allocator<U>& other) noexcept : c(other.c) {}
    T* allocate(std::size_t n) { return static_cast<T*>(c->allocate_wait(n * sizeof(T))); }
    void deallocate(T* p, std::size_t) noexcept { c->deallocate_wait(p); }
    template <typename U>
    bool operator==(const wait_allocator<U>& other) const noexcept {
        return c == other.c;
    }
};

// Holds the connection alive while the wait is pending, as any of its handlers does. Asio
// frees the operation (from the allocator of a copy of this handler, so the connection is still
// alive) before calling it.
struct tcp_connection::wait_handler {
    std::shared_ptr<tcp_connection> self;

    using allocator_type = wait_allocator<void>;
    allocator_type get_allocator() const noexcept { return allocator_type(self.get()); }

    void operator()(const boost::system::error_code& ec) {
        self->transport_reading_ = false;
        self->on_readable(ec);
    }
};

void* tcp_connection::allocate_wait(std::size_t size) {
#if defined(__linux__) && !defined(BOOST_ASIO_HAS_IO_URING_AS_DEFAULT)
    // The in-object memory must fit the reactor's wait operation, or every wait falls back to
    // the heap and idle connections grow by a heap block (a Boost upgrade may change the size).
    using wait_op = asio::detail::reactive_wait_op<wait_handler, tcp_socket::executor_type>;
    static_assert(sizeof(wait_op) <= wait_memory_size && alignof(wait_op) <= alignof(void*),
                  "resize tcp_connection::wait_memory_ for this Asio");
#endif
    if (!wait_memory_used_ && size <= sizeof(wait_memory_)) {
        wait_memory_used_ = true;
        return wait_memory_;
    }
    return ::operator new(size);
}

void tcp_connection::deallocate_wait(void* p) noexcept {
    if (p == wait_memory_)
        wait_memory_used_ = false;
    else
        ::operator delete(p);
}

tcp_connection::tcp_connection(listener_state& listener, tcp_socket socket)
    : mqtt_protocol(listener), socket_(std::move(socket)) {}

tcp_connection::~tcp_connection() = default;

std::shared_ptr<tcp_connection> tcp_connection::self() {
    return std::static_pointer_cast<tcp_connection>(shared_from_this());
}

void tcp_connection::start() {
    boost::system::error_code ec;
    socket_.non_blocking(true, ec);
    if (ec) return fail(ec, "non_blocking");
    opened();
    do_read();
}

void tcp_connection::do_read() {
    if (transport_reading_ || !may_read()) return;
    transport_reading_ = true;
    // Wait for readability without a buffer, then read into this thread's scratch buffer: an
    // idle connection holds no read buffer at all.
    socket_.async_wait(asio::ip::tcp::socket::wait_read, wait_handler{self()});
}

void tcp_connection::on_readable(const boost::system::error_code& wait_ec) {
    if (wait_ec) return fail(wait_ec, "wait");
    // Packets a pause left in the decoder come first.
    if (!resume()) return;
    thread_local std::array<std::uint8_t, read_chunk> scratch;
    for (int round = 0; round < 4; ++round) {
        boost::system::error_code ec;
        std::size_t n = socket_.read_some(asio::buffer(scratch), ec);
        if (ec == asio::error::would_block || ec == asio::error::try_again) break;
        if (ec) return fail(ec, "read");
        if (!on_bytes(std::span<const std::uint8_t>(scratch.data(), n))) return;
        if (n < scratch.size()) break;
    }
    do_read();
}

void tcp_connection::do_write() {
    auto* buf = begin_write();
    if (!buf) return;
    asio::async_write(socket_, asio::buffer(*buf),
                      [self = self()](const boost::system::error_code& ec, std::size_t n) {
                          self->on_write(ec, n);
                      });
}

void tcp_connection::on_write(const boost::system::error_code& ec, std::size_t bytes) {
    if (ec) {
        end_write(0);
        return fail(ec, "write");
    }
    end_write(bytes);
    if (current_state() == state::closed) return;
    do_write();
    transport_read();
}

void tcp_connection::fail(const boost::system::error_code& ec, const char* what) {
    on_transport_error(what, ec.message(), expected_stream_error(ec));
}

void tcp_connection::transport_close(bool graceful) {
    boost::system::error_code ignored;
    if (graceful) socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
    socket_.close(ignored);
    if (auto* t = transport_pause_timer_if_made()) t->cancel();
}

void tcp_connection::transport_pause(std::chrono::microseconds delay) {
    auto& timer = transport_pause_timer(socket_.get_executor());
    timer.expires_after(delay);
    timer.async_wait([self = self()](const boost::system::error_code& ec) {
        if (!ec) self->on_pause_over();
    });
}

void tcp_connection::transport_read() {
    if (!transport_reading_ && may_read() && resume()) do_read();
}

void tcp_connection::transport_post(void (*fn)(mqtt_protocol&, std::uintptr_t),
                                    std::uintptr_t arg) {
    post_to_connection(socket_.get_executor(), weak_from_this(), fn, arg);
}

std::string tcp_connection::transport_peer() const { return peer_address(socket_); }

}  // namespace sluice::broker

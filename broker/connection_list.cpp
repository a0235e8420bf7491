#include "broker/connection_list.hpp"

#include <memory>

#include <boost/asio/steady_timer.hpp>

#include "broker/mqtt_protocol.hpp"

namespace sluice::broker {

namespace asio = boost::asio;

namespace {

constexpr auto housekeeping_period = std::chrono::milliseconds(500);

// The connections of this io thread. Touched only by this thread.
struct thread_connections {
    mqtt_protocol* head = nullptr;
    std::unique_ptr<asio::steady_timer> tick;
};
thread_local thread_connections this_thread_connections;

void tick(const boost::system::error_code& ec) {
    if (ec) return;
    auto now = steady_clock::now();
    for (mqtt_protocol* c = this_thread_connections.head; c;) {
        mqtt_protocol* next = c->next_;
        c->check_timeouts(now);
        c = next;
    }
    auto& t = *this_thread_connections.tick;
    t.expires_after(housekeeping_period);
    t.async_wait(tick);
}

}  // namespace

void link_connection(mqtt_protocol* c) {
    auto& list = this_thread_connections;
    c->next_ = list.head;
    if (list.head) list.head->prev_ = c;
    list.head = c;
}

void unlink_connection(mqtt_protocol* c) {
    auto& list = this_thread_connections;
    if (c->prev_)
        c->prev_->next_ = c->next_;
    else if (list.head == c)
        list.head = c->next_;
    if (c->next_) c->next_->prev_ = c->prev_;
    c->prev_ = c->next_ = nullptr;
}

void start_housekeeping(broker_core& core) {
    // Called on the io thread, so the timer's context is the one running us.
    auto& list = this_thread_connections;
    list.tick = std::make_unique<asio::steady_timer>(core.pool().context(current_io_thread()));
    list.tick->expires_after(housekeeping_period);
    list.tick->async_wait(tick);
}

void shut_down_connections() {
    auto& list = this_thread_connections;
    if (list.tick) list.tick->cancel();
    for (mqtt_protocol* c = list.head; c;) {
        mqtt_protocol* next = c->next_;
        c->shut_down();
        c = next;
    }
}

}  // namespace sluice::broker

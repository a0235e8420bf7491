#include "broker/connection_list.hpp"

#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include <boost/asio/post.hpp>

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

struct wake_inbox {
    std::mutex mu;  // leaf lock: guards items and posted
    std::vector<std::shared_ptr<mqtt_protocol>> items;
    bool posted = false;
};
// Made before the io threads start and cleared after they stopped: read-only meanwhile.
std::vector<std::unique_ptr<wake_inbox>> inboxes;

void drain(wake_inbox& in) {
    thread_local std::vector<std::shared_ptr<mqtt_protocol>> batch;
    {
        std::lock_guard lock(in.mu);
        std::swap(batch, in.items);
        in.posted = false;
    }
    for (auto& c : batch) c->on_wakeup();
    batch.clear();
}

}  // namespace

void init_wake_inboxes(std::size_t io_threads) {
    inboxes.clear();
    for (std::size_t i = 0; i < io_threads; ++i) inboxes.push_back(std::make_unique<wake_inbox>());
}

void clear_wake_inboxes() {
    for (auto& in : inboxes) {
        std::lock_guard lock(in->mu);
        in->items.clear();
    }
    inboxes.clear();
}

void post_wakeup(io_pool& pool, int thread, std::shared_ptr<mqtt_protocol> c) {
    auto& in = *inboxes[static_cast<std::size_t>(thread)];
    bool post;
    {
        std::lock_guard lock(in.mu);
        in.items.push_back(std::move(c));
        post = !std::exchange(in.posted, true);
    }
    if (post) asio::post(pool.context(static_cast<std::size_t>(thread)), [&in] { drain(in); });
}

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

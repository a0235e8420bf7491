#pragma once

#include <memory>

#include "broker/broker_core.hpp"

// Each io thread's MQTT connections, whatever their transport, in an intrusive list (no timer
// object per connection): a 500 ms housekeeping tick checks their connect timeout, keep alive
// and idle buffers, and server shutdown walks it.
// Threads: every function acts on the calling io thread's own list.
namespace sluice::broker {

class mqtt_protocol;

void link_connection(mqtt_protocol* c);
void unlink_connection(mqtt_protocol* c);

// Wake-ups of connections by other threads (a session got messages) go through one inbox per
// io thread: the first wake-up of a batch posts one drain to that thread, later ones only
// append, so a burst that wakes many connections on a thread costs one post. The inbox lock is
// a leaf: taken under a session's lock and nothing is taken under it.
void init_wake_inboxes(std::size_t io_threads);
void clear_wake_inboxes();  // after the io threads stopped, before the core goes
// From any thread: runs c->on_wakeup() on io thread `thread` (of `pool`).
void post_wakeup(io_pool& pool, int thread, std::shared_ptr<mqtt_protocol> c);

// Per io thread: starts the housekeeping tick (call on that thread).
void start_housekeeping(broker_core& core);
// Per io thread: the will of each client that did not DISCONNECT, DISCONNECT 0x8B and close
// every connection (call on that thread).
void shut_down_connections();

}  // namespace sluice::broker

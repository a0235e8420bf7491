#pragma once

#include "broker/broker_core.hpp"

// Each io thread's MQTT connections, whatever their transport, in an intrusive list (no timer
// object per connection): a 500 ms housekeeping tick checks their connect timeout, keep alive
// and idle buffers, and server shutdown walks it.
// Threads: every function acts on the calling io thread's own list.
namespace sluice::broker {

class mqtt_protocol;

void link_connection(mqtt_protocol* c);
void unlink_connection(mqtt_protocol* c);

// Per io thread: starts the housekeeping tick (call on that thread).
void start_housekeeping(broker_core& core);
// Per io thread: the will of each client that did not DISCONNECT, DISCONNECT 0x8B and close
// every connection (call on that thread).
void shut_down_connections();

}  // namespace sluice::broker

#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "broker/config.hpp"

// One running listener as its connections see it: its settings from the registry, the core
// and how many connections it has open (for its max_connections).
// Threads: settings are read-only after start; `open` is counted from any io thread.
namespace sluice::broker {

class broker_core;
class tls_context_holder;
class auth_service;

struct listener_state {
    listener_state(listener_settings s, broker_core& c) : settings(std::move(s)), core(c) {}
    const listener_settings settings;
    // The core its connections serve (reached through here, so a connection holds one
    // reference for both).
    broker_core& core;
    std::atomic<std::uint32_t> open{0};
    // Connections past CONNECT, by protocol version (index: 0 = 3.1, 1 = 3.1.1, 2 = 5.0): open
    // now and accepted since start (/metrics, docs/operations.md). Touched once per connection.
    std::atomic<std::int64_t> connected[3]{};
    std::atomic<std::uint64_t> connects[3]{};
    // TLS listeners only: the context new handshakes use (replaced on SIGHUP).
    std::shared_ptr<tls_context_holder> tls;
    // Users, ACL and login limiter of the broker (shared by every listener); null when no
    // password or ACL file is configured. Outlives the listener's connections.
    auth_service* auth = nullptr;
};

// The index of a CONNECT's protocol level (3, 4, 5) in `connected` and `connects`.
inline std::size_t version_slot(std::uint8_t level) { return level <= 3 ? 0 : level == 4 ? 1 : 2; }

}  // namespace sluice::broker

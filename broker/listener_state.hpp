#pragma once

#include <atomic>
#include <cstdint>

#include "broker/config.hpp"

// One running listener as its connections see it: its settings from the registry and how many
// connections it has open (for its max_connections).
// Threads: settings are read-only after start; `open` is counted from any io thread.
namespace sluice::broker {

struct listener_state {
    explicit listener_state(listener_settings s) : settings(std::move(s)) {}
    const listener_settings settings;
    std::atomic<std::uint32_t> open{0};
};

}  // namespace sluice::broker

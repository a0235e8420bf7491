#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "mqtt/packet.hpp"
#include "mqtt/protocol_version.hpp"

namespace sluice::mqtt {

// Appends the wire form of `p` for a connection at level `version` to `out`. A CONNECT is
// written at its own `version` field (it is what chooses the level), whatever `version` says.
//
// The packet is trusted (built by our own code): the encoder does not re-validate topic names
// or property placement. It returns false, leaving `out` unchanged, only when the packet cannot
// be represented: AUTH below 5.0, a string or binary field over 65,535 bytes, or a remaining
// length over 268,435,455. Fields a level lacks are dropped (see packet.hpp).
//
// Threads: a free function without shared state; any thread.
bool encode(const packet& p, protocol_version version, std::vector<std::uint8_t>& out);

// The number of bytes encode() would append (0 when it would fail). The broker compares it with
// a client's maximum packet size.
std::size_t encoded_size(const packet& p, protocol_version version);

}  // namespace sluice::mqtt

#pragma once

// Internal to the codec: the wire form of MQTT 5.0 properties (spec 2.2.2).

#include <cstdint>
#include <vector>

#include "mqtt/packet_type.hpp"
#include "mqtt/properties.hpp"
#include "mqtt/wire.hpp"

namespace sluice::mqtt::detail {

// Where a property list sits: a packet's variable header, or a CONNECT's will properties.
struct property_context {
    packet_type type;
    bool will = false;
};

// Reads a property length and the properties it covers, checking identifiers, placement,
// duplicates and value ranges.
wire::result decode_properties(wire::reader& r, property_context where, properties& out);

// Which per-subscriber properties to write (publish_encoder writes them itself).
enum class property_subset : std::uint8_t { all, without_alias_and_subscription_ids };

// Appends the properties without their length prefix. Returns false when a value cannot be
// represented (a string over 65,535 bytes, a subscription identifier over 268,435,455).
bool append_property_fields(const properties& p, std::vector<std::uint8_t>& out,
                            property_subset subset = property_subset::all);

// Appends the property length then the properties.
bool append_properties(const properties& p, std::vector<std::uint8_t>& out);

}  // namespace sluice::mqtt::detail

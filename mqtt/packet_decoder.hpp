#pragma once

// Internal to the codec: the fixed header and per-packet body decoding shared by
// stream_decoder and decode_packet().

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>

#include "mqtt/decoder.hpp"
#include "mqtt/packet.hpp"
#include "mqtt/wire.hpp"

namespace sluice::mqtt::detail {

struct fixed_header {
    std::uint8_t first = 0;
    std::uint32_t remaining_length = 0;
    std::size_t header_size = 0;  // 2..5
    packet_type type() const { return static_cast<packet_type>(first >> 4); }
    std::uint8_t flags() const { return first & 0x0F; }
};

enum class header_status : std::uint8_t { complete, need_more, error };

// Parses a fixed header from the start of `data`.
header_status parse_fixed_header(const std::uint8_t* data, std::size_t size, fixed_header& h,
                                 decode_error& error);

// Checks what the first byte alone tells: the packet type exists at this level, its flags, the
// direction (role) and that the first packet is CONNECT.
wire::result check_first_byte(std::uint8_t first, std::optional<protocol_version> version,
                              decoder_role role);

// Checks what can be known from the fixed header alone: the packet type exists at this level,
// the flags, the direction (role) and that the first packet is CONNECT.
wire::result check_fixed_header(const fixed_header& h, std::optional<protocol_version> version,
                                decoder_role role);

// How to answer a failure `e` in the packet whose first byte is `first`, given the level known
// before that packet and after it (a CONNECT sets the level once it is read); see
// error_response in decoder.hpp.
error_response response_to(std::uint8_t first, reason_code e,
                           std::optional<protocol_version> before,
                           std::optional<protocol_version> after);

// Decodes a body of h.remaining_length bytes at `data`. `owner`, when set, keeps `data` alive
// and lets a PUBLISH payload point into it; otherwise the payload is copied. For CONNECT,
// `version` is set as soon as the protocol level is read.
wire::result decode_body(const fixed_header& h, const std::uint8_t* data,
                         std::shared_ptr<const void> owner,
                         std::optional<protocol_version>& version, decoder_role role, packet& out);

}  // namespace sluice::mqtt::detail

#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "mqtt/packet.hpp"
#include "mqtt/protocol_version.hpp"
#include "mqtt/reason_code.hpp"

namespace sluice::mqtt {

// Why a packet was rejected: the reason code the receiver must send (in a CONNACK if the
// failure is in CONNECT, else in a DISCONNECT on 5.0; before 5.0 it just closes) and a static
// text for logs.
struct decode_error {
    reason_code code = reason_code::malformed_packet;
    std::string_view detail{};
};

// Which side of the connection the decoder runs on. Packets that only the other side may send
// are then checked: a server rejects CONNACK, SUBACK, UNSUBACK, PINGRESP and a PUBLISH with a
// subscription identifier; a client rejects CONNECT, SUBSCRIBE, UNSUBSCRIBE and PINGREQ.
// `any` skips direction checks (tools, tests, the fuzzer).
enum class decoder_role : std::uint8_t { any, server, client };

struct decoder_options {
    decoder_role role = decoder_role::server;
    // The largest whole packet (fixed header included) we accept; larger ones fail with
    // packet_too_large as soon as their fixed header is read, before the body is buffered.
    std::size_t maximum_packet_size = 268'435'460;  // 5 + the largest remaining length
    // The connection's level if already known (a client knows it: it sent the CONNECT). When
    // unset the first packet must be CONNECT, which sets it.
    std::optional<protocol_version> version{};
};

enum class decode_status : std::uint8_t {
    packet,     // `out` holds the next packet
    need_more,  // feed more bytes
    error,      // the stream is broken; error() says why; the connection must close
};

// A streaming decoder for one connection: feed bytes in any chunking, pull whole packets out.
// It never throws on input and never reads out of bounds; after an error it stays failed.
//
// Memory: the bytes fed and not yet decoded, plus one allocation per packet body (a PUBLISH
// payload is a view into that allocation, see shared_bytes).
//
// Threads: not thread-safe; one connection's thread owns it.
class stream_decoder {
  public:
    explicit stream_decoder(decoder_options options = {});

    // Buffers `bytes` (copied) for next().
    void feed(std::span<const std::uint8_t> bytes);

    // Reading straight into the decoder, without the copy feed() makes: prepare(n) returns room
    // for n bytes at the end of the buffer; fill some of it (e.g. with a socket read) and call
    // commit(bytes_filled) before the next call to anything else. The span is invalidated by
    // any other call.
    std::span<std::uint8_t> prepare(std::size_t n);
    void commit(std::size_t n);

    // Decodes the next whole packet, if one is buffered.
    decode_status next(packet& out);

    const decode_error& error() const { return error_; }

    // The connection's protocol level: set by the options or by the CONNECT decoded (also when
    // that CONNECT then failed validation, if its level was readable and supported, so the
    // broker can answer in the right version).
    std::optional<protocol_version> version() const { return options_.version; }
    void set_version(protocol_version v) { options_.version = v; }

    // Changes the size limit (the broker learns it from configuration or CONNECT).
    void set_maximum_packet_size(std::size_t bytes) { options_.maximum_packet_size = bytes; }

    // Bytes fed but not yet returned as packets.
    std::size_t buffered() const { return end_ - read_pos_; }

  private:
    decode_status fail(reason_code code, std::string_view detail);
    // Makes room for `n` more bytes after end_.
    void make_room(std::size_t n);

    decoder_options options_;
    std::vector<std::uint8_t> buffer_;  // [read_pos_, end_) is fed and not yet decoded
    std::size_t read_pos_ = 0;
    std::size_t end_ = 0;
    decode_error error_;
    bool failed_ = false;
};

// Decodes one whole packet in `bytes` (fixed header included) for a connection at `version`,
// or for CONNECT when `version` is unset. Trailing bytes after the packet are an error. The
// result's body buffer is a new allocation (the payload of a PUBLISH points into it).
struct decode_one_result {
    std::optional<packet> pkt{};
    decode_error error{};  // meaningful when pkt is empty
};
decode_one_result decode_packet(std::span<const std::uint8_t> bytes,
                                std::optional<protocol_version> version,
                                decoder_role role = decoder_role::any);

}  // namespace sluice::mqtt

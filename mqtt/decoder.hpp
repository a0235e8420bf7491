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

// What the receiver of a bad packet sends before it closes the network connection. The
// decoder decides, because it depends on the rules of the failing packet's level:
// - a connection's CONNECT that fails at 5.0 is answered with a CONNACK carrying the code
//   (spec 3.1.4, 4.13); before 5.0 only an unsupported protocol level (return code 1,
//   MQTT-3.1.2-2) and a rejected client identifier (return code 2, MQTT-3.1.3-9) get a
//   CONNACK: every other bad CONNECT is closed without one (MQTT-3.1.4-1, MQTT-3.1.2-3);
// - a CONNECT whose level cannot be read is closed without a CONNACK, except one with an
//   unsupported protocol name or level, which gets a CONNACK in 3.1.1's form (return code 1);
// - any later packet gets a DISCONNECT carrying the code at 5.0 and a plain close before.
enum class error_response : std::uint8_t {
    close,       // send nothing
    connack,     // a CONNACK carrying `code`, at stream_decoder::version() (3.1.1 when unset)
    disconnect,  // a 5.0 DISCONNECT carrying `code`
};

// Why a packet was rejected: the reason code to send, what to send it in (`response`) and a
// static text for logs.
struct decode_error {
    reason_code code = reason_code::malformed_packet;
    std::string_view detail{};
    error_response response = error_response::close;
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
    // Fails for good with `e`, answered as response_to() says for the packet starting `first`
    // when the connection's level before it was `before`.
    decode_status fail(const decode_error& e, std::uint8_t first,
                       std::optional<protocol_version> before);
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

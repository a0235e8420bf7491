#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "mqtt/packet.hpp"
#include "mqtt/protocol_version.hpp"

namespace sluice::mqtt {

// What varies per subscriber when one message is delivered to many.
struct publish_delivery {
    qos qos_level = qos::at_most_once;  // min(message QoS, granted QoS)
    std::uint16_t packet_id = 0;        // required for QoS 1 and 2
    bool dup = false;
    bool retain = false;
    // 5.0 only. With a topic alias the topic name may be left out (send_topic = false) once the
    // alias is established on that connection.
    std::optional<std::uint16_t> topic_alias{};
    bool send_topic = true;
    std::span<const std::uint32_t> subscription_identifiers{};  // 5.0 only
};

// Encodes one PUBLISH once per protocol level and then cheaply for each subscriber: the topic,
// the message's own properties (everything but topic alias and subscription identifiers, which
// are per subscriber) and the payload are prepared at construction; encode_header() writes only
// the fixed header, the per-subscriber fields and the prepared bytes. The payload is shared, not
// copied, so a sender can write [header, payload()] as one scatter-gather operation.
//
// Delivering without copying the payload: per subscriber, append encode_header(d, out) to the
// connection's byte buffer and keep a copy of payload() (a reference count, not the bytes) in
// the write queue after the header's end offset; at write time the gather list alternates
// buffer ranges and payloads: [out[0, end1), payload1, out[end1, end2), payload2, ...]. Keep
// the shared_bytes copies until the write completes: the encoder itself may be gone by then.
// Copying a small payload with encode() is cheaper than a gather entry; header_size() and
// payload().size() tell which case a delivery is.
//
// Threads: immutable after construction; any number of threads may encode concurrently.
class publish_encoder {
  public:
    // `message` supplies topic, properties and payload; its dup/qos/retain/packet_id, topic
    // alias and subscription identifiers are ignored (they come from publish_delivery).
    publish_encoder(const publish& message, protocol_version version);

    protocol_version version() const { return version_; }
    const shared_bytes& payload() const { return payload_; }

    // Appends everything before the payload (exactly header_size(d) bytes) to `out`, after
    // what it already holds. Returns false (out unchanged) when the packet cannot be
    // represented: a topic or property over its length limit, a subscription identifier of 0
    // or over 268,435,455, or a remaining length over 268,435,455.
    bool encode_header(const publish_delivery& d, std::vector<std::uint8_t>& out) const;

    // Appends the whole packet: header then payload.
    bool encode(const publish_delivery& d, std::vector<std::uint8_t>& out) const;

    // The size of the whole packet for this subscriber, to compare with its maximum packet size.
    std::size_t packet_size(const publish_delivery& d) const;
    // What encode_header() appends for this subscriber: packet_size(d) - payload().size().
    std::size_t header_size(const publish_delivery& d) const;

  private:
    std::size_t remaining_length(const publish_delivery& d) const;

    protocol_version version_;
    std::vector<std::uint8_t> topic_;       // length-prefixed topic name
    std::vector<std::uint8_t> properties_;  // the message's properties, without length prefix
    shared_bytes payload_;
    bool valid_ = true;  // false when the topic or a property cannot be encoded
};

}  // namespace sluice::mqtt

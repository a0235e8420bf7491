#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>

#include "mqtt/packet.hpp"
#include "mqtt/publish_encoder.hpp"
#include "store/partition.hpp"

// One application message as the broker routes it: built once from an incoming PUBLISH (or a
// will, or a $SYS update) and shared, immutable, by every session it is delivered to.
// Threads: immutable after construction except for the lazily built encoders, published
// through atomic pointers (the first thread to build one wins; a loser frees its copy); any
// thread may read and encode.
namespace sluice::broker {

using steady_clock = std::chrono::steady_clock;

// Where the record of a logged message was queued: its partition and the append's ticket
// (store/partition.hpp). An offline session's backlog cursor covers the message when the
// ticket is at or above the session's marker on that partition
// (docs/offline-backlog-design.md). Empty for messages no rule logs.
struct log_position {
    std::shared_ptr<store::partition> partition;
    store::partition::ticket ticket = 0;
};

class message {
  public:
    // `pkt` carries topic, QoS, retain, payload and the message's properties. Per-connection
    // fields (packet id, dup, topic alias, subscription identifiers) are cleared.
    // `origin` identifies the publishing session for No Local (never dereferenced).
    message(mqtt::publish&& pkt, const void* origin, steady_clock::time_point now,
            log_position logged = {});
    ~message();
    message(const message&) = delete;
    message& operator=(const message&) = delete;

    const mqtt::publish& packet() const { return pkt_; }
    const std::string& topic() const { return pkt_.topic; }
    mqtt::qos qos_level() const { return pkt_.qos_level; }
    bool retain() const { return pkt_.retain; }
    const void* origin() const { return origin_; }
    const log_position& logged() const { return logged_; }

    bool expired(steady_clock::time_point now) const { return expires_at_ && now >= *expires_at_; }
    // The Message Expiry Interval to send now: the original minus whole seconds waited.
    std::optional<std::uint32_t> remaining_expiry(steady_clock::time_point now) const;

    // The shared encoder for `version` (3.1 and 3.1.1 share one: PUBLISH is the same there),
    // valid while the message lives. Its properties carry the original expiry interval, so
    // use it only when remaining_expiry(now) equals that (else encode_fresh()).
    const mqtt::publish_encoder& encoder(mqtt::protocol_version version) const;
    bool encoder_is_current(steady_clock::time_point now) const;
    // An encoder for a delivery whose expiry interval has counted down.
    std::unique_ptr<mqtt::publish_encoder> encode_fresh(mqtt::protocol_version version,
                                                        steady_clock::time_point now) const;

    std::size_t payload_size() const { return pkt_.payload.size(); }

  private:
    mqtt::publish pkt_;
    const void* origin_;
    log_position logged_;
    steady_clock::time_point received_at_;
    std::optional<steady_clock::time_point> expires_at_;
    mutable std::atomic<const mqtt::publish_encoder*> enc_v4_{nullptr}, enc_v5_{nullptr};
};

using message_ptr = std::shared_ptr<const message>;

inline message_ptr make_message(mqtt::publish&& pkt, const void* origin,
                                steady_clock::time_point now = steady_clock::now(),
                                log_position logged = {}) {
    return std::make_shared<const message>(std::move(pkt), origin, now, std::move(logged));
}

}  // namespace sluice::broker

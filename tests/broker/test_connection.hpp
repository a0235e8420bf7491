#pragma once
// The MQTT protocol object (broker/mqtt_protocol.hpp) over a test transport, shared by the
// broker's unit tests: the test feeds client bytes, reads back the packets the protocol wrote,
// and decides when work the protocol posts to "its thread" runs (through `post`; never inline:
// kick() and wake() are called with a session's lock held).
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "broker/mqtt_protocol.hpp"
#include "mqtt/decoder.hpp"
#include "mqtt/encoder.hpp"

namespace sluice::broker::testing {

class test_connection_base : public mqtt_protocol {
  public:
    using poster = std::function<void(std::function<void()>)>;

    test_connection_base(listener_state& l, poster post, std::string peer = "test",
                         std::string identity = {})
        : mqtt_protocol(l),
          post_(std::move(post)),
          peer_(std::move(peer)),
          identity_(std::move(identity)) {
        opened();
    }

    // Client side: encodes `p` and feeds it (or only its first `limit` bytes).
    void send(const mqtt::packet& p, std::size_t limit = SIZE_MAX) {
        std::vector<std::uint8_t> bytes;
        REQUIRE(mqtt::encode(p, version, bytes));
        if (bytes.size() > limit) bytes.resize(limit);
        on_bytes(bytes);
    }
    // Several packets in one read.
    void send_all(const std::vector<mqtt::packet>& ps) {
        std::vector<std::uint8_t> bytes;
        for (const auto& p : ps) REQUIRE(mqtt::encode(p, version, bytes));
        on_bytes(bytes);
    }
    // Every packet written since the last call.
    std::vector<mqtt::packet> received() {
        std::vector<mqtt::packet> out;
        if (!decoder)
            decoder = std::make_unique<mqtt::stream_decoder>(
                mqtt::decoder_options{mqtt::decoder_role::client, 1 << 20, version});
        decoder->feed(wire);
        wire.clear();
        mqtt::packet p;
        while (decoder->next(p) == mqtt::decode_status::packet) out.push_back(p);
        return out;
    }

    mqtt::protocol_version version = mqtt::protocol_version::v5;
    std::vector<std::uint8_t> wire;
    std::unique_ptr<mqtt::stream_decoder> decoder;
    bool closed = false;
    // A backpressure pause ends only when something ends it (a receiver's wake-up), as with a
    // long pause timer; by default it ends at once (posted).
    bool pause_needs_wake = false;

  protected:
    virtual void on_transport_pause() {}  // a test that counts pauses overrides this

  private:
    void transport_write() override {
        while (auto* b = begin_write()) {
            const std::size_t n = b->size();
            wire.insert(wire.end(), b->begin(), b->end());
            end_write(n);
        }
    }
    void transport_close(bool) override { closed = true; }
    void transport_read() override { resume(); }
    void transport_pause(std::chrono::microseconds) override {
        on_transport_pause();
        if (!pause_needs_wake) post_([self = shared_from_this()] { self->on_pause_over(); });
    }
    void transport_post(void (*fn)(mqtt_protocol&, std::uintptr_t), std::uintptr_t arg) override {
        post_([self = shared_from_this(), fn, arg] { fn(*self, arg); });
    }
    std::string transport_peer() const override { return peer_; }
    const std::string& transport_identity() const override { return identity_; }

    poster post_;
    std::string peer_;
    std::string identity_;
};

}  // namespace sluice::broker::testing

// mqtt_protocol: packets that wait for a persistent session's record (docs/mqtt.md, "What
// survives a restart"). Apart from mqtt_protocol.cpp so the persistence seam reads in one place.
#include <exception>

#include "broker/log.hpp"
#include "broker/mqtt_protocol.hpp"

namespace sluice::broker {

using mqtt::reason_code;

void mqtt_protocol::wait_durable(std::shared_ptr<append_outcome> outcome,
                                 std::function<void(reason_code)> then) {
    // The continuation holds a strong reference until on_durable runs it: with reading stopped
    // and nothing to write, no pending operation of the transport keeps the connection alive.
    rare().after_durable = [keep = shared_from_this(), then = std::move(then)](reason_code rc) {
        then(rc);
    };
    durable_wait_ = true;  // may_read() is false until on_durable
    outcome->wait([c = shared_from_this()](reason_code rc) {
        // The store's writer thread (or ours, when already durable): post to our thread.
        c->transport_post(
                [](mqtt_protocol& self, std::uintptr_t arg) {
                    self.on_durable(static_cast<reason_code>(arg));
                },
                static_cast<std::uintptr_t>(rc));
    });
}

void mqtt_protocol::on_durable(reason_code rc) {
    if (!durable_wait_) return;
    durable_wait_ = false;
    auto then = std::move(rare().after_durable);
    rare().after_durable = nullptr;
    auto self = shared_from_this();  // `then` may hold the last reference
    if (state_ != state::connected || !then) return;
    try {
        then(rc);
        flush();
        transport_read();  // the packets that arrived meanwhile, then the socket
    } catch (const std::exception& e) {
        log_error("connection ", client_id(), ": internal error: ", e.what(), "; closing it");
        close();
    }
}

void mqtt_protocol::send_when_durable(const std::shared_ptr<append_outcome>& outcome,
                                      std::uint16_t packet_id, bool pubrel) {
    std::weak_ptr<mqtt_protocol> weak = shared_from_this();
    outcome->wait([weak, arg = packet_id | (pubrel ? 0x10000u : 0u)](reason_code) {
        // Sent whatever the result: the exchange moves on in memory; a failed record only
        // means a restart finds the older state (logged by session_log).
        if (auto c = weak.lock())
            c->transport_post(
                [](mqtt_protocol& self, std::uintptr_t a) {
                    if (self.state_ != state::connected) return;
                    const auto id = static_cast<std::uint16_t>(a & 0xFFFF);
                    if (a & 0x10000)
                        self.send(mqtt::pubrel{id, reason_code::success, {}});
                    else
                        self.send(mqtt::pubcomp{id, reason_code::success, {}});
                    self.flush();
                },
                arg);
    });
}

void mqtt_protocol::on_session_error(reason_code rc, const char* what) {
    log_warn("closing ", client_id(), ": ", what, " (the log refused the session record)");
    disconnect(rc, what);
}

}  // namespace sluice::broker

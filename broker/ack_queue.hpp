#pragma once

#include <cstdint>

#include "broker/fifo.hpp"
#include "mqtt/packet.hpp"
#include "mqtt/reason_code.hpp"

// The acknowledgements a connection owes its client for inbound QoS 1 and 2 PUBLISH packets,
// in arrival order. Each PUBLISH takes a ticket when it arrives; its PUBACK / PUBREC may be
// completed later (once the message is durable in the log, docs/architecture.md,
// "Acknowledgements") and leaves only when every acknowledgement before it has left too, so
// PUBACKs and PUBRECs go out in the order their PUBLISHes arrived (MQTT-4.6.0-2, -3).
//
// Threads: one, the connection's. One pointer while nothing is pending.
namespace sluice::broker {

class ack_queue {
  public:
    using ticket = std::uint32_t;

    // A PUBLISH arrived: its acknowledgement is pending until complete().
    ticket push(std::uint16_t packet_id, mqtt::qos q) {
        q_.push_back(entry{packet_id, q, mqtt::reason_code::success, false});
        return static_cast<ticket>(front_ + q_.size() - 1);
    }

    // The outcome of the PUBLISH `t` is known. Unknown tickets (already sent) are ignored.
    void complete(ticket t, mqtt::reason_code rc) {
        const ticket index = t - front_;  // modular: tickets wrap
        if (index >= q_.size()) return;
        entry& e = *(q_.begin() + index);
        e.rc = rc;
        e.done = true;
    }

    // Hands every completed acknowledgement at the front to `send(packet_id, qos, rc)`, in order.
    template <typename Send>
    void drain(Send&& send) {
        while (!q_.empty() && q_.front().done) {
            entry e = q_.front();
            q_.pop_front();
            ++front_;
            send(e.packet_id, e.q, e.rc);
        }
    }

    // Inbound QoS 1 PUBLISH packets not yet acknowledged (they count against the Receive
    // Maximum, like QoS 2 ones waiting for PUBREL).
    std::size_t pending_qos1() const {
        std::size_t n = 0;
        for (auto it = q_.begin(); it != q_.end(); ++it)
            if (it->q == mqtt::qos::at_least_once) ++n;
        return n;
    }
    std::size_t size() const { return q_.size(); }
    bool empty() const { return q_.empty(); }
    void clear() {
        front_ += static_cast<ticket>(q_.size());
        q_.clear();
    }

  private:
    struct entry {
        std::uint16_t packet_id;
        mqtt::qos q;
        mqtt::reason_code rc;
        bool done;
    };
    mutable fifo<entry> q_;
    ticket front_ = 0;  // the ticket of q_.front()
};

}  // namespace sluice::broker

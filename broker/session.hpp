#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "broker/fifo.hpp"
#include "broker/message.hpp"
#include "mqtt/packet.hpp"
#include "mqtt/reason_code.hpp"

// A client's MQTT session: its subscriptions, the messages waiting for it, its inflight QoS 1/2
// state in both directions, its expiry and a will waiting for its delay. Sessions live in
// memory (broker_core's registry); they outlive connections and move between them on takeover.
//
// Threads: any. Every mutable field is guarded by `mu` (see the comment there). The attached
// connection does most of the work on its own thread; routers on other io threads append to
// `queue`; the registry and timers (io thread 0) attach, detach and end sessions.
// Lock order: registry lock -> router lock -> retained lock -> session mu. Nothing that holds a
// session's mu takes any other lock.
namespace sluice::broker {

// The connection a session is attached to, as the session sees it.
class session_owner {
  public:
    // Called with the session's mu held, from any thread: the owner must only post work to its
    // own thread (new messages are queued; pull them).
    virtual void wake() = 0;
    // Called with the session's mu held, from any thread: another connection took the session
    // over. `session_continues` is false when the new connection started a clean session.
    virtual void kick(mqtt::reason_code reason, bool session_continues) = 0;

  protected:
    ~session_owner() = default;
};

// One message waiting in a session, with what this subscriber's subscriptions made of it.
struct delivery {
    message_ptr msg;
    mqtt::qos qos_level = mqtt::qos::at_most_once;  // min(message QoS, granted QoS)
    bool retain = false;                            // the RETAIN flag to send
    std::vector<std::uint32_t> subscription_ids;    // 5.0: ids of the matching subscriptions
    std::string share;  // "$share/<group>/<filter>" when it came through a shared group
};

struct inflight_message {
    std::uint16_t packet_id = 0;
    delivery d;
    bool released = false;  // QoS 2: PUBREC received and PUBREL sent, waiting for PUBCOMP
    bool resend = false;    // resumed session: to be sent again when the window allows
};

struct subscription_record {
    mqtt::subscription_options options;
    std::uint32_t subscription_id = 0;  // 0: none
};

class session {
  public:
    explicit session(std::string id) : client_id(std::move(id)) {}
    session(const session&) = delete;
    session& operator=(const session&) = delete;

    const std::string client_id;

    enum class offer_result { dropped, dropped_congested, queued, congested };
    // Offers a message to this session (router, any thread). QoS 0 is dropped when the session
    // is offline or its connection's send queue is full; anything is dropped when the queue
    // already holds `max_queued` messages. `congested` / `dropped_congested`: the session is
    // online, its queue is past half of `max_queued` (or, for QoS 0, its send queue is full)
    // and it made progress within the last second, so the publisher should slow down
    // (backpressure). A receiver that makes no progress stops slowing publishers down: its
    // messages are dropped instead.
    offer_result offer(delivery d, std::size_t max_queued);

    // True while a connection is attached; read without the lock by shared-group selection.
    bool online() const { return online_.load(std::memory_order_relaxed); }

    // Guards every field below. Held briefly: never across I/O or another lock.
    mutable std::mutex mu;

    // Ordered so that the small fields share one word (an idle client keeps a session).
    session_owner* owner = nullptr;  // the attached connection, or null while offline

    fifo<delivery> queue;                      // waiting for the window or a connection
    fifo<inflight_message> inflight;           // sent, not yet acknowledged (oldest first)
    fifo<std::uint16_t> incoming_qos2;         // packet ids received, waiting for PUBREL
    std::map<std::string, subscription_record, std::less<>> subscriptions;  // by full filter
    std::unique_ptr<mqtt::will_message> pending_will;  // waiting for its will delay
    std::uint64_t generation = 0;                      // bumped at every attach and detach
    std::uint64_t dropped = 0;
    steady_clock::time_point last_progress{};  // the owner last drained the queue or socket
    std::uint32_t inflight_to_resend = 0;  // entries of `inflight` with resend set (<= 65535)
    std::uint32_t expiry_interval = 0;     // seconds; 0xFFFFFFFF = never
    std::uint16_t last_packet_id = 0;
    bool wake_posted = false;      // a wake() is on its way to the owner
    bool owner_saturated = false;  // the owner's send queue is full: QoS 0 is dropped
    bool ended = false;            // removed from the registry; offers are refused

    // Attaches/detaches the owner; call with mu held.
    void attach(session_owner* o) {
        owner = o;
        wake_posted = false;
        owner_saturated = false;
        online_.store(o != nullptr, std::memory_order_relaxed);
        ++generation;
        if (o) last_progress = steady_clock::now();
    }

    // The next free outbound packet id; call with mu held. 0 when all 65535 are in use.
    std::uint16_t allocate_packet_id();

  private:
    std::atomic<bool> online_{false};
};

}  // namespace sluice::broker

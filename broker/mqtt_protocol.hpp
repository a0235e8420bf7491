#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/asio/steady_timer.hpp>

#include "broker/ack_queue.hpp"
#include "broker/append_outcome.hpp"
#include "broker/broker_core.hpp"
#include "broker/connection_auth.hpp"
#include "broker/listener_state.hpp"
#include "broker/session.hpp"
#include "mqtt/decoder.hpp"
#include "ingest/ingest_rules.hpp"
#include "mqtt/packet.hpp"

// One client connection's MQTT state machine, apart from any transport: bytes in; bytes to
// write, a close with a reason and timers wanted, out (docs/architecture.md, "Connections").
// It decodes packets, runs one handler per packet type (on_connect, on_publish, ...), keeps
// the connection's side of its session and encodes what the session has to send.
//
// A transport driver derives from it (tcp_connection for plain TCP; TLS and WebSocket drivers
// the same way) and provides the few `transport_*` hooks: the stream itself, a write, a close,
// a pause timer. Unit tests derive a driver with no socket at all.
//
// Threads: created on, and only ever touched by, the io thread its transport lives on; other
// threads reach it only through wake() and kick(), which post to that thread.
namespace sluice::broker {

class mqtt_protocol : public session_owner, public std::enable_shared_from_this<mqtt_protocol> {
  public:
    enum class state : std::uint8_t { awaiting_connect, connected, closing, closed };

    ~mqtt_protocol();
    mqtt_protocol(const mqtt_protocol&) = delete;
    mqtt_protocol& operator=(const mqtt_protocol&) = delete;

    // --- from the transport ----------------------------------------------------------------
    // Bytes read from the stream. Packets are handled as they complete; returns false when the
    // transport should stop reading for now (closing, closed or paused: see may_read()).
    bool on_bytes(std::span<const std::uint8_t> bytes);
    // Packets a pause left decoded-but-unhandled are handled first: call before reading again.
    bool resume();
    // True when the transport may read more (not closing, not paused).
    bool may_read() const;
    // Output: the bytes waiting, handed over to the transport for one write (empty: nothing).
    std::vector<std::uint8_t>* begin_write();
    // That write completed with `bytes` written: pulls more from the session. The transport
    // writes again if begin_write() has more.
    void end_write(std::size_t bytes);
    bool has_output() const { return wbuf_ && !wbuf_->out.empty(); }
    bool write_in_progress() const { return writing_; }
    // The stream failed or was closed by the peer.
    void on_transport_error(const char* what, const std::string& message, bool expected);
    // The backpressure pause the protocol asked for (transport_pause) is over.
    void on_pause_over();
    // Housekeeping from this thread's tick: connect timeout, keep alive, idle buffers.
    void check_timeouts(steady_clock::time_point now);
    // Server shutdown: publish the will of a client that did not DISCONNECT normally, send
    // DISCONNECT 0x8B (5.0) and close.
    void shut_down();

    state current_state() const { return state_; }
    const std::string& client_id() const;  // empty before CONNECT
    std::size_t queued_bytes() const {
        return wbuf_ ? wbuf_->out.size() + wbuf_->writing.size() : 0;
    }

    // session_owner: any thread, session mu held; they post to this connection's thread.
    void wake() override;
    // The posted wake-up, on this connection's thread: pull from the session and write.
    void on_wakeup();
    void kick(mqtt::reason_code reason, bool session_continues) override;
    void disconnect_requested() override;   // admin API: DISCONNECT 0x98, posted
    // A receiver that paused us drained: end the pause now (posted to our thread).
    void receiver_drained() override;
    std::weak_ptr<session_owner> weak_owner() override { return weak_from_this(); }
    owner_details details() const override;  // read under the session's mu (fixed at CONNECT)

    // Durable ingest, from any thread (the store's writer threads): the log append behind the
    // acknowledgement `t` completed with `rc` (success or a failure reason code); posted to this
    // connection's thread, where the acknowledgement is completed (ack_queue.hpp).
    void log_result(ack_queue::ticket t, mqtt::reason_code rc);

    // This thread's list of connections (intrusive, for the housekeeping tick).
    mqtt_protocol* prev_ = nullptr;
    mqtt_protocol* next_ = nullptr;

  protected:
    explicit mqtt_protocol(listener_state& listener);
    broker_core& core() const { return listener_.core; }

    // --- what a transport provides (all on this connection's thread) ----------------------
    // Output is waiting (has_output()): write it when no write is in progress.
    virtual void transport_write() = 0;
    // Close the stream now; `graceful`: everything written was flushed (half-close first).
    virtual void transport_close(bool graceful) = 0;
    // Stop reading and call on_pause_over() after `delay`.
    virtual void transport_pause(std::chrono::microseconds delay) = 0;
    // Start reading again if may_read() (after resume() handled what the decoder holds).
    virtual void transport_read() = 0;
    // Run `fn` on this connection's thread later (the transport keeps itself alive for it).
    virtual void transport_post(void (*fn)(mqtt_protocol&, std::uintptr_t), std::uintptr_t arg) = 0;
    // The peer's address, for log lines.
    virtual std::string transport_peer() const = 0;
    // Who the transport vouches for: a TLS driver's verified client certificate name (CN, else
    // the first DNS or email SAN); empty when none. For authentication to read.
    virtual const std::string& transport_identity() const {
        static const std::string none;
        return none;
    }

    // Call once the transport is ready to read (links the connection into its thread's list).
    void opened();

    // A timer for a transport's backpressure pauses, kept with the rarely used state (only
    // publishers into congested receivers ever pause): made on `ex` on first use.
    boost::asio::steady_timer& transport_pause_timer(const boost::asio::any_io_executor& ex);
    // The pause timer if one was made (to cancel at close), else null.
    boost::asio::steady_timer* transport_pause_timer_if_made() const {
        return rare_ ? rare_->pause_timer.get() : nullptr;
    }

  private:
    // --- reading ---------------------------------------------------------------------------
    bool process_buffered();  // false when the connection closed or paused
    void on_decode_error();
    void handle(mqtt::packet& p);
    void count_packet_in(const mqtt::packet& p, std::size_t bytes);  // /metrics counters

    // --- one handler per packet ------------------------------------------------------------
    void on_connect(mqtt::connect& c);
    void on_publish(mqtt::publish& p);
    // True when some session matched. `durable` gets the appends its acknowledgement waits
    // for besides its ingest record (retained record, persistent receivers' queues).
    // `logged`: where its record was queued (log_publish), for backlog cursors.
    bool route(mqtt::publish& p,
               std::vector<std::shared_ptr<append_outcome>>* durable = nullptr,
               log_position logged = {});
    // Offers the parked publish's refused offers again (broker_core::offer_parked); true when
    // none is left (its acknowledgement may go once the records made meanwhile are durable).
    // `last`: we are closing: what is still refused is dropped.
    bool offer_parked(bool last);
    void on_puback(const mqtt::puback& p);
    void on_pubrec(const mqtt::pubrec& p);
    void on_pubrel(const mqtt::pubrel& p);
    void on_pubcomp(const mqtt::pubcomp& p);
    void on_subscribe(mqtt::subscribe& s);
    void on_unsubscribe(const mqtt::unsubscribe& u);
    void on_pingreq();
    void on_disconnect(const mqtt::disconnect& d);
    void on_kick(mqtt::reason_code reason, bool session_continues);
    void publish_will_after_takeover();
    // The CONNECT passed authentication: opens the session and sends the CONNACK.
    void accept_connect(mqtt::connect& c);

    // --- authentication and ACLs (broker/mqtt_auth.cpp, docs/security.md) ------------------
    // Decides how the CONNECT authenticates: true when it may be accepted now; false when it
    // was refused (CONNACK sent) or waits (limiter delay, password check, SCRAM exchange), in
    // which case accept_connect runs when it succeeds.
    bool authenticate(mqtt::connect& c);
    void start_login();                  // after the limiter's delay, if any
    void on_password_checked(bool ok);   // posted back by the verifier thread
    void on_auth(const mqtt::auth& a);   // AUTH: SCRAM during CONNECT, re-authentication
    void send_auth(mqtt::reason_code rc, std::string data);
    // Refuses the pending login with CONNACK `rc`; `failure`: counts for the login limiter.
    void refuse_login(mqtt::reason_code rc, const std::string& client, const char* why,
                      bool failure);
    void after_auth_wait();              // reading resumes once a wait is over
    connection_auth& auth_state();
    bool acl_active() const;
    bool publish_allowed(const std::string& topic);   // true when no ACL is configured
    bool subscribe_allowed(const std::string& filter);
    void note_denied_publish(const std::string& topic);

    // --- durable ingest (docs/mqtt.md, "Durable ingest") --------------------------------------
    // What a connection shares with the callbacks of its appends (store writer threads): its
    // appends not yet completed, and whether it stopped reading until one completes.
    struct append_link {
        std::weak_ptr<mqtt_protocol> conn;
        std::atomic<std::uint32_t> outstanding{0};
        std::atomic<bool> waiting{false};
    };
    // Appends the publish to the log topic of `rule` (QoS 0: `outcome` null, nobody waits).
    // The record is built here, before routing takes the payload. On any failure `outcome`
    // is finished with the failure reason code (and the position is empty). Returns where the
    // record was queued.
    const ingest::ingest_rule* logging_rule(const std::string& topic) const;
    log_position log_publish(const mqtt::publish& p, const ingest::ingest_rule& rule,
                             const std::shared_ptr<append_outcome>& outcome);
    // A waiter for `outcome` that completes acknowledgement `t` on this thread; `matched`: some
    // session got the message (else a 5.0 success is 0x10, no matching subscribers).
    append_outcome::waiter ack_when_logged(ack_queue::ticket t, bool matched);
    void on_log_result(ack_queue::ticket t, mqtt::reason_code rc);
    void on_log_progress();
    // True when reading should stop until appends complete: as many acknowledgements pending as
    // the Receive Maximum, or the broker-wide log budget spent while we have appends queued.
    bool log_wants_pause();

    // --- persistent sessions (docs/mqtt.md, "What survives a restart") ----------------------
    // A packet announcing a session change (CONNACK, SUBACK, UNSUBACK) leaves only once the
    // change is durable: reading stops, and `then` runs on this thread with the append's
    // result (mqtt_protocol_durable.cpp).
    void wait_durable(std::shared_ptr<append_outcome> outcome,
                      std::function<void(mqtt::reason_code)> then);
    void on_durable(mqtt::reason_code rc);
    // PUBCOMP once the session record without the inbound QoS 2 id is durable; PUBREL once
    // the outbound message is recorded as received (`pubrel`).
    void send_when_durable(const std::shared_ptr<append_outcome>& outcome,
                           std::uint16_t packet_id, bool pubrel);
    void on_session_error(mqtt::reason_code rc, const char* what);

    // --- acknowledgements of inbound QoS 1/2 (ack_queue.hpp) ------------------------------
    // Completes the acknowledgement `ticket` with `rc` (on this thread); sends every
    // completed acknowledgement at the front, in arrival order.
    void complete_ack(ack_queue::ticket t, mqtt::reason_code rc);
    std::size_t inbound_unacknowledged() const;

    // --- writing ---------------------------------------------------------------------------
    void send(const mqtt::packet& p);
    // Moves queued messages from the session into the write buffer (window and send queue
    // permitting) and retransmits inflight ones when `resend`. `drained`: called because the
    // transport took bytes (progress, for backpressure).
    void pump(bool resend = false, bool drained = false);
    bool write_delivery(const delivery& d, std::uint16_t packet_id, bool dup,
                        steady_clock::time_point now);
    void flush();  // asks the transport to write, if there is output
    std::vector<std::uint8_t>& out();  // the buffer to encode into (made if needed)
    bool saturated() const;

    // --- ending ----------------------------------------------------------------------------
    void connack_error(mqtt::reason_code rc);
    void disconnect(mqtt::reason_code rc, const char* why);
    void close_silently(const char* why);  // no CONNACK / DISCONNECT: just close
    void close(bool graceful = false);

    listener_state& listener_;  // counts us in its open connections; leads to the core
    // Made on read; null before the first read, right after the CONNECT and while idle.
    std::unique_ptr<mqtt::stream_decoder> decoder_;
    // Made by the first packet sent; released with its capacity by the idle check (an idle
    // connection holds not even the empty vectors).
    struct write_buffers {
        std::vector<std::uint8_t> out;      // encoded, waiting for the transport
        std::vector<std::uint8_t> writing;  // handed to the current write
    };
    std::unique_ptr<write_buffers> wbuf_;
    std::shared_ptr<session> session_;
    std::unique_ptr<mqtt::will_message> will_;  // null: none (held apart: it is large)
    // Connect deadline base (accept time), then the keep alive base: the time the last whole
    // packet arrived (a trickle of bytes does not count, MQTT 3.1.2.10).
    steady_clock::time_point last_packet_;

    // State most connections never use, allocated on first use: topic aliases, inbound (ours,
    // up to settings().topic_alias_maximum) and outbound (the client's Topic Alias Maximum),
    // and the acknowledgements of inbound QoS 1/2 not yet sent (idle subscribers and QoS 0
    // publishers never make it).
    struct rare_state {
        std::vector<std::string> aliases_in;  // sized on the first inbound alias
        std::unordered_map<std::string, std::uint16_t> aliases_out;
        ack_queue acks;  // made with the first QoS 1/2 PUBLISH
        std::shared_ptr<append_link> link;  // made with the first logged PUBLISH
        std::function<void(mqtt::reason_code)> after_durable;  // see wait_durable
        std::unique_ptr<boost::asio::steady_timer> pause_timer;  // see transport_pause_timer
        // A QoS 1/2 PUBLISH that full, progressing receivers refused (docs/mqtt.md, "Limits
        // and flow control"): reading stays paused and the offers are made again after each
        // backoff until taken; its acknowledgement waits for `done`. One at most: nothing
        // more is read meanwhile, so the publisher's order is kept.
        struct parked_publish {
            std::vector<refused_offer> offers;
            std::vector<std::shared_ptr<append_outcome>> records;  // made by offers taken later
            std::shared_ptr<append_outcome> done = std::make_shared<append_outcome>();
        };
        std::unique_ptr<parked_publish> parked;
    };
    std::unique_ptr<rare_state> rare_;
    rare_state& rare();
    // Made by connections that authenticate or meet an ACL (connection_auth.hpp).
    std::unique_ptr<connection_auth> auth_;

    std::uint32_t client_max_packet_size_ = 268'435'460;
    std::uint32_t session_expiry_ = 0;
    std::uint32_t pre_connect_bytes_ = 0;  // counted against the unauthenticated budget
    std::uint16_t keep_alive_ = 0;         // seconds, as enforced (0 = none)
    std::uint16_t out_window_ = 65535;
    std::uint16_t client_alias_max_ = 0;
    mqtt::protocol_version version_ = mqtt::protocol_version::v5;
    state state_ = state::awaiting_connect;
    // One bit each (every idle connection carries them); touched only on our own thread.
    bool writing_ : 1 = false;               // a write of wbuf_->writing is in progress
    bool read_paused_ : 1 = false;           // our send queue is full (resumed by end_write)
    bool backpressure_paused_ : 1 = false;   // a receiver is congested (resumed by on_pause_over)
    bool counted_connected_ : 1 = false;
    bool throttled_ : 1 = false;             // a publish of this batch met a congested receiver
    bool connack_pending_ : 1 = false;       // the CONNACK is being written (see end_write)
    bool linked_ : 1 = false;                // in this thread's housekeeping list
    bool log_paused_ : 1 = false;            // waiting for log appends (resumed by their completion)
    bool auth_wait_ : 1 = false;             // a login waits for a delay or a password check
    bool durable_wait_ : 1 = false;          // a session record must be durable first (wait_durable)
    bool connack_waiting_ : 1 = false;       // connected, the CONNACK waits for the session record
  protected:
    bool transport_reading_ : 1 = false;  // the transport's read is in progress (its flag, kept
                                          // here where a bit is free)
  private:
    std::int8_t io_thread_ = -1;         // the io thread we live on (-1: none, e.g. tests)
    std::uint8_t backoff_shift_ = 0;     // consecutive backpressure pauses (doubling)
    // Set by kick() (another thread, under the session's mu) before the session is taken
    // from us: 0 = not kicked, 1 = kicked and the session continues, 2 = kicked, session ended.
    std::atomic<std::uint8_t> kicked_{0};
};

}  // namespace sluice::broker

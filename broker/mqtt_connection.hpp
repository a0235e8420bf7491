#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "broker/broker_core.hpp"
#include "broker/session.hpp"
#include "broker/tcp_listener.hpp"
#include "mqtt/decoder.hpp"
#include "mqtt/packet.hpp"

// One MQTT client connection over TCP: reads and decodes packets, runs one handler per packet
// type (on_connect, on_publish, ...), pulls messages from its session and writes them in
// batches. `fail(ec, what)` is the one place where socket errors end it; `disconnect(rc, why)`
// is the one place where the broker ends it for a protocol reason.
//
// Threads: created on, and only ever touched by, the io thread its socket belongs to; other
// threads reach it only through wake() and kick(), which post to that thread.
namespace sluice::broker {

class mqtt_connection final : public session_owner,
                              public std::enable_shared_from_this<mqtt_connection> {
  public:
    mqtt_connection(broker_core& core, tcp_socket socket);
    ~mqtt_connection();
    mqtt_connection(const mqtt_connection&) = delete;
    mqtt_connection& operator=(const mqtt_connection&) = delete;

    void start();

    void wake() override;
    void kick(mqtt::reason_code reason, bool session_continues) override;

    // Housekeeping from this thread's tick: connect timeout and keep alive.
    void check_timeouts(steady_clock::time_point now);
    // Server shutdown: DISCONNECT 0x8B (5.0) and close.
    void shut_down();

    // This thread's list of connections (intrusive, for the housekeeping tick).
    mqtt_connection* prev_ = nullptr;
    mqtt_connection* next_ = nullptr;

  private:
    enum class state : std::uint8_t { awaiting_connect, connected, closing, closed };

    // --- reading -------------------------------------------------------------------------
    void do_read();
    void on_readable(const boost::system::error_code& ec);
    bool process_buffered();  // false when the connection closed or paused
    void on_decode_error();
    void handle(mqtt::packet& p);

    // --- one handler per packet ----------------------------------------------------------
    void on_connect(mqtt::connect& c);
    void on_publish(mqtt::publish& p);
    bool route(mqtt::publish& p);  // true when some session matched
    bool qos2_id_pending(std::uint16_t id);
    void pause_for_backpressure();
    void on_puback(const mqtt::puback& p);
    void on_pubrec(const mqtt::pubrec& p);
    void on_pubrel(const mqtt::pubrel& p);
    void on_pubcomp(const mqtt::pubcomp& p);
    void on_subscribe(mqtt::subscribe& s);
    void on_unsubscribe(const mqtt::unsubscribe& u);
    void on_pingreq();
    void on_disconnect(const mqtt::disconnect& d);
    void on_wakeup();
    void on_kick(mqtt::reason_code reason, bool session_continues);
    void publish_will_after_takeover(bool session_continues);

    // --- writing -------------------------------------------------------------------------
    void send(const mqtt::packet& p);
    // Moves queued messages from the session into the write buffer (window and send queue
    // permitting) and retransmits inflight ones when `resend`.
    // `drained`: called because the socket took bytes (progress, for backpressure).
    void pump(bool resend = false, bool drained = false);
    bool write_delivery(const delivery& d, std::uint16_t packet_id, bool dup,
                        steady_clock::time_point now);
    void do_write();
    void on_write(const boost::system::error_code& ec, std::size_t bytes);
    std::size_t queued_bytes() const {
        return wbuf_ ? wbuf_->out.size() + wbuf_->writing.size() : 0;
    }
    std::vector<std::uint8_t>& out();  // the buffer to encode into (made if needed)
    bool has_output() const { return wbuf_ && !wbuf_->out.empty(); }
    bool saturated() const { return queued_bytes() >= core_.settings().send_queue_bytes; }

    // The session's id (stored once, there); empty before CONNECT.
    const std::string& client_id() const;

    // --- ending --------------------------------------------------------------------------
    void connack_error(mqtt::reason_code rc);
    void disconnect(mqtt::reason_code rc, const char* why);
    void fail(const boost::system::error_code& ec, const char* what);
    void close();

    broker_core& core_;
    tcp_socket socket_;
    // Made on read; null before the first read, right after the CONNECT and while idle.
    std::unique_ptr<mqtt::stream_decoder> decoder_;
    // Made by the first packet sent; released with its capacity by the idle check (an idle
    // connection holds not even the empty vectors).
    struct write_buffers {
        std::vector<std::uint8_t> out;      // encoded, waiting for the socket
        std::vector<std::uint8_t> writing;  // handed to the current async_write
    };
    std::unique_ptr<write_buffers> wbuf_;
    std::shared_ptr<session> session_;
    std::unique_ptr<mqtt::will_message> will_;  // null: none (held apart: it is large)
    steady_clock::time_point last_packet_;  // connect deadline base, then keep alive base

    // State most connections never use, allocated on first use: topic aliases, inbound (ours,
    // up to settings().topic_alias_maximum) and outbound (the client's Topic Alias Maximum),
    // and the timer of a backpressure pause.
    struct rare_state {
        std::vector<std::string> aliases_in;  // sized on the first inbound alias
        std::unordered_map<std::string, std::uint16_t> aliases_out;
        std::optional<boost::asio::steady_timer> backpressure_timer;
    };
    std::unique_ptr<rare_state> rare_;
    rare_state& rare();

    std::uint32_t client_max_packet_size_ = 268'435'460;
    std::uint32_t session_expiry_ = 0;
    std::uint16_t keep_alive_ = 0;  // seconds, as enforced (0 = none)
    std::uint16_t out_window_ = 65535;
    std::uint16_t client_alias_max_ = 0;
    mqtt::protocol_version version_ = mqtt::protocol_version::v5;
    state state_ = state::awaiting_connect;
    bool reading_ = false;
    bool writing_active_ = false;
    bool read_paused_ = false;          // our send queue is full (resumed by on_write)
    bool backpressure_paused_ = false;  // a receiver is congested (resumed by the timer)
    bool counted_connected_ = false;
    bool throttled_ = false;             // a publish of this batch met a congested receiver
    bool connack_pending_ = false;       // the CONNACK is being written (see on_write)
    std::uint8_t backoff_shift_ = 0;     // consecutive backpressure pauses (doubling)
    // Set by kick() (another thread, under the session's mu) before the session is taken
    // from us: 0 = not kicked, 1 = kicked and the session continues, 2 = kicked, session ended.
    // close() reads it when it finds the session gone, to decide about our will.
    std::atomic<std::uint8_t> kicked_{0};
};

// Per io thread: starts the housekeeping tick (call on that thread).
void start_housekeeping(broker_core& core);
// Per io thread: DISCONNECT 0x8B and close every connection (call on that thread).
void shut_down_connections();

}  // namespace sluice::broker

#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "loadtest/mqtt/client_stream.hpp"
#include "loadtest/mqtt/options.hpp"
#include "mqtt/decoder.hpp"
#include "mqtt/packet.hpp"
#include "mqtt/publish_encoder.hpp"

namespace sluice::bench {

class client;

// What a client tells the worker that owns it. Called on the worker's thread.
class client_events {
public:
    virtual ~client_events() = default;
    // CONNACK accepted (and, for a subscriber, SUBACK granted).
    virtual void on_ready(client& c) = 0;
    // The connection failed or closed when it should not have.
    virtual void on_failed(client& c, const std::string& why) = 0;
    // A publisher has stopped sending and every message it sent is acknowledged.
    virtual void on_publisher_done(client& c) = 0;
    // A subscriber received an application message (already acknowledged to the broker).
    virtual void on_message(client& c, const mqtt::publish& p, std::uint64_t now_ns) = 0;
    // A churn client's SUBSCRIBE+UNSUBSCRIBE pair was acknowledged, `ns` after it was sent.
    virtual void on_churned(client&, std::uint64_t /*ns*/) {}
    // The broker acknowledged one of this publisher's QoS 1/2 messages (PUBACK, or PUBREC for
    // QoS 2: the point where the broker vouches for it), `ns` after the message was due.
    virtual void on_acked(client&, std::uint64_t /*ns*/) {}
};

// One MQTT connection of the swarm: a publisher, a subscriber or an idle connection. It
// connects from its own source address over the run's transport (client_stream), performs CONNECT (and SUBSCRIBE), then publishes at
// its pace with a bounded window of unacknowledged QoS 1/2 messages, answers the broker's
// QoS 1/2 deliveries, and sends PINGREQ when it has been quiet for half the keep alive.
// Packets are encoded and decoded by the project's codec (mqtt/).
//
// Threads: the worker's single io_context thread only.
class client {
public:
    // churner: subscribes to and unsubscribes from its filter (identity.topic) on request.
    enum class role { publisher, subscriber, idle, churner };

    struct identity {
        role kind = role::idle;
        unsigned index = 0;        // publisher index or subscriber index in the run
        std::uint32_t unit = 0;    // subscriber: its receiving unit (topic_plan)
        std::string client_id;
        std::string topic;         // publisher: topic; subscriber: filter
        boost::asio::ip::address source;
    };

    client(boost::asio::io_context& io, const options& opt, client_events& events, identity id,
           const stream_factory& streams);
    client(const client&) = delete;
    client& operator=(const client&) = delete;

    void start(const boost::asio::ip::tcp::endpoint& broker);

    // Publishers: begin sending. Messages are due at t0 + phase + k / rate (or as fast as the
    // window allows when rate is 0) until `count` messages or `deadline_ns`.
    void start_publishing(std::uint64_t t0_ns, std::uint64_t deadline_ns);
    // Stop sending new messages; done once the outstanding ones are acknowledged.
    void stop_publishing();
    // Give up on outstanding acknowledgements (the drain timed out): done now.
    void abandon_outstanding();

    // Churners: sends SUBSCRIBE and UNSUBSCRIBE of its filter back to back.
    void churn();
    std::uint64_t churn_sent() const { return churn_sent_; }
    std::uint64_t churn_done() const { return churn_done_; }
    std::uint64_t churn_refused() const { return churn_refused_; }
    std::size_t churn_outstanding() const { return churn_started_.size(); }

    // Sends DISCONNECT and closes.
    void disconnect();

    const identity& id() const { return id_; }
    bool ready() const { return ready_; }
    bool failed() const { return failed_; }
    bool closed() const { return !stream_->socket().is_open(); }
    bool publishing_done() const { return done_; }
    std::uint64_t sent() const { return sequence_; }
    std::uint64_t acked() const { return acked_; }
    std::uint64_t unacked() const { return inflight_; }
    std::uint64_t protocol_anomalies() const { return anomalies_; }

private:
    void on_connected(const boost::system::error_code& ec);
    void on_handshake(const boost::system::error_code& ec);
    void do_read();
    void on_read(const boost::system::error_code& ec, std::size_t n);
    void handle(mqtt::packet& p);
    void on_connack(const mqtt::connack& ack);
    void on_suback(const mqtt::suback& ack);
    void on_unsuback(const mqtt::unsuback& ack);
    void on_publish(const mqtt::publish& p);
    void on_ack(std::uint16_t packet_id, int expected_state, int next_state);
    void report_ack_latency(std::uint16_t packet_id, int expected_state);

    void send(const mqtt::packet& p);
    void flush();
    void on_written(const boost::system::error_code& ec);
    void fail(const std::string& why);

    void pump();
    void send_publish(std::uint64_t stamp_ns);
    void schedule_pump(std::uint64_t at_ns);
    void check_done();
    void arm_keep_alive();

    boost::asio::io_context& io_;
    const options& opt_;
    client_events& events_;
    identity id_;
    std::unique_ptr<client_stream> stream_;
    boost::asio::steady_timer pace_timer_;
    boost::asio::steady_timer keep_alive_timer_;
    mqtt::stream_decoder decoder_;
    std::vector<std::uint8_t> read_buffer_;
    std::vector<std::uint8_t> pending_;  // encoded, not yet handed to the socket
    std::vector<std::uint8_t> writing_;  // handed to the socket, write in progress
    bool write_in_progress_ = false;
    bool wrote_since_tick_ = false;
    bool connack_seen_ = false;
    bool ready_ = false;
    bool failed_ = false;
    bool closing_ = false;

    // Publishing.
    std::unique_ptr<mqtt::publish_encoder> encoder_;
    std::vector<std::uint8_t> id_state_;  // per packet id: 0 free, 1 await PUBACK, 2 PUBREC, 3 PUBCOMP
    // When each packet id's message was due (its payload stamp), for the acknowledgement
    // latency. Packet ids cycle through 1..id_ring_ (a little above the window), so this stays
    // small even with thousands of publishers in one process.
    std::vector<std::uint64_t> due_ns_;
    std::uint16_t id_ring_ = 65535;
    std::uint16_t next_packet_id_ = 1;
    std::uint32_t window_ = 1;
    std::uint32_t inflight_ = 0;
    std::uint64_t sequence_ = 0;  // messages sent so far
    std::uint64_t acked_ = 0;
    std::uint64_t anomalies_ = 0;
    std::uint64_t t0_ns_ = 0;
    std::uint64_t phase_ns_ = 0;
    std::uint64_t interval_ns_ = 0;
    std::uint64_t deadline_ns_ = 0;
    bool publishing_ = false;
    bool stop_sending_ = false;
    bool pump_scheduled_ = false;
    bool done_ = false;

    // Churning: send times of the pairs awaiting their UNSUBACK (acks come in order).
    std::deque<std::uint64_t> churn_started_;
    std::uint64_t churn_sent_ = 0;
    std::uint64_t churn_done_ = 0;
    std::uint64_t churn_refused_ = 0;
};

}  // namespace sluice::bench

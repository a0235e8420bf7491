#include "loadtest/mqtt/client.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <boost/asio/write.hpp>
#include <chrono>
#include <span>

#include "loadtest/mqtt/clock.hpp"
#include "loadtest/mqtt/payload.hpp"
#include "mqtt/encoder.hpp"

namespace sluice::bench {
namespace asio = boost::asio;
using boost::system::error_code;

namespace {
// QoS 0 publishers at full speed stop encoding when this much is waiting for the socket, so
// the generator's memory stays bounded and TCP back-pressure paces it.
constexpr std::size_t qos0_buffer_limit = 64 * 1024;

asio::steady_timer::time_point at(std::uint64_t ns) {
    return asio::steady_timer::time_point(std::chrono::nanoseconds(ns));
}

mqtt::decoder_options decoder_for(const options& opt) {
    mqtt::decoder_options d;
    d.role = mqtt::decoder_role::client;
    d.version = opt.version;
    return d;
}
}  // namespace

client::client(asio::io_context& io, const options& opt, client_events& events, identity id,
               const stream_factory& streams)
    : io_(io),
      opt_(opt),
      events_(events),
      id_(std::move(id)),
      stream_(streams.make(io)),
      pace_timer_(io),
      keep_alive_timer_(io),
      decoder_(decoder_for(opt)),
      read_buffer_(id_.kind == role::subscriber ? 64 * 1024 : 4 * 1024) {}

void client::start(const asio::ip::tcp::endpoint& broker) {
    error_code ec;
    auto& socket = stream_->socket();
    socket.open(asio::ip::tcp::v4(), ec);
    if (!ec) {
        // Let connect() choose the port for (source, destination) rather than bind() for the
        // source alone, so each source address offers the whole ephemeral range per broker.
        int one = 1;
        ::setsockopt(socket.native_handle(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        socket.bind(asio::ip::tcp::endpoint(id_.source, 0), ec);
    }
    if (ec) {
        fail("socket: " + ec.message());
        return;
    }
    socket.async_connect(broker, [this](const error_code& e) { on_connected(e); });
}

void client::on_connected(const error_code& ec) {
    if (ec) {
        fail("connect: " + ec.message());
        return;
    }
    error_code ignored;
    stream_->socket().set_option(asio::ip::tcp::no_delay(true), ignored);
    stream_->async_handshake([this](const error_code& e) { on_handshake(e); });
}

void client::on_handshake(const error_code& ec) {
    if (ec) {
        fail(std::string(opt_.transport == transport_kind::ws ? "WebSocket upgrade: " : "handshake: ") +
             ec.message());
        return;
    }
    mqtt::connect c;
    c.version = opt_.version;
    c.clean_start = true;
    c.keep_alive = opt_.keep_alive;
    c.client_id = id_.client_id;
    if (opt_.version == mqtt::protocol_version::v5)
        c.props.receive_maximum = 65535;  // the broker may send as much as it likes
    send(c);
    flush();
    arm_keep_alive();
    do_read();
}

void client::do_read() {
    stream_->async_read_some(asio::buffer(read_buffer_),
                            [this](const error_code& ec, std::size_t n) { on_read(ec, n); });
}

void client::on_read(const error_code& ec, std::size_t n) {
    if (ec) {
        if (!closing_) fail(ec == asio::error::eof ? "broker closed the connection" : "read: " + ec.message());
        return;
    }
    decoder_.feed(std::span<const std::uint8_t>(read_buffer_.data(), n));
    mqtt::packet p;
    for (;;) {
        const auto status = decoder_.next(p);
        if (status == mqtt::decode_status::need_more) break;
        if (status == mqtt::decode_status::error) {
            fail("undecodable packet from broker: " + std::string(decoder_.error().detail));
            return;
        }
        handle(p);
        if (failed_) return;
    }
    flush();  // acknowledgements produced while handling the batch go out in one write
    do_read();
}

void client::handle(mqtt::packet& p) {
    if (auto* a = std::get_if<mqtt::connack>(&p)) return on_connack(*a);
    if (auto* s = std::get_if<mqtt::suback>(&p)) return on_suback(*s);
    if (auto* u = std::get_if<mqtt::unsuback>(&p)) return on_unsuback(*u);
    if (auto* m = std::get_if<mqtt::publish>(&p)) return on_publish(*m);
    if (auto* a = std::get_if<mqtt::puback>(&p)) {
        if (!mqtt::is_error(a->reason)) report_ack_latency(a->packet_id, 1);
        return on_ack(a->packet_id, 1, 0);
    }
    if (auto* r = std::get_if<mqtt::pubrec>(&p)) {
        if (mqtt::is_error(r->reason)) return on_ack(r->packet_id, 2, 0);  // refused: no PUBREL
        report_ack_latency(r->packet_id, 2);
        on_ack(r->packet_id, 2, 3);
        send(mqtt::pubrel{r->packet_id, mqtt::reason_code::success, {}});
        return;
    }
    if (auto* c = std::get_if<mqtt::pubcomp>(&p)) return on_ack(c->packet_id, 3, 0);
    if (auto* r = std::get_if<mqtt::pubrel>(&p)) {
        send(mqtt::pubcomp{r->packet_id, mqtt::reason_code::success, {}});
        return;
    }
    if (std::holds_alternative<mqtt::pingresp>(p)) return;
    if (auto* d = std::get_if<mqtt::disconnect>(&p)) {
        fail("broker sent DISCONNECT: " + std::string(mqtt::to_string(d->reason)));
        return;
    }
    ++anomalies_;
}

void client::on_connack(const mqtt::connack& ack) {
    if (connack_seen_) {
        ++anomalies_;
        return;
    }
    connack_seen_ = true;
    if (mqtt::is_error(ack.reason)) {
        fail("CONNACK refused: " + std::string(mqtt::to_string(ack.reason)));
        return;
    }
    if (id_.kind == role::subscriber) {
        mqtt::subscribe s;
        s.packet_id = 1;
        mqtt::subscription sub;
        sub.filter = id_.topic;
        sub.options.max_qos = opt_.subscription_qos();
        s.subscriptions.push_back(std::move(sub));
        send(s);
        return;
    }
    if (id_.kind == role::publisher) {
        // The broker's receive maximum caps our window (5.0); before 5.0 it simply queues.
        window_ = opt_.inflight;
        if (ack.props.receive_maximum) window_ = std::min<std::uint32_t>(window_, *ack.props.receive_maximum);
        id_state_.assign(65536, 0);
        // At most window_ ids are in use, so twice the window always leaves a free one near.
        id_ring_ = static_cast<std::uint16_t>(std::min<std::uint32_t>(65535, std::max<std::uint32_t>(64, 2 * window_)));
        due_ns_.assign(id_ring_ + 1u, 0);
        mqtt::publish templ;
        templ.topic = id_.topic;
        templ.payload = mqtt::shared_bytes(std::vector<std::uint8_t>(opt_.payload, 'x'));
        encoder_ = std::make_unique<mqtt::publish_encoder>(templ, opt_.version);
    }
    ready_ = true;
    events_.on_ready(*this);
}

void client::on_suback(const mqtt::suback& ack) {
    if (id_.kind == role::churner) {
        if (ack.reasons.size() != 1) ++anomalies_;
        else if (mqtt::is_error(ack.reasons[0])) ++churn_refused_;
        return;
    }
    if (ready_ || ack.packet_id != 1 || ack.reasons.size() != 1) {
        ++anomalies_;
        return;
    }
    if (mqtt::is_error(ack.reasons[0])) {
        fail("SUBSCRIBE '" + id_.topic + "' refused: " + std::string(mqtt::to_string(ack.reasons[0])));
        return;
    }
    ready_ = true;
    events_.on_ready(*this);
}

void client::on_unsuback(const mqtt::unsuback&) {
    if (id_.kind != role::churner || churn_started_.empty()) {
        ++anomalies_;
        return;
    }
    const std::uint64_t took = monotonic_ns() - churn_started_.front();
    churn_started_.pop_front();
    ++churn_done_;
    events_.on_churned(*this, took);
}

void client::churn() {
    if (id_.kind != role::churner || !ready_ || failed_ || closing_) return;
    auto next_id = [this] {
        const std::uint16_t id = next_packet_id_;
        next_packet_id_ = next_packet_id_ == 65535 ? 1 : next_packet_id_ + 1;
        return id;
    };
    mqtt::subscribe s;
    s.packet_id = next_id();
    mqtt::subscription sub;
    sub.filter = id_.topic;
    sub.options.max_qos = opt_.subscription_qos();
    s.subscriptions.push_back(std::move(sub));
    send(s);
    mqtt::unsubscribe u;
    u.packet_id = next_id();
    u.filters.push_back(id_.topic);
    send(u);
    churn_started_.push_back(monotonic_ns());
    ++churn_sent_;
    flush();
}

void client::on_publish(const mqtt::publish& p) {
    const std::uint64_t now = monotonic_ns();
    if (p.qos_level == mqtt::qos::at_least_once) send(mqtt::puback{p.packet_id, mqtt::reason_code::success, {}});
    else if (p.qos_level == mqtt::qos::exactly_once) send(mqtt::pubrec{p.packet_id, mqtt::reason_code::success, {}});
    events_.on_message(*this, p, now);
}

void client::report_ack_latency(std::uint16_t packet_id, int expected_state) {
    if (packet_id >= due_ns_.size() || id_state_[packet_id] != expected_state) return;  // counted by on_ack
    const std::uint64_t now = monotonic_ns();
    const std::uint64_t due = due_ns_[packet_id];
    events_.on_acked(*this, now > due ? now - due : 0);
}

void client::on_ack(std::uint16_t packet_id, int expected_state, int next_state) {
    if (id_state_.empty() || id_state_[packet_id] != expected_state) {
        ++anomalies_;
        return;
    }
    id_state_[packet_id] = static_cast<std::uint8_t>(next_state);
    if (next_state != 0) return;
    --inflight_;
    ++acked_;
    if (publishing_) pump();
}

// --- writing ------------------------------------------------------------------------------

void client::send(const mqtt::packet& p) {
    if (!mqtt::encode(p, opt_.version, pending_)) {
        fail("could not encode a packet");
        return;
    }
}

void client::flush() {
    if (write_in_progress_ || pending_.empty() || failed_ || closed()) return;
    std::swap(pending_, writing_);
    pending_.clear();
    write_in_progress_ = true;
    wrote_since_tick_ = true;
    stream_->async_write(asio::buffer(writing_), [this](const error_code& ec, std::size_t) { on_written(ec); });
}

void client::on_written(const error_code& ec) {
    write_in_progress_ = false;
    writing_.clear();
    if (ec) {
        if (!closing_) fail("write: " + ec.message());
        return;
    }
    if (closing_ && pending_.empty()) {
        // Over TLS and WebSocket too: DISCONNECT is the MQTT goodbye; no close_notify or
        // close frame is waited for.
        error_code ignored;
        stream_->socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
        stream_->socket().close(ignored);
        return;
    }
    if (publishing_) pump();  // QoS 0 at full speed refills as the socket drains
    flush();
    check_done();
}

void client::fail(const std::string& why) {
    if (failed_ || closing_) return;
    failed_ = true;
    error_code ignored;
    pace_timer_.cancel();
    keep_alive_timer_.cancel();
    stream_->socket().close(ignored);
    events_.on_failed(*this, why);
}

void client::arm_keep_alive() {
    keep_alive_timer_.expires_after(std::chrono::milliseconds(opt_.keep_alive * 500));
    keep_alive_timer_.async_wait([this](const error_code& ec) {
        if (ec || failed_ || closing_) return;
        if (!wrote_since_tick_) {
            send(mqtt::pingreq{});
            flush();
        }
        wrote_since_tick_ = false;
        arm_keep_alive();
    });
}

void client::disconnect() {
    if (failed_ || closing_ || closed()) return;
    pace_timer_.cancel();
    keep_alive_timer_.cancel();
    publishing_ = false;
    send(mqtt::disconnect{});
    closing_ = true;
    flush();  // on_written() closes the socket once DISCONNECT is out
}

// --- publishing ---------------------------------------------------------------------------

void client::start_publishing(std::uint64_t t0_ns, std::uint64_t deadline_ns) {
    if (id_.kind != role::publisher || !ready_ || failed_) return;
    t0_ns_ = t0_ns;
    deadline_ns_ = deadline_ns;
    if (opt_.rate > 0) {
        interval_ns_ = static_cast<std::uint64_t>(1e9 / opt_.rate);
        // Spread publishers over one interval so they do not all fire at the same instant.
        const std::uint64_t spread = std::max<std::uint64_t>(opt_.publishers, 1);
        phase_ns_ = interval_ns_ * (id_.index % spread) / spread;
    }
    publishing_ = true;
    schedule_pump(t0_ns_ + phase_ns_);
}

void client::schedule_pump(std::uint64_t at_ns) {
    if (pump_scheduled_) return;
    pump_scheduled_ = true;
    pace_timer_.expires_at(at(at_ns));
    pace_timer_.async_wait([this](const error_code& ec) {
        pump_scheduled_ = false;
        if (ec || failed_ || closing_) return;
        pump();
    });
}

void client::pump() {
    if (!publishing_ || stop_sending_ || failed_ || pump_scheduled_) {
        check_done();
        return;
    }
    const bool qos0 = opt_.pub_qos == mqtt::qos::at_most_once;
    std::uint64_t now = monotonic_ns();
    // Bounded so that one fast publisher cannot starve the rest of the worker's connections.
    for (int burst = 0; burst < 256; ++burst) {
        if ((opt_.count && sequence_ >= opt_.count) || (deadline_ns_ && now >= deadline_ns_)) {
            stop_sending_ = true;
            break;
        }
        if (!qos0 && inflight_ >= window_) break;
        if (qos0 && pending_.size() >= qos0_buffer_limit) break;
        std::uint64_t stamp = now;
        if (interval_ns_) {
            // Stamped with the time the message was due rather than sent, so a broker that
            // pushes back is charged for the wait (no coordinated omission).
            const std::uint64_t due = t0_ns_ + phase_ns_ + sequence_ * interval_ns_;
            if (due > now) {
                if (deadline_ns_ && due >= deadline_ns_) stop_sending_ = true;
                else schedule_pump(due);
                break;
            }
            stamp = due;
        }
        send_publish(stamp);
        if (failed_) return;
        if ((burst & 15) == 15) now = monotonic_ns();
    }
    flush();
    if (!stop_sending_ && !pump_scheduled_ && !failed_) {
        // Stopped by the burst bound with room left: continue after other handlers ran.
        const bool room = qos0 ? pending_.size() < qos0_buffer_limit : inflight_ < window_;
        const bool due_now = !interval_ns_ || t0_ns_ + phase_ns_ + sequence_ * interval_ns_ <= monotonic_ns();
        if (room && due_now) asio::post(io_, [this] { pump(); });
    }
    if (stop_sending_ && deadline_ns_ && !done_) pace_timer_.cancel();
    check_done();
}

void client::send_publish(std::uint64_t stamp_ns) {
    mqtt::publish_delivery d;
    d.qos_level = opt_.pub_qos;
    if (d.qos_level != mqtt::qos::at_most_once) {
        // The window is far below 65,535, so a free id is always near.
        while (id_state_[next_packet_id_] != 0) next_packet_id_ = next_packet_id_ >= id_ring_ ? 1 : next_packet_id_ + 1;
        d.packet_id = next_packet_id_;
        id_state_[next_packet_id_] = d.qos_level == mqtt::qos::at_least_once ? 1 : 2;
        due_ns_[next_packet_id_] = stamp_ns;
        next_packet_id_ = next_packet_id_ >= id_ring_ ? 1 : next_packet_id_ + 1;
        ++inflight_;
    }
    if (!encoder_->encode(d, pending_)) {
        fail("could not encode PUBLISH");
        return;
    }
    // The payload is the last part of a PUBLISH: stamp this message's header into it.
    payload_header h;
    h.publisher = id_.index;
    h.sequence = sequence_;
    h.sent_ns = stamp_ns;
    h.write(pending_.data() + (pending_.size() - opt_.payload));
    ++sequence_;
    if (d.qos_level == mqtt::qos::at_most_once) ++acked_;  // nothing to wait for
}

void client::stop_publishing() {
    if (!publishing_) return;
    stop_sending_ = true;
    pace_timer_.cancel();
    check_done();
}

void client::abandon_outstanding() {
    if (id_.kind != role::publisher || done_ || failed_) return;
    stop_sending_ = true;
    pace_timer_.cancel();
    done_ = true;
    events_.on_publisher_done(*this);
}

void client::check_done() {
    if (done_ || failed_ || !publishing_ || !stop_sending_) return;
    if (inflight_ > 0 || !pending_.empty() || write_in_progress_) return;
    done_ = true;
    events_.on_publisher_done(*this);
}

}  // namespace sluice::bench

#include "broker/mqtt_protocol.hpp"
#include "broker/internal_topic.hpp"

#include <algorithm>
#include <exception>
#include <utility>

#include "broker/connection_list.hpp"
#include "broker/durable_log.hpp"
#include "broker/log.hpp"
#include "ingest/record_mapping.hpp"
#include "mqtt/encoder.hpp"
#include "mqtt/topic.hpp"
#include "mqtt/utf8.hpp"

namespace sluice::broker {

using mqtt::qos;
using mqtt::reason_code;
using std::chrono::milliseconds;

namespace {

constexpr auto closing_grace = milliseconds(3000);
constexpr auto backpressure_pause = std::chrono::microseconds(500);
constexpr std::size_t idle_buffer_keep = 16 * 1024;  // larger write buffers are freed when idle
constexpr auto idle_release_after = std::chrono::seconds(2);


bool is_sys_topic(const std::string& topic) {
    return topic.size() >= 4 && topic.compare(0, 4, "$SYS") == 0 &&
           (topic.size() == 4 || topic[4] == '/');
}

}  // namespace

// --- lifecycle ------------------------------------------------------------------------------

mqtt_protocol::mqtt_protocol(listener_state& listener)
    :       listener_(listener),
      last_packet_(steady_clock::now()),
      io_thread_(current_io_thread() <= 127 ? static_cast<std::int8_t>(current_io_thread()) : -1) {
    listener_.open.fetch_add(1, std::memory_order_relaxed);
    core().connection_opened();
}

mqtt_protocol::~mqtt_protocol() {
    // Normally close() ran on our thread; this covers destruction at shutdown.
    if (linked_) unlink_connection(this);
    if (state_ != state::closed && session_) {
        std::unique_ptr<mqtt::will_message> none;
        session_->detach(this, session_expiry_, none);
    }
    if (pre_connect_bytes_) core().release_unauthenticated(pre_connect_bytes_);
    listener_.open.fetch_sub(1, std::memory_order_relaxed);
    core().connection_closed();
}

void mqtt_protocol::opened() {
    // Only io threads have a housekeeping list. A connection is unlinked by close() on its own
    // thread; one made off the pool (unit tests) is never linked, so whichever thread drops its
    // last reference (a store writer's callback, say) has no list to fix up.
    if (io_thread_ < 0) return;
    link_connection(this);
    linked_ = true;
}

void mqtt_protocol::wake() {
    // Any thread, session mu held: only post, batched per io thread.
    if (io_thread_ >= 0) {
        if (auto self = weak_from_this().lock())
            post_wakeup(core().pool(), io_thread_, std::move(self));
        return;
    }
    transport_post([](mqtt_protocol& self, std::uintptr_t) { self.on_wakeup(); }, 0);
}

void mqtt_protocol::receiver_drained() {
    transport_post(
        [](mqtt_protocol& self, std::uintptr_t) {
            // A pause that already ended (its timer, or an earlier wake-up) needs nothing.
            if (self.state_ == state::connected && self.backpressure_paused_) {
                self.backoff_shift_ = 0;  // the receiver keeps up again: next pause short
                self.on_pause_over();
            }
        },
        0);
}

void mqtt_protocol::kick(reason_code reason, bool session_continues) {
    kicked_.store(session_continues ? 1 : 2, std::memory_order_relaxed);
    transport_post(
        [](mqtt_protocol& self, std::uintptr_t arg) {
            self.on_kick(static_cast<reason_code>(arg & 0xFF), (arg >> 8) != 0);
        },
        static_cast<std::uintptr_t>(reason) | (session_continues ? 0x100u : 0u));
}

void mqtt_protocol::disconnect_requested() {
    transport_post(
        [](mqtt_protocol& self, std::uintptr_t) {
            if (self.state_ == state::connected)
                self.disconnect(reason_code::administrative_action, "disconnected by an operator");
        },
        0);
}

owner_details mqtt_protocol::details() const {
    // version_ and keep_alive_ are set before the session is attached (under its mu), and
    // never change after: reading them under the same mu is ordered after those writes.
    return {listener_.settings.name, static_cast<std::uint8_t>(version_), keep_alive_};
}

void mqtt_protocol::on_kick(reason_code reason, bool) {
    if (state_ == state::closed) return;
    // Taken over: the session has already left us.
    publish_will_after_takeover();
    disconnect(reason, "session taken over");
}

void mqtt_protocol::publish_will_after_takeover() {
    // The new connection arrived within any will delay, so a delayed will is never sent, even
    // when the new connection starts a clean session (MQTT-3.1.2-8, 3.1.3-9); a will without
    // delay goes out as the old connection closes.
    if (will_ && will_->props.will_delay_interval.value_or(0) == 0)
        core().publish_will(std::move(*will_));
    will_.reset();
}

void mqtt_protocol::check_timeouts(steady_clock::time_point now) {
    auto self = shared_from_this();
    switch (state_) {
        case state::awaiting_connect:
            // Counted from accept: bytes trickling in do not extend it, a whole CONNECT does.
            // A login the broker itself holds (limiter delay, password check) is not the
            // client's delay; a SCRAM exchange waiting for the client is.
            if (auth_wait_) break;
            if (now - last_packet_ > milliseconds(core().settings().connect_timeout_ms))
                close_silently("no CONNECT within the connect timeout");
            break;
        case state::connected:
            if (keep_alive_ && now - last_packet_ > milliseconds(keep_alive_ * 1500u)) {
                disconnect(reason_code::keep_alive_timeout, "keep alive timeout");
            } else if (now - last_packet_ > idle_release_after) {
                // An idle connection holds no decoder (nor the largest chunk it was fed) and no
                // write buffers (not even the few bytes of its CONNACK or last PINGRESP); the
                // next read makes a fresh decoder for the same level and limit, the next
                // packet a fresh buffer.
                if (decoder_ && decoder_->buffered() == 0) decoder_.reset();
                if (!writing_ && !has_output()) wbuf_.reset();
                // Nor a drained session queue's buffer, which it keeps between bursts.
                if (session_) session_->release_idle_memory(this);
            }
            break;
        case state::closing:
            if (now - last_packet_ > closing_grace) close();
            break;
        case state::closed:
            break;
    }
}

void mqtt_protocol::shut_down() {
    auto self = shared_from_this();
    // A client that did not send a normal DISCONNECT has its will published now, whatever its
    // delay: the server is going away.
    if (will_ && state_ == state::connected) core().publish_will(std::move(*will_));
    will_.reset();
    if (state_ == state::connected)
        disconnect(reason_code::server_shutting_down, "shutdown");
    else
        close();
}

// --- reading --------------------------------------------------------------------------------

bool mqtt_protocol::may_read() const {
    return !read_paused_ && !backpressure_paused_ && !log_paused_ && !auth_wait_ && !durable_wait_ &&
           (state_ == state::awaiting_connect || state_ == state::connected);
}

bool mqtt_protocol::on_bytes(std::span<const std::uint8_t> bytes) {
    if (state_ == state::closed || state_ == state::closing) return false;
    try {
        core().stats().add_local(&counter_slot::bytes_in, bytes.size());
        const bool before_connect = state_ == state::awaiting_connect;
        if (before_connect) {
            // Nobody is authenticated yet: what such connections may hold is bounded, all
            // together (a socket per half-sent 1 MB CONNECT would otherwise pin memory).
            if (!core().reserve_unauthenticated(bytes.size())) {
                log_warn("closing ", transport_peer(),
                         ": unauthenticated connections hold too many bytes");
                close_silently("unauthenticated byte budget");
                return false;
            }
            pre_connect_bytes_ += static_cast<std::uint32_t>(bytes.size());
        }
        if (!decoder_) {
            // Before CONNECT the decoder learns the protocol level from it.
            std::optional<mqtt::protocol_version> level;
            if (state_ != state::awaiting_connect) level = version_;
            decoder_ = std::make_unique<mqtt::stream_decoder>(mqtt::decoder_options{
                mqtt::decoder_role::server, core().settings().max_packet_size, level});
        }
        decoder_->feed(bytes);
        if (!process_buffered()) return false;
        // Most clients send nothing for a while after their CONNECT: hold no decoder meanwhile
        // (the next read makes one), so its memory serves the next connection at once.
        if (before_connect && state_ == state::connected && decoder_ && decoder_->buffered() == 0)
            decoder_.reset();
        if (saturated()) read_paused_ = true;  // resumed by end_write once the queue drains
        flush();
        return may_read();
    } catch (const std::exception& e) {
        log_error("connection ", client_id(), ": internal error: ", e.what(), "; closing it");
        close();
        return false;
    }
}

bool mqtt_protocol::resume() {
    if (!may_read()) return false;
    if (!process_buffered()) return false;
    flush();
    return may_read();
}

bool mqtt_protocol::process_buffered() {
    mqtt::packet p;
    // One clock read for all the packets of one read: at full speed a read brings dozens, and
    // a read per packet cost several per cent of the broker's time. The stamp serves keep
    // alive (whole packets only, MQTT 3.1.2.10) and is the receive time of their messages.
    bool stamped = false;
    for (;;) {
        const std::size_t before = decoder_ ? decoder_->buffered() : 0;
        auto status = decoder_ ? decoder_->next(p) : mqtt::decode_status::need_more;
        if (status == mqtt::decode_status::need_more) return true;
        if (status == mqtt::decode_status::error) {
            on_decode_error();
            return false;
        }
        count_packet_in(p, before - decoder_->buffered());
        if (!stamped) {
            last_packet_ = steady_clock::now();
            stamped = true;
        }
        handle(p);
        if (state_ == state::closed || state_ == state::closing) return false;
        if (auth_wait_) {
            // The rest waits in the decoder until the login is decided (after_auth_wait).
            flush();
            return false;
        }
        if (durable_wait_) {
            flush();  // the rest waits until the session change is durable (on_durable)
            return false;
        }
        if (throttled_) {
            // A receiver of ours is falling behind: leave the rest in the decoder and
            // come back a little later instead of queueing into it until it has to drop.
            throttled_ = false;
            backpressure_paused_ = true;
            flush();
            // Back off exponentially while the receiver stays congested (0.5 ms .. 64 ms).
            transport_pause(backpressure_pause * (1u << backoff_shift_));
            if (backoff_shift_ < 7) ++backoff_shift_;
            return false;
        }
        if (rare_ && rare_->link && log_wants_pause()) {
            // Appends of ours are outstanding beyond what we may hold: the rest waits in the
            // decoder (and the socket) until one completes (on_log_result, on_log_progress).
            log_paused_ = true;
            flush();
            return false;
        }
    }
}

void mqtt_protocol::on_pause_over() {
    if (auth_ && auth_->step == connection_auth::phase::delayed) return start_login();
    if (state_ != state::connected || !backpressure_paused_) return;
    if (rare_ && rare_->parked && !offer_parked(false)) {
        // Still refused: keep the rest unread and try again after a longer pause.
        transport_pause(backpressure_pause * (1u << backoff_shift_));
        if (backoff_shift_ < 7) ++backoff_shift_;
        return;
    }
    backpressure_paused_ = false;
    transport_read();
}

void mqtt_protocol::on_decode_error() {
    const auto& err = decoder_->error();
    // A malformed packet is always worth a line (a broken device, a fuzzer, an attack), but a
    // flood of them must not flood the log.
    static log_rate_limit malformed_packets;
    const std::string peer = transport_peer();
    log_limited(malformed_packets, log_level::warn, {client_id(), peer}, "malformed packet: ",
                mqtt::to_string(err.code), " (", err.detail, ")");
    // The codec says what the failing packet's level wants sent before the close
    // (mqtt/decoder.hpp): a CONNACK for a bad CONNECT at 5.0 and for the two 3.1.1 cases that
    // have a return code, nothing for the other bad 3.1.1 CONNECTs (MQTT-3.1.4-1), a
    // DISCONNECT for later packets at 5.0.
    switch (err.response) {
        case mqtt::error_response::connack:
            version_ = decoder_->version().value_or(mqtt::protocol_version::v3_1_1);
            return connack_error(err.code);
        case mqtt::error_response::disconnect:
            if (state_ == state::connected) return disconnect(err.code, "bad packet");
            return close_silently("bad packet");
        case mqtt::error_response::close:
            return close_silently("bad packet");
    }
}

void mqtt_protocol::handle(mqtt::packet& p) {
    const auto type = mqtt::type_of(p);
    if (state_ == state::awaiting_connect && type != mqtt::packet_type::connect &&
        type != mqtt::packet_type::auth && type != mqtt::packet_type::disconnect)
        // During a SCRAM exchange the client may send only AUTH or DISCONNECT (MQTT-3.1.2-30).
        return connack_error(reason_code::protocol_error);
    switch (type) {
        case mqtt::packet_type::connect:
            return on_connect(std::get<mqtt::connect>(p));
        case mqtt::packet_type::publish:
            return on_publish(std::get<mqtt::publish>(p));
        case mqtt::packet_type::puback:
            return on_puback(std::get<mqtt::puback>(p));
        case mqtt::packet_type::pubrec:
            return on_pubrec(std::get<mqtt::pubrec>(p));
        case mqtt::packet_type::pubrel:
            return on_pubrel(std::get<mqtt::pubrel>(p));
        case mqtt::packet_type::pubcomp:
            return on_pubcomp(std::get<mqtt::pubcomp>(p));
        case mqtt::packet_type::subscribe:
            return on_subscribe(std::get<mqtt::subscribe>(p));
        case mqtt::packet_type::unsubscribe:
            return on_unsubscribe(std::get<mqtt::unsubscribe>(p));
        case mqtt::packet_type::pingreq:
            return on_pingreq();
        case mqtt::packet_type::disconnect:
            return on_disconnect(std::get<mqtt::disconnect>(p));
        case mqtt::packet_type::auth:
            return on_auth(std::get<mqtt::auth>(p));
        default:
            // The decoder (role server) rejects packets only a server sends.
            return disconnect(reason_code::protocol_error, "unexpected packet");
    }
}

void mqtt_protocol::on_connect(mqtt::connect& c) {
    if (state_ != state::awaiting_connect || (auth_ && auth_->pending))
        return disconnect(reason_code::protocol_error, "second CONNECT");
    const auto& cfg = core().settings();
    version_ = c.version;
    const bool v5 = version_ == mqtt::protocol_version::v5;

    if (c.client_id.empty() && !v5 && !c.clean_start)
        return connack_error(reason_code::client_identifier_not_valid);
    if (c.will) {
        if (c.will->retain && !cfg.retain_available)
            return connack_error(reason_code::retain_not_supported);
        if (static_cast<std::uint8_t>(c.will->qos_level) > cfg.maximum_qos)
            return connack_error(reason_code::qos_not_supported);
    }
    // A password check or a SCRAM exchange may finish later: accept_connect runs then.
    if (authenticate(c)) accept_connect(c);
}

void mqtt_protocol::accept_connect(mqtt::connect& c) {
    const auto& cfg = core().settings();
    const bool v5 = version_ == mqtt::protocol_version::v5;
    bool assigned = false;
    if (c.client_id.empty()) {
        c.client_id = core().assign_client_id();
        assigned = true;
    }

    keep_alive_ = c.keep_alive;
    bool keep_alive_lowered = false;
    if (keep_alive_ > cfg.max_keep_alive || (keep_alive_ == 0 && cfg.max_keep_alive < 65535)) {
        keep_alive_ = cfg.max_keep_alive;
        keep_alive_lowered = true;
    }
    std::uint32_t requested_expiry =
        v5 ? c.props.session_expiry_interval.value_or(0) : (c.clean_start ? 0 : never_expires);
    session_expiry_ = std::min(requested_expiry, cfg.max_session_expiry);
    out_window_ =
        std::min<std::uint16_t>(c.props.receive_maximum.value_or(65535), cfg.max_inflight);
    client_max_packet_size_ = c.props.maximum_packet_size.value_or(268'435'460);
    client_alias_max_ = c.props.topic_alias_maximum.value_or(0);
    if (c.will) will_ = std::make_unique<mqtt::will_message>(std::move(*c.will));

    // The CONNECT is complete: these bytes no longer count as unauthenticated.
    core().release_unauthenticated(std::exchange(pre_connect_bytes_, 0));
    auto opened =
        core().open_session(c.client_id, c.clean_start, this, session_expiry_, will_.get());
    session_ = std::move(opened.s);
    if (will_ && !publish_allowed(will_->topic)) {
        // Checked once, here: a will the client may not publish is never stored nor sent.
        log_warn("client ", client_id(), ": will to ", will_->topic,
                 " denied by the ACL; it will not be published");
        will_.reset();
    }
    state_ = state::connected;
    counted_connected_ = true;
    core().stats().clients_connected.fetch_add(1, std::memory_order_relaxed);
    listener_.connected[version_slot(static_cast<std::uint8_t>(version_))].fetch_add(1, std::memory_order_relaxed);
    listener_.connects[version_slot(static_cast<std::uint8_t>(version_))].fetch_add(1, std::memory_order_relaxed);

    mqtt::connack ack;
    ack.session_present = opened.present;
    ack.reason = reason_code::success;
    if (v5) {
        auto& p = ack.props;
        if (assigned) p.assigned_client_identifier = client_id();
        if (keep_alive_lowered) p.server_keep_alive = keep_alive_;
        if (session_expiry_ != requested_expiry) p.session_expiry_interval = session_expiry_;
        p.receive_maximum = cfg.receive_maximum;
        if (cfg.maximum_qos < 2) p.maximum_qos = static_cast<qos>(cfg.maximum_qos);
        p.retain_available = cfg.retain_available;
        p.maximum_packet_size = cfg.max_packet_size;
        p.topic_alias_maximum = cfg.topic_alias_maximum;
        p.wildcard_subscription_available = true;
        p.subscription_identifier_available = true;
        p.shared_subscription_available = true;
        // Request/response: a topic prefix only this client is expected to subscribe under.
        if (c.props.request_response_information.value_or(false))
            p.response_information = "sluice/response/" + client_id();
        if (auth_ && !auth_->method.empty()) {  // the end of a SCRAM exchange: server-final
            p.authentication_method = auth_->method;
            p.authentication_data = std::exchange(auth_->connack_data, {});
        }
    }
    if (mqtt::encoded_size(ack, version_) > client_max_packet_size_) {
        // The client cannot take even our CONNACK (MQTT-3.1.2-24): close instead of sending it.
        return close_silently("CONNACK larger than the client's Maximum Packet Size");
    }
    auto finish = [this, ack = std::move(ack), present = opened.present](reason_code rc) {
        connack_waiting_ = false;
        if (mqtt::is_error(rc)) return connack_error(rc);  // the session could not be recorded
        send(ack);
        connack_pending_ = true;
        log_debug("client ", client_id(), " connected (level ", static_cast<int>(version_),
                  present ? ", session resumed)" : ")");
        pump(/*resend=*/present);
        flush();
    };
    // A persistent session is announced only once its record is durable.
    if (opened.durable) {
        connack_waiting_ = true;
        return wait_durable(std::move(opened.durable), std::move(finish));
    }
    finish(reason_code::success);
}

// --- PUBLISH from the client ----------------------------------------------------------------

std::size_t mqtt_protocol::inbound_unacknowledged() const {
    return (rare_ ? rare_->acks.pending_qos1() : 0) +
           (session_ ? session_->qos2_pending_count() : 0);
}

void mqtt_protocol::complete_ack(ack_queue::ticket t, reason_code rc) {
    auto& acks = rare().acks;
    acks.complete(t, rc);
    acks.drain([this](std::uint16_t id, qos q, reason_code code) {
        if (state_ == state::closed) return;
        if (mqtt::is_error(code) && q == qos::exactly_once)
            session_->release_qos2(this, id);  // a failed PUBREC ends the exchange (4.3.3)
        if (mqtt::is_error(code) && version_ != mqtt::protocol_version::v5) {
            // 3.1.1 has no failure code: the client retransmits after reconnecting.
            log_warn("closing ", client_id(), ": a publish could not be logged");
            return close();
        }
        if (q == qos::at_least_once)
            send(mqtt::puback{id, code, {}});
        else
            send(mqtt::pubrec{id, code, {}});
    });
}

void mqtt_protocol::on_publish(mqtt::publish& p) {
    if (state_ != state::connected) return;
    const auto& cfg = core().settings();
    const bool v5 = version_ == mqtt::protocol_version::v5;
    if (static_cast<std::uint8_t>(p.qos_level) > cfg.maximum_qos)
        return disconnect(reason_code::qos_not_supported, "QoS above maximum");
    if (p.retain && !cfg.retain_available)
        return disconnect(reason_code::retain_not_supported, "retain not available");

    if (v5 && p.props.topic_alias) {
        std::uint16_t alias = *p.props.topic_alias;
        if (alias == 0 || alias > cfg.topic_alias_maximum)
            return disconnect(reason_code::topic_alias_invalid, "topic alias out of range");
        auto& aliases_in = rare().aliases_in;
        if (aliases_in.empty()) aliases_in.resize(cfg.topic_alias_maximum);
        auto& slot = aliases_in[alias - 1];
        if (!p.topic.empty())
            slot = p.topic;
        else if (slot.empty())
            return disconnect(reason_code::protocol_error, "unknown topic alias");
        else
            p.topic = slot;
        p.props.topic_alias.reset();
    } else if (p.topic.empty()) {
        return disconnect(reason_code::protocol_error, "empty topic without alias");
    }

    const bool bad_payload = v5 && p.props.payload_format_indicator == mqtt::payload_format::utf8 &&
                             !mqtt::valid_utf8(p.payload.view());
    // $SYS/... belongs to the broker: a client may not publish there (5.0 is told so with
    // 0x87; 3.1.1 has no way to say it, so the message is acknowledged and dropped).
    // The ACL (docs/security.md) refuses the same way: never routed, never logged.
    const bool denied = acl_active() && !publish_allowed(p.topic);
    if (denied) note_denied_publish(p.topic);
    const bool refused = denied || is_sys_topic(p.topic);
    const reason_code refusal =
        v5 ? reason_code::not_authorized : reason_code::success;
    const std::uint16_t id = p.packet_id;

    switch (p.qos_level) {
        case qos::at_most_once: {
            if (bad_payload)
                return disconnect(reason_code::payload_format_invalid, "payload is not UTF-8");
            if (refused) return;
            log_position logged;
            if (const auto* rule = logging_rule(p.topic)) logged = log_publish(p, *rule, nullptr);
            route(p, nullptr, std::move(logged));
            return;
        }
        case qos::at_least_once: {
            if (session_->qos2_pending(id))
                return disconnect(reason_code::protocol_error,
                                  "packet id in use by a QoS 2 exchange");
            // Inbound QoS 1 counts against our Receive Maximum as QoS 2 does (3.3.4).
            if (inbound_unacknowledged() >= cfg.receive_maximum)
                return disconnect(reason_code::receive_maximum_exceeded,
                                  "receive maximum exceeded");
            auto t = rare().acks.push(id, qos::at_least_once);
            if (bad_payload) return complete_ack(t, reason_code::payload_format_invalid);
            if (refused) return complete_ack(t, refusal);
            if (const auto* rule = logging_rule(p.topic)) {
                // The same PUBLISH again (DUP after a reconnect): its first append decides, and
                // no second record is written (nor is it routed again).
                if (p.dup)
                    if (auto first = session_->find_inbound(this, id); first && !first->failed())
                        return first->wait(ack_when_logged(t, true));
                std::shared_ptr<append_outcome> outcome = std::make_shared<append_outcome>();
                auto logged = log_publish(p, *rule, outcome);
                std::vector<std::shared_ptr<append_outcome>> durable;  // allocates only if used
                const bool matched = route(p, &durable, std::move(logged));
                if (!durable.empty()) {
                    durable.push_back(std::move(outcome));
                    outcome = join_outcomes(std::move(durable));
                }
                session_->remember_inbound(this, id, outcome, cfg.receive_maximum);
                return outcome->wait(ack_when_logged(t, matched));
            }
            std::vector<std::shared_ptr<append_outcome>> durable;
            bool matched = route(p, &durable);
            // Persistent receivers' records (and a retained record) must be durable first.
            if (!durable.empty())
                return join_outcomes(std::move(durable))->wait(ack_when_logged(t, matched));
            return complete_ack(
                t, matched ? reason_code::success : reason_code::no_matching_subscribers);
        }
        case qos::exactly_once: {
            // Until PUBREL, a PUBLISH with the same id is acknowledged again and not delivered
            // again (spec 4.3.3), whether or not it carries DUP.
            const std::size_t qos1 = rare_ ? rare_->acks.pending_qos1() : 0;
            const std::size_t room = cfg.receive_maximum > qos1 ? cfg.receive_maximum - qos1 : 0;
            auto v = session_->accept_qos2(this, id, room, !bad_payload && !refused);
            if (v == session::qos2_result::not_owner) return;  // taken over: the kick is coming
            if (v == session::qos2_result::over_window)
                return disconnect(reason_code::receive_maximum_exceeded,
                                  "receive maximum exceeded");
            auto t = rare().acks.push(id, qos::exactly_once);
            const auto* rule = bad_payload || refused ? nullptr : logging_rule(p.topic);
            if (v == session::qos2_result::repeat) {
                // Its first append decides the PUBREC; no second record is written.
                if (auto first = rule ? session_->find_inbound(this, id) : nullptr)
                    return first->wait(ack_when_logged(t, true));
                return complete_ack(t, reason_code::success);
            }
            if (bad_payload) return complete_ack(t, reason_code::payload_format_invalid);
            if (refused) return complete_ack(t, refusal);
            // The id waiting for PUBREL is session state: the PUBREC waits for its record, so
            // a PUBREL after a restart still completes the exchange (exactly once).
            std::vector<std::shared_ptr<append_outcome>> durable;  // allocates only if used
            if (session_expiry_ != 0)
                if (auto rec = core().save_session(session_, will_.get()))
                    durable.push_back(std::move(rec));
            if (rule) {
                std::shared_ptr<append_outcome> outcome = std::make_shared<append_outcome>();
                auto logged = log_publish(p, *rule, outcome);
                const bool matched = route(p, &durable, std::move(logged));
                if (!durable.empty()) {
                    durable.push_back(std::move(outcome));
                    outcome = join_outcomes(std::move(durable));
                }
                session_->remember_inbound(this, id, outcome, cfg.receive_maximum);
                return outcome->wait(ack_when_logged(t, matched));
            }
            bool matched = route(p, &durable);
            if (!durable.empty())
                return join_outcomes(std::move(durable))->wait(ack_when_logged(t, matched));
            return complete_ack(
                t, matched ? reason_code::success : reason_code::no_matching_subscribers);
        }
    }
}

// --- durable ingest -------------------------------------------------------------------------

const ingest::ingest_rule* mqtt_protocol::logging_rule(const std::string& topic) const {
    durable_log* log = core().log();
    return log ? log->rules().logging_rule(topic) : nullptr;
}

log_position mqtt_protocol::log_publish(const mqtt::publish& p, const ingest::ingest_rule& rule,
                                        const std::shared_ptr<append_outcome>& outcome) {
    durable_log& log = *core().log();
    auto fail = [&](reason_code rc) {
        if (outcome) outcome->finish(rc);
        return log_position{};
    };
    auto& link = rare().link;
    if (!link) {
        link = std::make_shared<append_link>();
        link->conn = shared_from_this();
    }
    const int index = ingest::partition_for(rule, p.topic, client_id());
    // A QoS 0 record is never replayed (an offline session keeps no QoS 0): it stays out of
    // the topic summaries, and its publish takes no reference to one.
    auto [part, summary] = log.target(rule, index, p.qos_level != qos::at_most_once);
    if (!part) return fail(reason_code::unspecified_error);
    std::optional<std::int64_t> fresh;
    if (!session_->has_producer()) fresh = log.next_producer_id();
    auto id = session_->assign_delivery(this, rule.log_topic, index, fresh);
    if (!id) return fail(reason_code::unspecified_error);
    const store::record r = ingest::to_record(
        p, client_id(), wall_ms(), *id, ingest::partition_key(rule.key, p.topic, client_id()));
    auto batch = ingest::build_producer_batch({&r, 1}, *id, store::compression::none);
    if (!batch) return fail(reason_code::unspecified_error);
    const std::uint64_t bytes = batch->size();
    log.add_pending(bytes);
    link->outstanding.fetch_add(1);
    // The topic's levels hashed here, so the writer thread adds the record to its partition's
    // summary without the topic (broker/topic_summary.hpp).
    const auto tokens = summary ? topic_summary::of_topic(p.topic) : topic_summary::tokens{};
    // Runs on the store's writer thread: touches only the log's atomics, the session (its own
    // lock), the outcome, whose waiters post to their connections, and the summary (its own).
    log_position logged{part, 0};
    logged.ticket = part->append(std::move(*batch), [logp = &log, link, outcome, bytes, id = *id,
                                     s = session_, summary = std::move(summary),
                                     tokens](const store::append_result& res) {
        logp->release_pending(bytes);
        logp->report_result(res.error);
        if (res.error != store::errc::ok)
            s->producer_failed(id);
        else if (summary)
            summary->add(res.base_offset.value, tokens);
        if (outcome)
            outcome->finish(res.error == store::errc::ok ? reason_code::success
                                                         : failure_reason(res.error));
        link->outstanding.fetch_sub(1);
        if (link->waiting.exchange(false))
            if (auto c = link->conn.lock())
                c->transport_post([](mqtt_protocol& self, std::uintptr_t) { self.on_log_progress(); },
                                  0);
    });
    return logged;
}

append_outcome::waiter mqtt_protocol::ack_when_logged(ack_queue::ticket t, bool matched) {
    std::weak_ptr<mqtt_protocol> weak = shared_from_this();
    return [weak = std::move(weak), t, matched](reason_code rc) {
        if (rc == reason_code::success && !matched) rc = reason_code::no_matching_subscribers;
        if (auto c = weak.lock()) c->log_result(t, rc);
    };
}

void mqtt_protocol::log_result(ack_queue::ticket t, reason_code rc) {
    static_assert(sizeof(std::uintptr_t) >= 8, "a ticket and a reason code in one argument");
    transport_post(
        [](mqtt_protocol& self, std::uintptr_t arg) {
            self.on_log_result(static_cast<ack_queue::ticket>(arg & 0xFFFFFFFFu),
                               static_cast<reason_code>((arg >> 32) & 0xFF));
        },
        static_cast<std::uintptr_t>(t) | (static_cast<std::uintptr_t>(rc) << 32));
}

void mqtt_protocol::on_log_result(ack_queue::ticket t, reason_code rc) {
    if (state_ != state::connected) return;
    try {
        complete_ack(t, rc);
        on_log_progress();
        flush();
    } catch (const std::exception& e) {
        log_error("connection ", client_id(), ": internal error: ", e.what(), "; closing it");
        close();
    }
}

void mqtt_protocol::on_log_progress() {
    if (state_ != state::connected || !log_paused_) return;
    if (log_wants_pause()) return;
    log_paused_ = false;
    transport_read();
}

bool mqtt_protocol::log_wants_pause() {
    if (!rare_) return false;
    if (rare_->acks.size() >= core().settings().receive_maximum) return true;
    auto& link = rare_->link;
    durable_log* log = core().log();
    if (!link || !log || !log->over_budget()) return false;
    // Paused only while an append of ours is outstanding: its completion wakes us. Set the
    // flag first, then look: a completion in between sees the flag (append_link).
    link->waiting.store(true);
    if (link->outstanding.load() > 0) return true;
    link->waiting.store(false);
    return false;
}

bool mqtt_protocol::route(mqtt::publish& p, std::vector<std::shared_ptr<append_outcome>>* durable,
                          log_position logged) {
    auto& slot = core().stats().local();
    broker_stats::add(slot, slot.messages_in, 1);
    broker_stats::add(slot, slot.messages_in_qos[static_cast<int>(p.qos_level) % 3], 1);
    bool congested = false;
    // QoS 1/2 (the callers that wait for outcomes): a full receiver that is progressing
    // refuses rather than drops, and the message is parked until it takes it.
    thread_local std::vector<refused_offer> refused;
    refused.clear();
    // A receiver that slows us down remembers us and ends our pause once it drains.
    session::publishing_as publishing(this);
    bool matched =
        // Received when its read was processed (process_buffered stamps last_packet_).
        core().publish(make_message(std::move(p), session_.get(), last_packet_, std::move(logged)),
                       &congested, durable, client_id(), durable ? &refused : nullptr) > 0;
    if (!refused.empty()) {
        // Reading pauses (congested is set) and on_pause_over offers again; the
        // acknowledgement waits for every refused offer to be taken (or dropped).
        auto& parked = rare().parked;
        parked = std::make_unique<rare_state::parked_publish>();
        parked->offers = std::move(refused);
        durable->push_back(parked->done);
        broker_stats::add(slot, slot.parked, 1);
    }
    if (congested)
        throttled_ = true;
    else
        backoff_shift_ = 0;
    return matched;
}

bool mqtt_protocol::offer_parked(bool last) {
    auto& parked = *rare_->parked;
    {
        session::publishing_as publishing(this);
        core().offer_parked(parked.offers, last, &parked.records);
    }
    if (!parked.offers.empty()) return false;
    auto done = std::move(parked.done);
    auto records = std::move(parked.records);
    rare_->parked.reset();
    // Persistent receivers' records of it, made now, are durable before the acknowledgement.
    join_outcomes(std::move(records))->wait([done](reason_code rc) { done->finish(rc); });
    return true;
}

// --- acknowledgements from the client -------------------------------------------------------

void mqtt_protocol::on_puback(const mqtt::puback& p) {
    if (session_->ack(this, p.packet_id)) pump();
}

void mqtt_protocol::on_pubrec(const mqtt::pubrec& p) {
    switch (session_->release(this, p.packet_id, mqtt::is_error(p.reason))) {
        case session::pubrec_result::not_owner:
            return;
        case session::pubrec_result::unknown_id:
            return send(mqtt::pubrel{p.packet_id, reason_code::packet_identifier_not_found, {}});
        case session::pubrec_result::released:
            // A persistent session's record of it must say "received" first (session_log).
            if (session_log::has_pending())
                return send_when_durable(join_outcomes(session_log::take_pending()), p.packet_id,
                                         true);
            return send(mqtt::pubrel{p.packet_id, reason_code::success, {}});
        case session::pubrec_result::refused:
            return pump();  // the receiver refused it: the exchange ends here
    }
}

void mqtt_protocol::on_pubrel(const mqtt::pubrel& p) {
    auto found = session_->release_qos2(this, p.packet_id);
    if (!found) return;
    if (*found && session_expiry_ != 0)
        if (auto durable = core().save_session(session_, will_.get()))
            return send_when_durable(durable, p.packet_id, false);
    send(mqtt::pubcomp{
        p.packet_id, *found ? reason_code::success : reason_code::packet_identifier_not_found, {}});
}

void mqtt_protocol::on_pubcomp(const mqtt::pubcomp& p) {
    if (session_->complete(this, p.packet_id)) pump();
}

// --- SUBSCRIBE / UNSUBSCRIBE / PINGREQ / DISCONNECT -----------------------------------------

void mqtt_protocol::on_subscribe(mqtt::subscribe& s) {
    if (session_->qos2_pending(s.packet_id))
        return disconnect(reason_code::protocol_error, "packet id in use by a QoS 2 exchange");
    const auto& cfg = core().settings();
    std::uint32_t sub_id =
        s.props.subscription_identifiers.empty() ? 0 : s.props.subscription_identifiers.front();
    mqtt::suback ack;
    ack.packet_id = s.packet_id;
    struct retained_request {
        std::string filter;
        subscription_record rec;
    };
    std::vector<retained_request> want_retained;
    for (auto& sub : s.subscriptions) {
        auto parts = mqtt::parse_topic_filter(sub.filter);
        if (!parts) {
            ack.reasons.push_back(reason_code::topic_filter_invalid);
            continue;
        }
        if (parts->shared && sub.options.no_local)
            return disconnect(reason_code::protocol_error, "No Local on a shared subscription");
        if (!subscribe_allowed(sub.filter)) {  // 0x87 (0x80 before 5.0: the encoder maps it)
            ack.reasons.push_back(reason_code::not_authorized);
            continue;
        }
        subscription_record rec;
        rec.options = sub.options;
        rec.options.max_qos = std::min(sub.options.max_qos, static_cast<qos>(cfg.maximum_qos));
        rec.subscription_id = sub_id;
        auto existed = core().subscribe(session_, this, sub.filter, rec);
        if (!existed) return;  // no longer ours (taken over)
        ack.reasons.push_back(static_cast<reason_code>(rec.options.max_qos));
        const auto h = rec.options.handling;
        const bool wants = !parts->shared &&
                           (h == mqtt::retain_handling::send_on_subscribe ||
                            (h == mqtt::retain_handling::send_if_new_subscription && !*existed));
        // The same filter twice in one SUBSCRIBE: the last one stands, and its retained
        // messages are sent once.
        std::erase_if(want_retained, [&](const retained_request& w) { return w.filter == sub.filter; });
        if (wants) want_retained.push_back({std::move(sub.filter), rec});
    }
    auto finish = [this, ack = std::move(ack),
                   want_retained = std::move(want_retained)](reason_code rc) {
    if (mqtt::is_error(rc)) return on_session_error(rc, "subscription not recorded");
    send(ack);
    if (!want_retained.empty()) {
        auto now = steady_clock::now();
        const queue_limits& limits = core().limits();
        std::vector<message_ptr> found;
        std::vector<delivery> ds;
        for (const auto& w : want_retained) {
            found.clear();
            ds.clear();
            core().retained().collect(w.filter, now, found);
            for (auto& m : found) {
                delivery d;
                d.qos_level = std::min(m->qos_level(), w.rec.options.max_qos);
                d.retain = true;  // retained messages sent on subscribe keep the flag
                if (w.rec.subscription_id) d.subscription_ids.push_back(w.rec.subscription_id);
                d.msg = std::move(m);
                ds.push_back(std::move(d));
            }
            // The session's queue limits apply here as to any other message.
            auto queued = session_->enqueue(this, ds, limits);
            if (!queued) return;
            if (*queued < ds.size())
                core().stats().add_local(&counter_slot::dropped, ds.size() - *queued);
        }
        session_log::take_pending();  // recorded for a persistent session; nobody waits
    }
    pump();
    };
    // A SUBACK whose subscription a crash could lose would be a lie: it waits for the record.
    if (auto durable = core().save_session(session_, will_.get()))
        return wait_durable(std::move(durable), std::move(finish));
    finish(reason_code::success);
}

void mqtt_protocol::on_unsubscribe(const mqtt::unsubscribe& u) {
    if (session_->qos2_pending(u.packet_id))
        return disconnect(reason_code::protocol_error, "packet id in use by a QoS 2 exchange");
    mqtt::unsuback ack;
    ack.packet_id = u.packet_id;
    for (const auto& f : u.filters) {
        auto existed = core().unsubscribe(session_, this, f);
        if (!existed) return;
        ack.reasons.push_back(*existed ? reason_code::success
                                       : reason_code::no_subscription_existed);
    }
    if (auto durable = core().save_session(session_, will_.get()))
        return wait_durable(std::move(durable), [this, ack = std::move(ack)](reason_code rc) {
            if (mqtt::is_error(rc)) return on_session_error(rc, "unsubscribe not recorded");
            send(ack);
            pump();
        });
    send(ack);
}

void mqtt_protocol::on_pingreq() {
    send(mqtt::pingresp{});
}

void mqtt_protocol::on_disconnect(const mqtt::disconnect& d) {
    if (version_ == mqtt::protocol_version::v5 && d.props.session_expiry_interval) {
        if (session_expiry_ == 0 && *d.props.session_expiry_interval != 0)
            return disconnect(reason_code::protocol_error, "session expiry set on DISCONNECT");
        session_expiry_ =
            std::min(*d.props.session_expiry_interval, core().settings().max_session_expiry);
    }
    // A normal DISCONNECT discards the will; 0x04 asks for it to be published.
    if (d.reason != reason_code::disconnect_with_will_message) will_.reset();
    close();
}

// --- writing --------------------------------------------------------------------------------

void mqtt_protocol::on_wakeup() {
    // While a session change waits to be durable nothing is sent (not even before the
    // CONNACK); the continuation pumps.
    if (state_ != state::connected || durable_wait_) return;
    try {
        pump();
        flush();
    } catch (const std::exception& e) {
        log_error("connection ", client_id(), ": internal error: ", e.what(), "; closing it");
        close();
    }
}

mqtt_protocol::rare_state& mqtt_protocol::rare() {
    if (!rare_) rare_ = std::make_unique<rare_state>();
    return *rare_;
}

boost::asio::steady_timer& mqtt_protocol::transport_pause_timer(
    const boost::asio::any_io_executor& ex) {
    auto& t = rare().pause_timer;
    if (!t) t = std::make_unique<boost::asio::steady_timer>(ex);
    return *t;
}

std::vector<std::uint8_t>& mqtt_protocol::out() {
    if (!wbuf_) wbuf_ = std::make_unique<write_buffers>();
    return wbuf_->out;
}

bool mqtt_protocol::saturated() const {
    return queued_bytes() >= core().settings().send_queue_bytes;
}

const std::string& mqtt_protocol::client_id() const {
    static const std::string none;
    return session_ ? session_->client_id : none;
}

void mqtt_protocol::send(const mqtt::packet& p) {
    if (state_ == state::closed) return;
    auto& buf = out();
    const std::size_t before = buf.size();
    if (!mqtt::encode(p, version_, buf)) log_warn("cannot encode packet for ", client_id());
    auto& slot = core().stats().local();
    const auto type = static_cast<std::size_t>(mqtt::type_of(p)) & 15;
    broker_stats::add(slot, slot.packets_out[type], 1);
    broker_stats::add(slot, slot.packet_bytes_out[type], buf.size() - before);
}

void mqtt_protocol::count_packet_in(const mqtt::packet& p, std::size_t bytes) {
    auto& slot = core().stats().local();
    const auto type = static_cast<std::size_t>(mqtt::type_of(p)) & 15;
    broker_stats::add(slot, slot.packets_in[type], 1);
    broker_stats::add(slot, slot.packet_bytes_in[type], bytes);
}

void mqtt_protocol::flush() {
    if (has_output() && !writing_ && state_ != state::closed) transport_write();
}

bool mqtt_protocol::write_delivery(const delivery& d, std::uint16_t packet_id, bool dup,
                                     steady_clock::time_point now) {
    const bool v5 = version_ == mqtt::protocol_version::v5;
    mqtt::publish_delivery pd;
    pd.qos_level = d.qos_level;
    pd.packet_id = packet_id;
    pd.dup = dup;
    pd.retain = d.retain;
    if (v5) pd.subscription_identifiers = d.subscription_ids;

    std::unique_ptr<mqtt::publish_encoder> fresh;
    const mqtt::publish_encoder* enc;
    if (d.msg->encoder_is_current(now)) {
        enc = &d.msg->encoder(version_);
    } else {
        fresh = d.msg->encode_fresh(version_, now);
        enc = fresh.get();
    }

    bool new_alias = false;
    if (v5 && client_alias_max_ > 0) {
        const auto& aliases_out = rare().aliases_out;
        auto it = aliases_out.find(d.msg->topic());
        if (it != aliases_out.end()) {
            pd.topic_alias = it->second;
            pd.send_topic = false;
        } else if (aliases_out.size() < client_alias_max_) {
            pd.topic_alias = static_cast<std::uint16_t>(aliases_out.size() + 1);
            new_alias = true;
        }
    }
    if (enc->packet_size(pd) > client_max_packet_size_) {
        // Too large for this client: it never sees it (spec 3.1.2.11.4).
        core().stats().add_local(&counter_slot::dropped, 1);
        return false;
    }
    auto& buf = out();
    const std::size_t before = buf.size();
    if (!enc->encode(pd, buf)) return false;
    if (new_alias) rare_->aliases_out.emplace(d.msg->topic(), *pd.topic_alias);
    auto& slot = core().stats().local();
    broker_stats::add(slot, slot.messages_out, 1);
    broker_stats::add(slot, slot.messages_out_qos[static_cast<int>(pd.qos_level) % 3], 1);
    broker_stats::add(slot, slot.packets_out[3], 1);  // PUBLISH
    broker_stats::add(slot, slot.packet_bytes_out[3], buf.size() - before);
    return true;
}

void mqtt_protocol::pump(bool resend, bool drained) {
    if (state_ != state::connected || !session_) return;
    auto now = steady_clock::now();
    const std::size_t limit = core().settings().send_queue_bytes;
    const std::size_t queued = queued_bytes();
    take_limits limits;
    limits.window = out_window_;
    limits.byte_room = queued < limit ? limit - queued : 0;
    limits.resend = resend;
    limits.drained = drained;
    // Taken under the session's lock, encoded after it: publishers offering to this session
    // on other threads never wait for our encoding.
    thread_local std::vector<outgoing> batch;
    batch.clear();
    if (session_->take_deliveries(this, limits, saturated(), batch, now) !=
        session::result::ok)
        return;
    for (auto& o : batch) {
        if (o.pubrel) {
            send(mqtt::pubrel{o.packet_id, reason_code::success, {}});
        } else if (!write_delivery(o.d, o.packet_id, o.dup, now) && o.packet_id != 0) {
            session_->drop_inflight(this, o.packet_id);  // never sent: too large for the client
        }
        // Let the message go right after its encoding, so its memory serves the next
        // encoder from the thread's allocator cache (freeing the whole batch at the end
        // overflowed that cache and sent allocations to malloc's slow path).
        o.d.msg.reset();
    }
    batch.clear();
}

std::vector<std::uint8_t>* mqtt_protocol::begin_write() {
    if (writing_ || !has_output() || state_ == state::closed) return nullptr;
    auto& b = *wbuf_;
    std::swap(b.out, b.writing);
    writing_ = true;
    // Everything encoded since the last write goes out in one call.
    return &b.writing;
}

void mqtt_protocol::end_write(std::size_t bytes) {
    writing_ = false;
    if (state_ == state::closed) return;
    try {
        core().stats().add_local(&counter_slot::bytes_out, bytes);
        wbuf_->writing.clear();  // the buffers live while a write is pending
        if (state_ == state::closing) {
            if (!has_output()) return close(/*graceful=*/true);
            return flush();
        }
        pump(/*resend=*/false, /*drained=*/true);
        flush();
        if (read_paused_ && !saturated()) read_paused_ = false;  // the transport reads again
        const bool after_connack = !writing_ && connack_pending_;
        if (after_connack) connack_pending_ = false;
        if (after_connack && !has_output()) {
            // Most clients are quiet for a while after connecting: hold no buffers meanwhile,
            // so their memory serves the next connection at once.
            wbuf_.reset();
        } else if (!writing_) {
            // Idle: give back large buffers so an idle connection stays small.
            auto& b = *wbuf_;
            if (b.writing.capacity() > idle_buffer_keep)
                std::vector<std::uint8_t>().swap(b.writing);
            if (b.out.empty() && b.out.capacity() > idle_buffer_keep)
                std::vector<std::uint8_t>().swap(b.out);
        }
    } catch (const std::exception& e) {
        log_error("connection ", client_id(), ": internal error: ", e.what(), "; closing it");
        close();
    }
}

// --- ending ---------------------------------------------------------------------------------

void mqtt_protocol::connack_error(reason_code rc) {
    mqtt::connack ack;
    ack.reason = rc;
    send(ack);
    state_ = state::closing;
    last_packet_ = steady_clock::now();
    if (!has_output()) return close();
    flush();
}

void mqtt_protocol::disconnect(reason_code rc, const char* why) {
    if (state_ == state::closed || state_ == state::closing) return;
    log_debug("disconnecting ", client_id().empty() ? transport_peer() : client_id(), ": ", why,
              " (", mqtt::to_string(rc), ")");
    // Nothing but a CONNACK may precede the CONNACK (MQTT-3.2.0-1): a connection taken over or
    // shut down while its CONNACK waits for the session record is closed without a DISCONNECT.
    if (state_ == state::awaiting_connect || connack_waiting_) return close();
    if (version_ == mqtt::protocol_version::v5) {
        send(mqtt::disconnect{rc, {}});
        state_ = state::closing;
        last_packet_ = steady_clock::now();
        flush();
        if (writing_) return;
    }
    close();
}

void mqtt_protocol::close_silently(const char* why) {
    log_debug("closing ", client_id().empty() ? transport_peer() : client_id(), ": ", why);
    close();
}

void mqtt_protocol::on_transport_error(const char* what, const std::string& message,
                                       bool expected) {
    if (state_ == state::closed) return;
    if (!expected) log_debug("connection ", client_id(), ": ", what, ": ", message);
    close();
}

void mqtt_protocol::close(bool graceful) {
    if (state_ == state::closed) return;
    state_ = state::closed;
    if (linked_) {
        unlink_connection(this);
        linked_ = false;
    }
    if (pre_connect_bytes_) core().release_unauthenticated(std::exchange(pre_connect_bytes_, 0));
    // A publish still parked gets its last offers: what is refused again is dropped. Its
    // acknowledgement is not sent; a retransmission that waits for its outcome (logged,
    // session::find_inbound) finds it finished.
    if (rare_ && rare_->parked) offer_parked(true);
    transport_close(graceful);
    if (counted_connected_) {
        counted_connected_ = false;
        core().stats().clients_connected.fetch_sub(1, std::memory_order_relaxed);
        listener_.connected[version_slot(static_cast<std::uint8_t>(version_))].fetch_sub(1, std::memory_order_relaxed);
    }
    if (session_ && !core().close_session(session_, this, will_, session_expiry_)) {
        // Taken over before we noticed: the takeover rules decide about the will.
        if (kicked_.load(std::memory_order_relaxed)) publish_will_after_takeover();
    }
    will_.reset();
    if (rare_) rare_->acks.clear();
}

}  // namespace sluice::broker

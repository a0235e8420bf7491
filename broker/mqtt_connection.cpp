#include "broker/mqtt_connection.hpp"

#include <algorithm>
#include <array>
#include <utility>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include "broker/log.hpp"
#include "mqtt/encoder.hpp"
#include "mqtt/topic.hpp"
#include "mqtt/utf8.hpp"

namespace sluice::broker {

namespace asio = boost::asio;
using mqtt::qos;
using mqtt::reason_code;
using std::chrono::milliseconds;

namespace {

constexpr std::uint32_t never_expires = 0xFFFFFFFF;
constexpr auto housekeeping_period = milliseconds(500);
constexpr auto closing_grace = milliseconds(3000);
constexpr auto backpressure_pause = std::chrono::microseconds(500);
constexpr std::size_t read_chunk = 64 * 1024;
constexpr std::size_t idle_buffer_keep = 16 * 1024;  // larger write buffers are freed when idle
constexpr auto idle_release_after = std::chrono::seconds(2);

// The connections of this io thread, for the housekeeping tick. Touched only by this thread.
struct thread_connections {
    mqtt_connection* head = nullptr;
    std::unique_ptr<asio::steady_timer> tick;
};
thread_local thread_connections this_thread_connections;

void link(thread_connections& list, mqtt_connection* c) {
    c->next_ = list.head;
    if (list.head) list.head->prev_ = c;
    list.head = c;
}

void unlink(thread_connections& list, mqtt_connection* c) {
    if (c->prev_)
        c->prev_->next_ = c->next_;
    else if (list.head == c)
        list.head = c->next_;
    if (c->next_) c->next_->prev_ = c->prev_;
    c->prev_ = c->next_ = nullptr;
}

qos min_qos(qos a, qos b) {
    return a < b ? a : b;
}

void tick(const boost::system::error_code& ec) {
    if (ec) return;
    auto now = steady_clock::now();
    for (mqtt_connection* c = this_thread_connections.head; c;) {
        mqtt_connection* next = c->next_;
        c->check_timeouts(now);
        c = next;
    }
    auto& t = *this_thread_connections.tick;
    t.expires_after(housekeeping_period);
    t.async_wait(tick);
}

}  // namespace

void start_housekeeping(broker_core& core) {
    (void)core;
    // Called on the io thread, so the timer's context is the one running us.
    auto& list = this_thread_connections;
    list.tick = std::make_unique<asio::steady_timer>(core.pool().context(current_io_thread()));
    list.tick->expires_after(housekeeping_period);
    list.tick->async_wait(tick);
}

void shut_down_connections() {
    auto& list = this_thread_connections;
    if (list.tick) list.tick->cancel();
    for (mqtt_connection* c = list.head; c;) {
        mqtt_connection* next = c->next_;
        c->shut_down();
        c = next;
    }
}

// --- lifecycle ------------------------------------------------------------------------------

mqtt_connection::mqtt_connection(broker_core& core, tcp_socket socket)
    : core_(core),
      socket_(std::move(socket)),
      last_packet_(steady_clock::now()) {
    core_.connection_opened();
}

mqtt_connection::~mqtt_connection() {
    // Normally close() ran on our thread; this covers destruction at shutdown.
    if (state_ != state::closed && session_) {
        std::lock_guard lock(session_->mu);
        if (session_->owner == this) session_->attach(nullptr);
    }
    core_.connection_closed();
}

void mqtt_connection::start() {
    boost::system::error_code ec;
    socket_.non_blocking(true, ec);
    if (ec) return fail(ec, "non_blocking");
    link(this_thread_connections, this);
    do_read();
}

void mqtt_connection::wake() {
    // Any thread, session mu held: only post.
    auto self = weak_from_this().lock();
    if (!self) return;
    asio::post(socket_.get_executor(), [self = std::move(self)] { self->on_wakeup(); });
}

void mqtt_connection::kick(reason_code reason, bool session_continues) {
    kicked_.store(session_continues ? 1 : 2, std::memory_order_relaxed);
    auto self = weak_from_this().lock();
    if (!self) return;
    asio::post(socket_.get_executor(), [self = std::move(self), reason, session_continues] {
        self->on_kick(reason, session_continues);
    });
}

void mqtt_connection::on_kick(reason_code reason, bool session_continues) {
    if (state_ == state::closed) return;
    // Taken over: the session has already left us. Our will goes out now unless the session
    // lives on and the will was to wait (a reconnect within the delay cancels it).
    publish_will_after_takeover(session_continues);
    disconnect(reason, "session taken over");
}

void mqtt_connection::publish_will_after_takeover(bool session_continues) {
    if (!will_) return;
    std::uint32_t delay = will_->props.will_delay_interval.value_or(0);
    if (!session_continues || delay == 0) core_.publish_will(std::move(*will_));
    will_.reset();
}

void mqtt_connection::check_timeouts(steady_clock::time_point now) {
    auto self = shared_from_this();
    switch (state_) {
        case state::awaiting_connect:
            if (now - last_packet_ > milliseconds(core_.settings().connect_timeout_ms)) {
                log_debug("connection closed: no CONNECT within the connect timeout");
                close();
            }
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
                if (!writing_active_ && !has_output()) wbuf_.reset();
            }
            break;
        case state::closing:
            if (now - last_packet_ > closing_grace) close();
            break;
        case state::closed:
            break;
    }
}

void mqtt_connection::shut_down() {
    auto self = shared_from_this();
    will_.reset();
    if (state_ == state::connected)
        disconnect(reason_code::server_shutting_down, "shutdown");
    else
        close();
}

// --- reading --------------------------------------------------------------------------------

void mqtt_connection::do_read() {
    if (reading_ || read_paused_ || backpressure_paused_ || state_ == state::closed ||
        state_ == state::closing)
        return;
    reading_ = true;
    // Wait for readability without a buffer, then read into this thread's scratch buffer: an
    // idle connection holds no read buffer at all.
    socket_.async_wait(asio::ip::tcp::socket::wait_read,
                       [self = shared_from_this()](const boost::system::error_code& ec) {
                           self->reading_ = false;
                           self->on_readable(ec);
                       });
}

void mqtt_connection::on_readable(const boost::system::error_code& wait_ec) {
    if (state_ == state::closed || state_ == state::closing) return;
    if (wait_ec) return fail(wait_ec, "wait");
    const bool before_connect = state_ == state::awaiting_connect;
    if (!process_buffered()) return;
    thread_local std::array<std::uint8_t, read_chunk> scratch;
    auto& counters = core_.stats().local();
    for (int round = 0; round < 4; ++round) {
        boost::system::error_code ec;
        std::size_t n = socket_.read_some(asio::buffer(scratch), ec);
        if (ec == asio::error::would_block || ec == asio::error::try_again) break;
        if (ec) return fail(ec, "read");
        broker_stats::add(counters.bytes_in, n);
        last_packet_ = steady_clock::now();
        if (!decoder_) {
            // Before CONNECT the decoder learns the protocol level from it.
            std::optional<mqtt::protocol_version> level;
            if (state_ != state::awaiting_connect) level = version_;
            decoder_ = std::make_unique<mqtt::stream_decoder>(mqtt::decoder_options{
                mqtt::decoder_role::server, core_.settings().max_packet_size, level});
        }
        decoder_->feed(std::span<const std::uint8_t>(scratch.data(), n));
        if (!process_buffered()) return;
        if (saturated()) {
            // Our send queue is full: stop reading until the socket drains it.
            read_paused_ = true;
            break;
        }
        if (n < scratch.size()) break;
    }
    // Most clients send nothing for a while after their CONNECT: hold no decoder meanwhile
    // (the next read makes one), so its memory serves the next connection at once.
    if (before_connect && state_ == state::connected && decoder_ && decoder_->buffered() == 0)
        decoder_.reset();
    do_write();
    do_read();
}

bool mqtt_connection::process_buffered() {
    mqtt::packet p;
    for (;;) {
        auto status = decoder_ ? decoder_->next(p) : mqtt::decode_status::need_more;
        if (status == mqtt::decode_status::need_more) return true;
        if (status == mqtt::decode_status::error) {
            on_decode_error();
            return false;
        }
        handle(p);
        if (state_ == state::closed || state_ == state::closing) return false;
        if (throttled_) {
            // A receiver of ours is falling behind: leave the rest in the decoder and
            // come back a little later instead of queueing into it until it has to drop.
            throttled_ = false;
            backpressure_paused_ = true;
            do_write();
            pause_for_backpressure();
            return false;
        }
    }
}

void mqtt_connection::on_decode_error() {
    const auto& err = decoder_->error();
    log_debug("bad packet from ", client_id().empty() ? "new connection" : client_id(), ": ",
              mqtt::to_string(err.code), " (", err.detail, ")");
    if (state_ == state::awaiting_connect) {
        // The CONNECT itself was bad: answer with a CONNACK if we know its protocol level.
        if (decoder_->version()) {
            version_ = *decoder_->version();
            return connack_error(err.code);
        }
        if (err.code == reason_code::unsupported_protocol_version) {
            // A level we do not speak: answer as 3.1.1 does (return code 1), as the spec allows.
            version_ = mqtt::protocol_version::v3_1_1;
            return connack_error(err.code);
        }
        return close();
    }
    disconnect(err.code, "bad packet");
}

void mqtt_connection::handle(mqtt::packet& p) {
    switch (mqtt::type_of(p)) {
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
            // No enhanced authentication: AUTH without an agreed method is a protocol error.
            return disconnect(reason_code::protocol_error, "AUTH without authentication method");
        default:
            // The decoder (role server) rejects packets only a server sends.
            return disconnect(reason_code::protocol_error, "unexpected packet");
    }
}

// --- CONNECT --------------------------------------------------------------------------------

void mqtt_connection::on_connect(mqtt::connect& c) {
    if (state_ != state::awaiting_connect)
        return disconnect(reason_code::protocol_error, "second CONNECT");
    const auto& cfg = core_.settings();
    version_ = c.version;
    const bool v5 = version_ == mqtt::protocol_version::v5;

    if (c.props.authentication_method) return connack_error(reason_code::bad_authentication_method);
    bool assigned = false;
    if (c.client_id.empty()) {
        if (!v5 && !c.clean_start) return connack_error(reason_code::client_identifier_not_valid);
        c.client_id = core_.assign_client_id();
        assigned = true;
    }
    if (c.will) {
        if (c.will->retain && !cfg.retain_available)
            return connack_error(reason_code::retain_not_supported);
        if (static_cast<std::uint8_t>(c.will->qos_level) > cfg.maximum_qos)
            return connack_error(reason_code::qos_not_supported);
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

    auto opened = core_.open_session(c.client_id, c.clean_start, this);
    session_ = std::move(opened.s);
    state_ = state::connected;
    counted_connected_ = true;
    core_.stats().clients_connected.fetch_add(1, std::memory_order_relaxed);

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
    }
    send(ack);
    connack_pending_ = true;
    log_debug("client ", client_id(), " connected (level ", static_cast<int>(version_),
              opened.present ? ", session resumed)" : ")");
    pump(/*resend=*/opened.present);
    do_write();
}

// --- PUBLISH from the client ----------------------------------------------------------------

bool mqtt_connection::qos2_id_pending(std::uint16_t id) {
    std::lock_guard lock(session_->mu);
    auto& pending = session_->incoming_qos2;
    return std::find(pending.begin(), pending.end(), id) != pending.end();
}

void mqtt_connection::on_publish(mqtt::publish& p) {
    if (state_ != state::connected) return;
    const auto& cfg = core_.settings();
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
    const std::uint16_t id = p.packet_id;

    switch (p.qos_level) {
        case qos::at_most_once:
            if (bad_payload)
                return disconnect(reason_code::payload_format_invalid, "payload is not UTF-8");
            route(p);
            return;
        case qos::at_least_once: {
            if (qos2_id_pending(id))
                return disconnect(reason_code::protocol_error,
                                  "packet id in use by a QoS 2 exchange");
            if (bad_payload) return send(mqtt::puback{id, reason_code::payload_format_invalid, {}});
            bool matched = route(p);
            return send(mqtt::puback{
                id, matched ? reason_code::success : reason_code::no_matching_subscribers, {}});
        }
        case qos::exactly_once: {
            // Until PUBREL, a PUBLISH with the same id is acknowledged again and not delivered
            // again (spec 4.3.3), whether or not it carries DUP.
            enum class verdict { fresh, repeat, over_window } v;
            {
                std::lock_guard lock(session_->mu);
                if (session_->owner != this) return;  // taken over: the kick is on its way
                auto& pending = session_->incoming_qos2;
                if (std::find(pending.begin(), pending.end(), id) != pending.end()) {
                    v = verdict::repeat;
                } else if (pending.size() >= cfg.receive_maximum) {
                    v = verdict::over_window;
                } else {
                    v = verdict::fresh;
                    if (!bad_payload) pending.push_back(id);
                }
            }
            if (v == verdict::repeat) return send(mqtt::pubrec{id, reason_code::success, {}});
            if (v == verdict::over_window)
                return disconnect(reason_code::receive_maximum_exceeded,
                                  "receive maximum exceeded");
            if (bad_payload) return send(mqtt::pubrec{id, reason_code::payload_format_invalid, {}});
            bool matched = route(p);
            return send(mqtt::pubrec{
                id, matched ? reason_code::success : reason_code::no_matching_subscribers, {}});
        }
    }
}

bool mqtt_connection::route(mqtt::publish& p) {
    broker_stats::add(core_.stats().local().messages_in, 1);
    bool congested = false;
    bool matched = core_.publish(make_message(std::move(p), session_.get()), &congested) > 0;
    if (congested)
        throttled_ = true;
    else
        backoff_shift_ = 0;
    return matched;
}

void mqtt_connection::pause_for_backpressure() {
    auto& timer = rare().backpressure_timer;
    if (!timer) timer.emplace(socket_.get_executor());
    // Back off exponentially while the receiver stays congested (0.5 ms .. 64 ms).
    timer->expires_after(backpressure_pause * (1u << backoff_shift_));
    if (backoff_shift_ < 7) ++backoff_shift_;
    timer->async_wait(
        [self = shared_from_this()](const boost::system::error_code& ec) {
            if (ec || self->state_ != state::connected) return;
            self->backpressure_paused_ = false;
            if (!self->read_paused_) self->on_readable({});
        });
}

// --- acknowledgements from the client -------------------------------------------------------

void mqtt_connection::on_puback(const mqtt::puback& p) {
    {
        std::lock_guard lock(session_->mu);
        if (session_->owner != this) return;
        auto& inflight = session_->inflight;
        auto it = std::find_if(inflight.begin(), inflight.end(), [&](const inflight_message& m) {
            return m.packet_id == p.packet_id && m.d.qos_level == qos::at_least_once;
        });
        if (it != inflight.end()) {
            if (it->resend) --session_->inflight_to_resend;
            inflight.erase(it);
        }
    }
    pump();
}

void mqtt_connection::on_pubrec(const mqtt::pubrec& p) {
    reason_code answer = reason_code::success;
    bool done = false;
    {
        std::lock_guard lock(session_->mu);
        if (session_->owner != this) return;
        auto& inflight = session_->inflight;
        auto it = std::find_if(inflight.begin(), inflight.end(), [&](const inflight_message& m) {
            return m.packet_id == p.packet_id && m.d.qos_level == qos::exactly_once;
        });
        if (it == inflight.end()) {
            answer = reason_code::packet_identifier_not_found;
        } else if (mqtt::is_error(p.reason)) {
            if (it->resend) --session_->inflight_to_resend;
            inflight.erase(it);  // the receiver refused it: the exchange ends here
            done = true;
        } else {
            if (it->resend) --session_->inflight_to_resend;
            it->resend = false;  // the PUBREL sent now is its retransmission
            it->released = true;
            it->d.msg.reset();  // only the id is needed from now on
        }
    }
    if (!done)
        send(mqtt::pubrel{p.packet_id, answer, {}});
    else
        pump();
}

void mqtt_connection::on_pubrel(const mqtt::pubrel& p) {
    bool found = false;
    {
        std::lock_guard lock(session_->mu);
        if (session_->owner != this) return;
        auto& pending = session_->incoming_qos2;
        auto it = std::find(pending.begin(), pending.end(), p.packet_id);
        if (it != pending.end()) {
            pending.erase(it);
            found = true;
        }
    }
    send(mqtt::pubcomp{
        p.packet_id, found ? reason_code::success : reason_code::packet_identifier_not_found, {}});
}

void mqtt_connection::on_pubcomp(const mqtt::pubcomp& p) {
    {
        std::lock_guard lock(session_->mu);
        if (session_->owner != this) return;
        auto& inflight = session_->inflight;
        auto it = std::find_if(inflight.begin(), inflight.end(), [&](const inflight_message& m) {
            return m.packet_id == p.packet_id && m.released;
        });
        if (it != inflight.end()) {
            if (it->resend) --session_->inflight_to_resend;
            inflight.erase(it);
        }
    }
    pump();
}

// --- SUBSCRIBE / UNSUBSCRIBE / PINGREQ / DISCONNECT -----------------------------------------

void mqtt_connection::on_subscribe(mqtt::subscribe& s) {
    if (qos2_id_pending(s.packet_id))
        return disconnect(reason_code::protocol_error, "packet id in use by a QoS 2 exchange");
    const auto& cfg = core_.settings();
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
        subscription_record rec;
        rec.options = sub.options;
        rec.options.max_qos = min_qos(sub.options.max_qos, static_cast<qos>(cfg.maximum_qos));
        rec.subscription_id = sub_id;
        auto existed = core_.subscribe(session_, this, sub.filter, rec);
        if (!existed) return;  // no longer ours (taken over)
        ack.reasons.push_back(static_cast<reason_code>(rec.options.max_qos));
        const auto h = rec.options.handling;
        if (!parts->shared && (h == mqtt::retain_handling::send_on_subscribe ||
                               (h == mqtt::retain_handling::send_if_new_subscription && !*existed)))
            want_retained.push_back({std::move(sub.filter), rec});
    }
    send(ack);
    if (!want_retained.empty()) {
        auto now = steady_clock::now();
        std::vector<message_ptr> found;
        for (const auto& w : want_retained) {
            found.clear();
            core_.retained().collect(w.filter, now, found);
            std::lock_guard lock(session_->mu);
            if (session_->owner != this) return;
            for (auto& m : found) {
                delivery d;
                d.qos_level = min_qos(m->qos_level(), w.rec.options.max_qos);
                d.retain = true;  // retained messages sent on subscribe keep the flag
                if (w.rec.subscription_id) d.subscription_ids.push_back(w.rec.subscription_id);
                d.msg = std::move(m);
                session_->queue.push_back(std::move(d));
            }
        }
        pump();
    }
}

void mqtt_connection::on_unsubscribe(const mqtt::unsubscribe& u) {
    if (qos2_id_pending(u.packet_id))
        return disconnect(reason_code::protocol_error, "packet id in use by a QoS 2 exchange");
    mqtt::unsuback ack;
    ack.packet_id = u.packet_id;
    for (const auto& f : u.filters) {
        auto existed = core_.unsubscribe(session_, this, f);
        if (!existed) return;
        ack.reasons.push_back(*existed ? reason_code::success
                                       : reason_code::no_subscription_existed);
    }
    send(ack);
}

void mqtt_connection::on_pingreq() {
    send(mqtt::pingresp{});
}

void mqtt_connection::on_disconnect(const mqtt::disconnect& d) {
    if (version_ == mqtt::protocol_version::v5 && d.props.session_expiry_interval) {
        if (session_expiry_ == 0 && *d.props.session_expiry_interval != 0)
            return disconnect(reason_code::protocol_error, "session expiry set on DISCONNECT");
        session_expiry_ =
            std::min(*d.props.session_expiry_interval, core_.settings().max_session_expiry);
    }
    // A normal DISCONNECT discards the will; 0x04 asks for it to be published.
    if (d.reason != reason_code::disconnect_with_will_message) will_.reset();
    close();
}

// --- writing --------------------------------------------------------------------------------

void mqtt_connection::on_wakeup() {
    if (state_ != state::connected) return;
    pump();
    do_write();
}

mqtt_connection::rare_state& mqtt_connection::rare() {
    if (!rare_) rare_ = std::make_unique<rare_state>();
    return *rare_;
}

std::vector<std::uint8_t>& mqtt_connection::out() {
    if (!wbuf_) wbuf_ = std::make_unique<write_buffers>();
    return wbuf_->out;
}

const std::string& mqtt_connection::client_id() const {
    static const std::string none;
    return session_ ? session_->client_id : none;
}

void mqtt_connection::send(const mqtt::packet& p) {
    if (state_ == state::closed) return;
    if (!mqtt::encode(p, version_, out())) log_warn("cannot encode packet for ", client_id());
}

bool mqtt_connection::write_delivery(const delivery& d, std::uint16_t packet_id, bool dup,
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
        broker_stats::add(core_.stats().local().dropped, 1);
        return false;
    }
    if (!enc->encode(pd, out())) return false;
    if (new_alias) rare_->aliases_out.emplace(d.msg->topic(), *pd.topic_alias);
    broker_stats::add(core_.stats().local().messages_out, 1);
    return true;
}

void mqtt_connection::pump(bool resend, bool drained) {
    if (state_ != state::connected || !session_) return;
    auto now = steady_clock::now();
    {
        std::lock_guard lock(session_->mu);
        auto& s = *session_;
        if (s.owner != this) return;
        s.wake_posted = false;
        const std::size_t queued_before = s.queue.size();
        if (resend) {
            // Everything inflight goes out again (spec 4.4), but no more at once than this
            // client's window: the rest waits, in order, for acknowledgements.
            for (auto& m : s.inflight) m.resend = true;
            s.inflight_to_resend = static_cast<std::uint32_t>(s.inflight.size());
        }
        if (s.inflight_to_resend > 0) {
            std::size_t in_window = s.inflight.size() - s.inflight_to_resend;
            for (auto& m : s.inflight) {
                if (in_window >= out_window_ || saturated()) break;
                if (!m.resend) continue;
                // In their original order: PUBLISH again with DUP, or PUBREL again.
                if (m.released)
                    send(mqtt::pubrel{m.packet_id, reason_code::success, {}});
                else
                    write_delivery(m.d, m.packet_id, /*dup=*/true, now);
                m.resend = false;
                --s.inflight_to_resend;
                ++in_window;
            }
        }
        while (!s.queue.empty() && !saturated()) {
            delivery& d = s.queue.front();
            if (d.msg->expired(now)) {
                s.queue.pop_front();  // expired messages are never delivered
                continue;
            }
            if (d.qos_level == qos::at_most_once) {
                write_delivery(d, 0, false, now);
                s.queue.pop_front();
                continue;
            }
            if (s.inflight.size() >= out_window_) break;
            std::uint16_t id = s.allocate_packet_id();
            if (id == 0) break;
            if (write_delivery(d, id, false, now))
                s.inflight.push_back(inflight_message{id, std::move(d), false});
            s.queue.pop_front();
        }
        s.owner_saturated = saturated();
        if (drained || s.queue.size() < queued_before) s.last_progress = now;
    }
}

void mqtt_connection::do_write() {
    if (writing_active_ || !has_output() || state_ == state::closed) return;
    auto& b = *wbuf_;
    std::swap(b.out, b.writing);
    writing_active_ = true;
    // Everything encoded since the last write goes out in one call.
    asio::async_write(socket_, asio::buffer(b.writing),
                      [self = shared_from_this()](const boost::system::error_code& ec,
                                                  std::size_t n) { self->on_write(ec, n); });
}

void mqtt_connection::on_write(const boost::system::error_code& ec, std::size_t bytes) {
    writing_active_ = false;
    if (state_ == state::closed) return;
    if (ec) return fail(ec, "write");
    broker_stats::add(core_.stats().local().bytes_out, bytes);
    wbuf_->writing.clear();  // the buffers live while a write is pending
    if (state_ == state::closing) {
        if (!has_output()) {
            boost::system::error_code ignored;
            socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
            return close();
        }
        return do_write();
    }
    pump(/*resend=*/false, /*drained=*/true);
    do_write();
    if (read_paused_ && !saturated()) {
        read_paused_ = false;
        // on_readable, not do_read: packets a backpressure pause left in the decoder come first.
        if (!backpressure_paused_) on_readable({});
    }
    if (!writing_active_ && std::exchange(connack_pending_, false) && !has_output()) {
        // Most clients are quiet for a while after connecting: hold no buffers meanwhile, so
        // their memory serves the next connection at once.
        wbuf_.reset();
    } else if (!writing_active_) {
        // Idle: give back large buffers so an idle connection stays small.
        auto& b = *wbuf_;
        if (b.writing.capacity() > idle_buffer_keep) std::vector<std::uint8_t>().swap(b.writing);
        if (b.out.empty() && b.out.capacity() > idle_buffer_keep)
            std::vector<std::uint8_t>().swap(b.out);
    }
}

// --- ending ---------------------------------------------------------------------------------

void mqtt_connection::connack_error(reason_code rc) {
    mqtt::connack ack;
    ack.reason = rc;
    send(ack);
    state_ = state::closing;
    last_packet_ = steady_clock::now();
    if (!has_output()) return close();
    do_write();
}

void mqtt_connection::disconnect(reason_code rc, const char* why) {
    if (state_ == state::closed || state_ == state::closing) return;
    log_debug("disconnecting ", client_id().empty() ? "client" : client_id(), ": ", why, " (",
              mqtt::to_string(rc), ")");
    if (state_ == state::awaiting_connect) return close();
    if (version_ == mqtt::protocol_version::v5) {
        send(mqtt::disconnect{rc, {}});
        state_ = state::closing;
        last_packet_ = steady_clock::now();
        do_write();
        if (writing_active_) return;
    }
    close();
}

void mqtt_connection::fail(const boost::system::error_code& ec, const char* what) {
    if (state_ == state::closed) return;
    if (ec != asio::error::eof && ec != asio::error::operation_aborted &&
        ec != asio::error::connection_reset)
        log_debug("connection ", client_id(), ": ", what, ": ", ec.message());
    close();
}

void mqtt_connection::close() {
    if (state_ == state::closed) return;
    state_ = state::closed;
    unlink(this_thread_connections, this);
    boost::system::error_code ignored;
    socket_.close(ignored);
    if (rare_ && rare_->backpressure_timer) rare_->backpressure_timer->cancel();
    if (counted_connected_) {
        counted_connected_ = false;
        core_.stats().clients_connected.fetch_sub(1, std::memory_order_relaxed);
    }
    if (session_ && !core_.close_session(session_, this, will_.get(), session_expiry_)) {
        // Taken over before we noticed: the kick's verdict decides about the will.
        if (auto k = kicked_.load(std::memory_order_relaxed)) publish_will_after_takeover(k == 1);
    }
    will_.reset();
}

}  // namespace sluice::broker

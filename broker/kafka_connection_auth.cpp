// Authentication of kafka_connection (docs/security.md, "The Kafka listener"): SaslHandshake,
// SaslAuthenticate and raw tokens through the connection's kafka_sasl, PLAIN passwords checked
// on auth_service's verifier threads (never on the io thread), the failed-login limiter per
// source address, and the refusal of requests before authentication where anonymous clients
// are not allowed.
#include <atomic>
#include <chrono>

#include <boost/asio/post.hpp>

#include "broker/auth_service.hpp"
#include "broker/kafka_connection.hpp"
#include "broker/log.hpp"
#include "kafka/codec.hpp"

namespace sluice::broker {

namespace asio = boost::asio;
using kind = kafka_sasl::outcome::kind;

namespace {

// Refusals can come in a loop from a misconfigured client: at most one log line per second
// across the broker, with the count of those not logged since.
std::atomic<std::int64_t> last_refusal_log_ms{0};
std::atomic<std::uint64_t> unlogged_refusals{0};

bool should_log_refusal(std::uint64_t& suppressed) {
    const std::int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                                 std::chrono::steady_clock::now().time_since_epoch())
                                 .count();
    std::int64_t last = last_refusal_log_ms.load(std::memory_order_relaxed);
    if (now - last < 1000 ||
        !last_refusal_log_ms.compare_exchange_strong(last, now, std::memory_order_relaxed)) {
        unlogged_refusals.fetch_add(1, std::memory_order_relaxed);
        return false;
    }
    suppressed = unlogged_refusals.exchange(0, std::memory_order_relaxed);
    return true;
}

std::string more_not_logged(std::uint64_t n) {
    return n ? " (" + std::to_string(n) + " more refusals not logged)" : std::string();
}

// A raw token's answer after a SaslHandshake v0: the token, size-prefixed.
kafka::response_frame raw_token_frame(const std::string& token) {
    kafka::byte_buffer b(4 + token.size());
    const auto n = static_cast<std::uint32_t>(token.size());
    b[0] = static_cast<std::uint8_t>(n >> 24);
    b[1] = static_cast<std::uint8_t>(n >> 16);
    b[2] = static_cast<std::uint8_t>(n >> 8);
    b[3] = static_cast<std::uint8_t>(n);
    std::copy(token.begin(), token.end(), b.begin() + 4);
    kafka::response_frame f;
    f.pieces.emplace_back(std::move(b));
    return f;
}

}  // namespace

kafka_sasl& kafka_connection::sasl() {
    if (!sasl_)
        sasl_ = std::make_unique<kafka_sasl>(listener_.auth ? listener_.auth->users() : nullptr);
    return *sasl_;
}

asio::steady_timer& kafka_connection::timer() {
    if (!timer_) timer_ = std::make_unique<asio::steady_timer>(sock().get_executor());
    return *timer_;
}

bool kafka_connection::may_proceed() const {
    return allow_anonymous_ || (sasl_ && sasl_->authenticated());
}

std::optional<std::string> kafka_connection::acl_user() const {
    if (sasl_ && sasl_->authenticated()) return sasl_->user();
    return std::nullopt;
}

void kafka_connection::refuse_unauthenticated(const kafka::request& req) {
    // What Kafka does with a request before authentication: close the connection.
    std::uint64_t suppressed = 0;
    if (should_log_refusal(suppressed))
        log_warn("kafka ", peer_, ": ", kafka::to_string(req.header.key),
                 " request before authentication on listener ", listener_.settings.name,
                 ", which does not allow anonymous clients: closing", more_not_logged(suppressed));
    close_when_sent();
}

bool kafka_connection::on_sasl_handshake(const kafka::request& req) {
    svc_.count_request(req.header.key);
    const auto& h = std::get<kafka::sasl_handshake_request>(req.body);
    auto answer = sasl().handshake(h.mechanism, req.header.api_version);
    if (answer.error != kafka::error_code::none)
        log_debug("kafka ", peer_, ": SASL mechanism '", h.mechanism, "' refused (",
                  kafka::to_string(answer.error), ")");
    complete(open_slot(), kafka::encode_response(req.header.correlation_id,
                                                 req.header.api_version, answer));
    if (answer.error == kafka::error_code::illegal_sasl_state) close_when_sent();
    return !closed_ && !closing_;
}

bool kafka_connection::on_sasl_token(std::optional<kafka::request_header> header,
                                     std::string token) {
    if (header) svc_.count_request(header->key);
    const std::uint64_t seq = open_slot();
    auto& s = sasl();
    if (s.starts_exchange() && listener_.auth) {
        // Repeated failures from this address wait first (a timer: the thread serves others).
        const auto delay = listener_.auth->login_delay(peer_address(peer_));
        if (delay > std::chrono::steady_clock::duration::zero()) {
            auth_wait_ = true;
            timer().expires_after(delay);
            timer().async_wait([self = shared_from_this(), seq, header = std::move(header),
                                token = std::move(token)](const boost::system::error_code& ec) mutable {
                if (ec || self->closed_) return;
                self->auth_wait_ = false;
                self->run_sasl_step(seq, std::move(header), std::move(token));
            });
            return true;
        }
    }
    run_sasl_step(seq, std::move(header), std::move(token));
    return !closed_ && !closing_;
}

void kafka_connection::run_sasl_step(std::uint64_t seq, std::optional<kafka::request_header> header,
                                     std::string token) {
    auto users = listener_.auth ? listener_.auth->users() : nullptr;
    auto o = sasl().authenticate(token, std::move(users));
    if (o.what != kind::check_password) return finish_sasl_step(seq, header, std::move(o));
    // PBKDF2 on a verifier thread; reading pauses until the answer is back on this thread.
    // The check holds the connection: while it runs nothing is pending on the socket.
    auth_wait_ = true;
    const bool queued = listener_.auth->verify(
        listener_.auth->users(), std::move(o.user), std::move(o.password),
        [self = shared_from_this(), seq, header](bool ok) {
            auto ex = self->sock().get_executor();
            asio::post(ex, [self = std::move(self), seq, header, ok] {
                self->on_password_checked(seq, header, ok);
            });
        });
    if (!queued) {
        auth_wait_ = false;
        kafka_sasl::outcome busy;
        busy.why = "too many logins being checked";
        finish_sasl_step(seq, header, std::move(busy));
    }
}

void kafka_connection::on_password_checked(std::uint64_t seq,
                                           std::optional<kafka::request_header> header, bool ok) {
    if (closed_) return;
    auth_wait_ = false;
    finish_sasl_step(seq, header, sasl().password_checked(ok));
    if (!closed_) maybe_resume();
}

void kafka_connection::finish_sasl_step(std::uint64_t seq,
                                        const std::optional<kafka::request_header>& header,
                                        kafka_sasl::outcome o) {
    if (o.what == kind::failure) {
        std::uint64_t suppressed = 0;
        if (should_log_refusal(suppressed))
            log_warn("kafka login refused from ", peer_, " (", sasl().mechanism(), "): ", o.why,
                     more_not_logged(suppressed));
        if (o.counts_as_failure && listener_.auth) listener_.auth->login_failed(peer_address(peer_));
        if (!header) {
            // Raw tokens have no way to say why: Kafka closes the connection.
            close("");
            return;
        }
        kafka::sasl_authenticate_response r;
        r.error = o.error;
        r.error_message = "Authentication failed: " + o.why;
        closing_ = true;  // the answer goes out, then the connection closes
        complete(seq, kafka::encode_response(header->correlation_id, header->api_version, r));
        return;
    }
    if (o.what == kind::success) {
        if (listener_.auth) listener_.auth->login_succeeded(peer_address(peer_));
        log_debug("kafka ", peer_, ": authenticated as ", o.user, " (", sasl().mechanism(), ")");
    }
    if (!header) return complete(seq, raw_token_frame(o.token));
    kafka::sasl_authenticate_response r;
    r.auth_bytes.assign(o.token.begin(), o.token.end());
    complete(seq, kafka::encode_response(header->correlation_id, header->api_version, r));
}

}  // namespace sluice::broker

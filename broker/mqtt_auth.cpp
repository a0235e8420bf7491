// Authentication and ACL checks of mqtt_protocol (docs/security.md): the CONNECT's user name
// and password (checked on a verifier thread), the anonymous policy of the listener, TLS
// identities as user names, MQTT 5 enhanced authentication with SCRAM-SHA-256 (spec 4.12)
// including re-authentication, the failed-login limiter, and the publish/subscribe ACL.
#include <exception>
#include <utility>

#include "broker/auth_service.hpp"
#include "broker/log.hpp"
#include "broker/mqtt_protocol.hpp"

namespace sluice::broker {

using mqtt::reason_code;
using phase = connection_auth::phase;

connection_auth& mqtt_protocol::auth_state() {
    if (!auth_) auth_ = std::make_unique<connection_auth>();
    return *auth_;
}

bool mqtt_protocol::acl_active() const {
    return listener_.auth && listener_.auth->has_acl();
}

// --- CONNECT ----------------------------------------------------------------------------------

bool mqtt_protocol::authenticate(mqtt::connect& c) {
    auth_service* svc = listener_.auth;
    const bool have_users = svc && svc->has_users();

    if (c.props.authentication_method) {
        // Enhanced authentication: SCRAM-SHA-256 against the password file, nothing else.
        if (*c.props.authentication_method != scram_method || !have_users) {
            refuse_login(reason_code::bad_authentication_method, c.client_id,
                         "unsupported authentication method", false);
            return false;
        }
    } else if (listener_.settings.use_identity_as_username && !transport_identity().empty()) {
        // The verified certificate is the credential: its name is the user, no password.
        auth_state().username = transport_identity();
        return true;
    } else if (c.username && have_users) {
        if (!c.password) {
            refuse_login(reason_code::bad_user_name_or_password, c.client_id,
                         "user name without a password", true);
            return false;
        }
    } else if (c.password && have_users) {
        refuse_login(reason_code::bad_user_name_or_password, c.client_id,
                     "password without a user name", true);
        return false;
    } else {
        // Anonymous. Without a password file a user name proves nothing: it is not verified
        // and the ACL sees the client as anonymous.
        if (!listener_allows_anonymous(listener_.settings)) {
            refuse_login(reason_code::not_authorized, c.client_id,
                         "anonymous clients are not allowed on this listener", false);
            return false;
        }
        return true;
    }

    // A login to check: repeated failures from this address first wait out the limiter's
    // delay (a timer; the io thread goes on serving others).
    auto& a = auth_state();
    a.pending = std::make_unique<mqtt::connect>(std::move(c));
    const auto delay = svc->login_delay(peer_address(transport_peer()));
    if (delay > std::chrono::steady_clock::duration::zero()) {
        a.step = phase::delayed;
        auth_wait_ = true;
        log_debug("delaying the login of ", transport_peer(), " by ",
                  std::chrono::duration_cast<std::chrono::milliseconds>(delay).count(),
                  " ms after failed logins");
        transport_pause(std::chrono::duration_cast<std::chrono::microseconds>(delay));
        return false;
    }
    start_login();
    return false;
}

void mqtt_protocol::start_login() {
    if (state_ != state::awaiting_connect || !auth_ || !auth_->pending) return;
    auth_service* svc = listener_.auth;
    auto& a = *auth_;
    const mqtt::connect& c = *a.pending;
    // Set when a limiter delay ran first (we are on its timer, not inside on_connect).
    const bool was_waiting = auth_wait_;
    auth_wait_ = false;
    try {
        if (c.props.authentication_method) {
            a.method = *c.props.authentication_method;
            a.scram = std::make_unique<auth::scram_server>(svc->users());
            auto step = a.scram->client_first(c.props.authentication_data.value_or(""));
            if (step.status != auth::scram_status::challenge)
                return refuse_login(reason_code::not_authorized, c.client_id,
                                    auth::to_string(step.error), true);
            a.step = phase::scram;
            send_auth(reason_code::continue_authentication, std::move(step.message));
            // The client-final AUTH is read as usual (inside on_connect, reading goes on).
            if (was_waiting) after_auth_wait();
            return;
        }
        a.step = phase::verifying;
        auth_wait_ = true;
        // The check holds the connection: while it runs no read or write is pending on the
        // socket, so nothing else keeps the connection alive.
        const bool queued = svc->verify(
            svc->users(), *c.username, *c.password, [self = shared_from_this()](bool ok) {
                // On a verifier thread: only post back to the connection's own thread.
                self->transport_post(
                    [](mqtt_protocol& me, std::uintptr_t result) {
                        me.on_password_checked(result != 0);
                    },
                    ok ? 1 : 0);
            });
        if (!queued) {
            auth_wait_ = false;
            refuse_login(reason_code::server_busy, c.client_id, "too many logins being checked",
                         false);
        }
    } catch (const std::exception& e) {
        log_error("connection ", transport_peer(), ": internal error: ", e.what(), "; closing it");
        close();
    }
}

void mqtt_protocol::on_password_checked(bool ok) {
    if (state_ != state::awaiting_connect || !auth_ || auth_->step != phase::verifying) return;
    auth_->step = phase::none;
    auth_wait_ = false;
    auto c = std::move(auth_->pending);
    try {
        if (!ok)
            return refuse_login(reason_code::bad_user_name_or_password, c->client_id,
                                "bad user name or password", true);
        listener_.auth->login_succeeded(peer_address(transport_peer()));
        auth_->username = *c->username;
        accept_connect(*c);
        after_auth_wait();
    } catch (const std::exception& e) {
        log_error("connection ", transport_peer(), ": internal error: ", e.what(), "; closing it");
        close();
    }
}

void mqtt_protocol::after_auth_wait() {
    flush();
    // Packets that arrived after the CONNECT wait in the decoder: handle them, read on.
    if (state_ == state::connected || state_ == state::awaiting_connect) transport_read();
}

void mqtt_protocol::refuse_login(reason_code rc, const std::string& client, const char* why,
                                 bool failure) {
    const std::string peer = transport_peer();
    log_warn("login refused for client '", client, "' from ", peer, ": ", why, " (",
             mqtt::to_string(rc), ")");
    if (failure && listener_.auth) listener_.auth->login_failed(peer_address(peer));
    if (auth_) {
        auth_->pending.reset();
        auth_->step = phase::none;
    }
    connack_error(rc);
}

// --- AUTH -------------------------------------------------------------------------------------

void mqtt_protocol::send_auth(reason_code rc, std::string data) {
    mqtt::auth a;
    a.reason = rc;
    a.props.authentication_method = auth_->method;
    a.props.authentication_data = std::move(data);
    send(a);
}

void mqtt_protocol::on_auth(const mqtt::auth& p) {
    const bool connecting = state_ == state::awaiting_connect;
    auto protocol_error = [&](const char* why) {
        if (!connecting) return disconnect(reason_code::protocol_error, why);
        log_debug("closing ", transport_peer(), ": ", why);
        connack_error(reason_code::protocol_error);
    };
    // AUTH only continues the method the CONNECT chose (MQTT-3.15.2-1, MQTT-4.12.0-5).
    if (!auth_ || auth_->method.empty())
        return protocol_error("AUTH without authentication method");
    if (p.props.authentication_method != auth_->method)
        return protocol_error("AUTH with another authentication method");
    auto& a = *auth_;
    const std::string data = p.props.authentication_data.value_or("");
    const std::string peer = transport_peer();

    if (connecting) {
        if (a.step != phase::scram || p.reason != reason_code::continue_authentication)
            return protocol_error("unexpected AUTH during CONNECT");
        auto step = a.scram->client_final(data);
        if (step.status != auth::scram_status::success)
            return refuse_login(step.error == auth::scram_error::invalid_proof
                                    ? reason_code::bad_user_name_or_password
                                    : reason_code::not_authorized,
                                a.pending->client_id, auth::to_string(step.error), true);
        listener_.auth->login_succeeded(peer_address(peer));
        a.step = phase::none;
        a.username = a.scram->username();
        a.connack_data = std::move(step.message);
        auto c = std::move(a.pending);
        return accept_connect(*c);
    }

    // Re-authentication (spec 4.12.1): AUTH 0x19 with client-first, our AUTH 0x18 with
    // server-first, AUTH 0x18 with client-final, our AUTH 0x00 with server-final. The
    // connection stays who it was; a failure ends it.
    auto failed = [&](const auth::scram_step& step) {
        log_warn("re-authentication of client '", client_id(), "' from ", peer, " failed: ",
                 auth::to_string(step.error));
        listener_.auth->login_failed(peer_address(peer));
        a.step = phase::none;
        disconnect(reason_code::not_authorized, "re-authentication failed");
    };
    if (p.reason == reason_code::re_authenticate && a.step == phase::none) {
        a.scram->use_store(listener_.auth->users());  // the users as they are now
        auto step = a.scram->client_first(data);
        if (step.status != auth::scram_status::challenge) return failed(step);
        a.step = phase::reauth;
        return send_auth(reason_code::continue_authentication, std::move(step.message));
    }
    if (p.reason == reason_code::continue_authentication && a.step == phase::reauth) {
        auto step = a.scram->client_final(data);
        if (step.status != auth::scram_status::success) return failed(step);
        a.step = phase::none;
        log_debug("client ", client_id(), " re-authenticated as ", a.scram->username());
        return send_auth(reason_code::success, std::move(step.message));
    }
    return protocol_error("unexpected AUTH");
}

// --- ACL --------------------------------------------------------------------------------------

bool mqtt_protocol::publish_allowed(const std::string& topic) {
    auth_service* svc = listener_.auth;
    if (!svc || !svc->has_acl()) return true;
    auto& a = auth_state();
    const std::uint64_t generation = svc->acl_generation();
    if (!a.acl || a.acl_generation != generation) {
        // A reload replaced the rules: decisions made under the old ones are dropped.
        a.acl = svc->acl();
        a.acl_generation = generation;
        for (auto& d : a.recent) d.topic.clear();
    }
    for (const auto& d : a.recent)
        if (d.topic == topic) return d.allowed;
    const std::string_view id = session_ ? std::string_view(client_id())
                                : a.pending ? std::string_view(a.pending->client_id)
                                            : std::string_view();
    auth::acl_identity who{id, a.username ? std::optional<std::string_view>(*a.username)
                                          : std::nullopt};
    const bool allowed = a.acl->check_publish(who, topic).allowed;
    auto& slot = a.recent[a.next_slot];
    a.next_slot = static_cast<std::uint8_t>((a.next_slot + 1) % a.recent.size());
    slot.topic = topic;
    slot.allowed = allowed;
    return allowed;
}

bool mqtt_protocol::subscribe_allowed(const std::string& filter) {
    auth_service* svc = listener_.auth;
    if (!svc || !svc->has_acl()) return true;
    auto acl = svc->acl();
    auto& a = auth_state();
    auth::acl_identity who{client_id(), a.username
                                            ? std::optional<std::string_view>(*a.username)
                                            : std::nullopt};
    const auto decision = acl->check_subscribe(who, filter);
    if (!decision.allowed)
        log_warn("client '", client_id(), "'", a.username ? " (user " + *a.username + ")" : "",
                 ": subscription to ", filter, " denied by the ACL",
                 decision.rule ? " (line " + std::to_string(decision.rule->line) + ")"
                               : std::string(" (default)"));
    return decision.allowed;
}

void mqtt_protocol::note_denied_publish(const std::string& topic) {
    std::uint64_t suppressed = 0;
    if (!listener_.auth->should_log_denied_publish(suppressed)) return;
    const auto& user = auth_ ? auth_->username : std::nullopt;
    log_warn("client '", client_id(), "'", user ? " (user " + *user + ")" : "",
             ": publish to ", topic, " denied by the ACL",
             suppressed ? " (" + std::to_string(suppressed) + " more denied publishes not logged)"
                        : std::string());
}

}  // namespace sluice::broker

#include "broker/kafka_sasl.hpp"

#include <utility>

#include "auth/sasl_plain.hpp"

namespace sluice::broker {

using kafka::error_code;
using kind = kafka_sasl::outcome::kind;

kafka::sasl_handshake_response kafka_sasl::handshake(std::string_view mechanism, int version) {
    kafka::sasl_handshake_response r;
    if (users_)
        r.mechanisms = {std::string(sasl_plain_mechanism), std::string(sasl_scram_mechanism)};
    if (step_ == step::scram_final || step_ == step::checking || step_ == step::failed) {
        // A handshake in the middle of an exchange (or after a failure): Kafka's state error.
        step_ = step::failed;
        r.error = error_code::illegal_sasl_state;
        return r;
    }
    if (!users_ || (mechanism != sasl_plain_mechanism && mechanism != sasl_scram_mechanism)) {
        step_ = step::idle;
        r.error = error_code::unsupported_sasl_mechanism;
        return r;
    }
    mechanism_ = std::string(mechanism);
    raw_ = version == 0;
    step_ = step::handshaken;
    return r;
}

kafka_sasl::outcome kafka_sasl::fail(std::string why, error_code e, bool counts) {
    step_ = step::failed;
    outcome o;
    o.what = kind::failure;
    o.error = e;
    o.why = std::move(why);
    o.counts_as_failure = counts;
    return o;
}

kafka_sasl::outcome kafka_sasl::authenticate(std::string_view token,
                                             auth::user_store_ptr current_users) {
    if (step_ == step::handshaken && mechanism_ == sasl_plain_mechanism) {
        auto m = auth::parse_sasl_plain(token);
        if (!m) return fail("malformed PLAIN message", error_code::sasl_authentication_failed, true);
        if (!m->authzid.empty() && m->authzid != m->authcid)
            return fail("PLAIN authorization id other than the user name",
                        error_code::sasl_authentication_failed, true);
        if (user_ && *user_ != m->authcid)
            return fail("re-authentication as another user", error_code::sasl_authentication_failed,
                        true);
        step_ = step::checking;
        pending_user_ = m->authcid;
        outcome o;
        o.what = kind::check_password;
        o.user = std::move(m->authcid);
        o.password = std::move(m->password);
        return o;
    }
    if (step_ == step::handshaken) {  // SCRAM-SHA-256: client-first
        if (!scram_) {
            auth::scram_server_options options;
            options.nonce_suffix_match = true;  // what Kafka accepts (librdkafka 2.0.2)
            scram_ = std::make_unique<auth::scram_server>(current_users ? current_users : users_,
                                                          std::move(options));
        }
        else
            scram_->use_store(current_users ? current_users : users_);
        auto s = scram_->client_first(token);
        if (s.status != auth::scram_status::challenge)
            return fail(auth::to_string(s.error), error_code::sasl_authentication_failed, true);
        step_ = step::scram_final;
        outcome o;
        o.what = kind::challenge;
        o.token = std::move(s.message);
        return o;
    }
    if (step_ == step::scram_final) {
        auto s = scram_->client_final(token);
        if (s.status != auth::scram_status::success)
            return fail(auth::to_string(s.error), error_code::sasl_authentication_failed, true);
        step_ = step::idle;
        user_ = scram_->username();
        outcome o;
        o.what = kind::success;
        o.token = std::move(s.message);
        o.user = *user_;
        return o;
    }
    return fail("SaslAuthenticate without a SaslHandshake that chose a mechanism",
                error_code::illegal_sasl_state, false);
}

kafka_sasl::outcome kafka_sasl::password_checked(bool ok) {
    if (step_ != step::checking)
        return fail("password check out of order", error_code::illegal_sasl_state, false);
    if (!ok)
        return fail("bad user name or password", error_code::sasl_authentication_failed, true);
    step_ = step::idle;
    user_ = std::move(pending_user_);
    outcome o;
    o.what = kind::success;
    o.user = *user_;
    return o;
}

}  // namespace sluice::broker

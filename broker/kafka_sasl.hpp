#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "auth/scram_server.hpp"
#include "auth/user_store.hpp"
#include "kafka/error_code.hpp"
#include "kafka/messages_admin.hpp"

// One Kafka connection's SASL state (docs/security.md, "The Kafka listener"): the mechanism
// its SaslHandshake chose, how its tokens are framed, the SCRAM-SHA-256 exchange, and who the
// connection is once authenticated. No socket: the connection feeds it tokens and sends what
// it answers.
//
// Framing: after SaslHandshake v1 the tokens travel in SaslAuthenticate requests (librdkafka);
// after v0 the next frames are the raw tokens, size-prefixed, answered the same way, until the
// exchange ends (kafka-python 2.0.2; Kafka's own rule).
//
// PLAIN's password check is PBKDF2 (about 0.18 s of CPU): authenticate() only parses the
// message and returns `check_password`; the connection runs the check on auth_service's
// verifier threads and reports the result with password_checked(). SCRAM keeps derived keys
// and runs here, on the connection's thread.
//
// Re-authentication (KIP-368): a new SaslHandshake and SaslAuthenticate after a success are
// accepted; they must name the user the connection authenticated as (its identity does not
// change), and the connection stays authenticated while they run.
//
// Threads: the connection's own.
namespace sluice::broker {

inline constexpr std::string_view sasl_plain_mechanism = "PLAIN";
inline constexpr std::string_view sasl_scram_mechanism = "SCRAM-SHA-256";

class kafka_sasl {
  public:
    // `users` null: no password file, so no mechanism is offered.
    explicit kafka_sasl(auth::user_store_ptr users) : users_(std::move(users)) {}

    // SaslHandshake of `version`: the mechanisms offered and whether `mechanism` is one. After
    // an error no exchange is open (the client may try another mechanism).
    kafka::sasl_handshake_response handshake(std::string_view mechanism, int version);

    // True when the connection's next frame is a raw token (after a v0 handshake, until the
    // exchange ends).
    bool raw_tokens() const { return raw_ && (step_ == step::handshaken || step_ == step::scram_final); }

    // True when the next token starts an exchange (the failed-login limiter's delay goes first).
    bool starts_exchange() const { return step_ == step::handshaken; }

    struct outcome {
        enum class kind {
            challenge,       // send `token`, wait for the client's next one
            success,         // send `token` (may be empty): authenticated as user()
            failure,         // refuse with `error` (SASL_AUTHENTICATION_FAILED or
                             // ILLEGAL_SASL_STATE) and close; `why` for the log and message
            check_password,  // PLAIN: check `user`/`password`, then password_checked()
        };
        kind what = kind::failure;
        std::string token;
        kafka::error_code error = kafka::error_code::sasl_authentication_failed;
        std::string why;
        std::string user, password;
        bool counts_as_failure = false;  // a wrong password or proof (the login limiter)
    };

    // One client token. `current_users` is the user store as it is now (a reload since the
    // first login counts for a re-authentication).
    outcome authenticate(std::string_view token, auth::user_store_ptr current_users);
    // The result of the check asked for by `check_password`.
    outcome password_checked(bool ok);

    // A TLS client certificate's name (use_identity_as_username): authenticated without SASL.
    void set_identity(std::string user) { user_ = std::move(user); }

    bool authenticated() const { return user_.has_value(); }
    const std::optional<std::string>& user() const { return user_; }
    // The mechanism of the exchange open or last completed ("" if none).
    const std::string& mechanism() const { return mechanism_; }

  private:
    enum class step : std::uint8_t {
        idle,         // no exchange open (before a handshake, or after one ended)
        handshaken,   // a mechanism is chosen; the first token is due
        scram_final,  // server-first sent; the client-final token is due
        checking,     // a PLAIN password is being checked
        failed,       // an exchange failed: nothing more is accepted
    };
    outcome fail(std::string why, kafka::error_code e, bool counts);

    auth::user_store_ptr users_;
    step step_ = step::idle;
    bool raw_ = false;
    std::string mechanism_;
    std::unique_ptr<auth::scram_server> scram_;
    std::string pending_user_;  // PLAIN: the user whose password is being checked
    std::optional<std::string> user_;
};

}  // namespace sluice::broker

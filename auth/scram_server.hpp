#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "auth/user_store.hpp"

// The server side of SCRAM-SHA-256 (RFC 5802, RFC 7677) as a state machine over messages, for
// MQTT 5 enhanced authentication (Authentication Method "SCRAM-SHA-256", the messages are the
// Authentication Data of CONNECT/AUTH/CONNACK) and Kafka SaslHandshake/SaslAuthenticate (the
// messages are the auth_bytes). The transport is the caller's.
//
//   client_first("n,,n=user,r=...")  -> challenge, "r=...,s=...,i=..."  (send it)
//   client_final("c=biws,r=...,p=...") -> success, "v=..."              (send it; logged in)
//                                     or failure, "e=invalid-proof"     (send it if the
//                                        transport carries it; refuse the login)
//
// Channel binding is not supported: gs2 flags "n" (client does not support it) and "y"
// (client does, thinks the server does not) are accepted; "p=..." fails with
// "e=channel-binding-not-supported". An authzid ("a=") must equal the user name. User names
// must be valid_username() (printable ASCII): anything else, non-ASCII included, fails with
// "e=invalid-username-encoding" since SASLprep is not implemented. An unknown user gets a
// server-first message with a fake salt (stable per user and snapshot) and the store's typical
// iteration count, and fails only at the proof, so the exchange does not reveal which names
// exist.
//
// Re-authentication (MQTT 5 AUTH with reason 0x19, Kafka KIP-368): after a success, feed a new
// client-first message to the same object. It must name the same user as the first
// authentication, or it fails ("e=other-error"): a connection's identity does not change.
//
// Threads: one object per connection, used by one thread at a time. The user store it reads
// is an immutable snapshot (user_store.hpp).
namespace sluice::auth {

enum class scram_status {
    challenge,  // send `message` and wait for the client's next message
    success,    // send `message` (server-final "v=..."); authenticated
    failure,    // refuse; `message` is the RFC's server-final error ("e=...")
};

enum class scram_error {
    none,
    malformed,                      // e=invalid-encoding
    invalid_username,               // e=invalid-username-encoding
    channel_binding_not_supported,  // e=channel-binding-not-supported
    channel_binding_mismatch,       // e=channel-bindings-dont-match
    extensions_not_supported,       // e=extensions-not-supported (an "m=" extension)
    nonce_mismatch,                 // e=other-error
    invalid_proof,                  // e=invalid-proof (also: unknown user)
    identity_changed,               // e=other-error (re-authentication as another user)
    authzid_not_supported,          // e=other-error (an authzid other than the user name)
    wrong_state,                    // e=other-error (message out of order, or after a failure)
};

const char* to_string(scram_error e);

struct scram_step {
    scram_status status = scram_status::failure;
    std::string message;
    scram_error error = scram_error::none;
};

struct scram_server_options {
    // Makes the server's part of the nonce; the default is 18 bytes of RAND_bytes in base64.
    // Tests inject a fixed nonce. Must return a valid nonce (printable, no ',').
    std::function<std::string()> nonce;
    // Longest client message accepted.
    std::size_t max_message_size = 4096;
    // Accept a client-final nonce that merely ends with the exchange's nonce, as Kafka's own
    // server does: librdkafka 2.0.2 sends its client nonce twice ("r=<client><client><server>").
    // The proof still covers the message as sent. Off for MQTT, on for the Kafka listener.
    bool nonce_suffix_match = false;
};

class scram_server {
  public:
    explicit scram_server(user_store_ptr store, scram_server_options options = {});

    scram_step client_first(std::string_view message);
    scram_step client_final(std::string_view message);

    // The next exchange (a re-authentication) uses this snapshot; the current one keeps its own.
    void use_store(user_store_ptr store) { store_ = std::move(store); }

    // True after a success, also while a re-authentication is in progress (the connection is
    // still the user it was; the broker decides what a failed re-authentication means).
    bool authenticated() const { return !username_.empty(); }
    // The authenticated user; empty before the first success.
    const std::string& username() const { return username_; }

  private:
    enum class state { initial, awaiting_final, done, failed };

    scram_step fail(scram_error e);

    user_store_ptr store_;
    scram_server_options options_;
    state state_ = state::initial;
    std::string username_;  // after a success

    // The exchange in progress.
    user_store_ptr exchange_store_;
    std::string user_;
    std::string gs2_header_;
    std::string client_first_bare_;
    std::string server_first_;
    std::string nonce_;
    bool fake_user_ = false;
    scram_credentials credentials_;
};

}  // namespace sluice::auth

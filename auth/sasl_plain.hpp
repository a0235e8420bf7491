#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "auth/user_store.hpp"

// SASL PLAIN (RFC 4616) as Kafka's SaslAuthenticate carries it: authzid NUL authcid NUL passwd.
//
// Threads: stateless functions, any thread.
namespace sluice::auth {

struct sasl_plain_message {
    std::string authzid;  // empty when absent
    std::string authcid;  // the user name
    std::string password;
};

// nullopt unless there are exactly two NULs, authcid and password are non-empty and every
// field is at most 255 bytes (RFC 4616's limit).
std::optional<sasl_plain_message> parse_sasl_plain(std::string_view message);

enum class sasl_plain_result {
    ok,
    malformed,              // not a PLAIN message
    authzid_not_supported,  // an authzid other than the user name (acting as another user)
    invalid_credentials,    // unknown user or wrong password (not told apart)
};

// Parses and checks against the store (user_store::verify: PBKDF2, expensive). On ok, the
// user name is written to `user`.
sasl_plain_result authenticate_sasl_plain(const user_store& store, std::string_view message,
                                          std::string& user);

}  // namespace sluice::auth

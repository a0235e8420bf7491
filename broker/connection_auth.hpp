#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "auth/acl.hpp"
#include "auth/scram_server.hpp"
#include "mqtt/packet.hpp"

// One MQTT connection's authentication state (docs/security.md): who it is for the ACL, a
// CONNECT waiting for its authentication to finish, the SCRAM-SHA-256 exchange (kept for
// re-authentication), and the ACL decisions of its recent publish topics.
//
// A connection makes one only when it needs one: a login with a user name or an
// authentication method, a TLS identity, or an ACL to check. An anonymous connection on a
// broker without an ACL file has none (its cost is the null pointer).
//
// Threads: the connection's own.
namespace sluice::broker {

// The Authentication Method of MQTT 5 enhanced authentication the broker offers.
inline constexpr std::string_view scram_method = "SCRAM-SHA-256";

struct connection_auth {
    enum class phase : std::uint8_t {
        none,       // nothing in progress (authenticated, anonymous, or refused)
        delayed,    // the login limiter delays this attempt: a timer runs, reading is paused
        verifying,  // the password is checked on a verifier thread; reading is paused
        scram,      // CONNECT carried client-first, AUTH 0x18 went out: waiting for client-final
        reauth,     // re-authentication (AUTH 0x19) in progress: waiting for client-final
    };
    phase step = phase::none;

    // The user name the ACL sees (a checked login or a TLS identity); nullopt: anonymous.
    std::optional<std::string> username;
    // The CONNECT whose authentication is in progress; accepted or refused when it ends.
    std::unique_ptr<mqtt::connect> pending;

    // Enhanced authentication: the method agreed in CONNECT (empty: none) and its server.
    std::string method;
    std::unique_ptr<auth::scram_server> scram;
    std::string connack_data;  // server-final, sent in the CONNACK that ends the exchange

    // Publish decisions of the last few topics, valid while `acl_generation` is the service's.
    // Publishers mostly repeat a handful of topics, so a hit costs a string compare instead of
    // the rules (whose %c/%u substitution allocates).
    std::shared_ptr<const auth::acl> acl;
    std::uint64_t acl_generation = 0;
    struct decision {
        std::string topic;  // empty: unused slot (a topic name is never empty here)
        bool allowed = false;
    };
    std::array<decision, 4> recent;
    std::uint8_t next_slot = 0;
};

}  // namespace sluice::broker

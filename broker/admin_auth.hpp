#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "auth/user_store.hpp"

// Who may use the admin API of an `http` listener (docs/operations.md, "Authentication"):
// HTTP Basic against the broker's password file, restricted to the listener's `admin_users`,
// and/or a bearer token read from `admin_token_file`. Without a password file and a token
// there is nothing to check: required() is false and the API stays anonymous.
//
// A Basic check is PBKDF2 (about 0.18 s of CPU), so it runs on auth_service's verifier threads
// like an MQTT login; a successful one is cached for `cache_ttl`, keyed by the SHA-256 of the
// Authorization header, so a dashboard polling every second costs one hash per request. The
// cache remembers that the password was right under one snapshot of the password file: a
// reload (SIGHUP) that replaces the file makes every entry stale, and membership of
// admin_users is looked up on every request. Failures count in the broker's failed-login
// limiter under the client's address, as MQTT logins do.
//
// Threads: check() from the HTTP thread; its `done` runs inline or on a verifier thread.
// set_service() and set_credentials() from the main thread. `mu_` guards the credentials and
// the cache (a leaf lock: nothing else is taken under it).
namespace sluice::broker {

class auth_service;

enum class admin_verdict {
    allowed,
    unauthenticated,  // no or bad credentials: 401 with WWW-Authenticate
    forbidden,        // a right password of a user not in admin_users: 403
    busy,             // too many password checks queued, or the broker still starting: 503
};

struct admin_credentials {
    std::vector<std::string> users;  // admin_users
    std::string token;               // the content of admin_token_file; empty: no token
};

// The token in `path`: its first line without surrounding whitespace. Throws config_error
// naming `key` when the file cannot be read or holds no token.
std::string read_admin_token(const std::string& path, const std::string& key);

struct listener_settings;

// The credentials an http listener's settings name (the token file read). Throws config_error.
admin_credentials admin_credentials_of(const listener_settings& l);

class admin_auth {
  public:
    static constexpr auto cache_ttl = std::chrono::seconds(60);
    static constexpr std::size_t cache_capacity = 256;

    // `has_users`: a password file is configured (its auth_service comes later: set_service).
    admin_auth(bool has_users, admin_credentials credentials);
    // The admin_auth of http listener `l` of a broker with (has_users) or without a password
    // file. Throws config_error when the token file does not load, and when the API would be
    // anonymous on an address other than loopback without allow_anonymous_admin.
    static std::unique_ptr<admin_auth> for_listener(const listener_settings& l, bool has_users);

    bool required() const;
    // Once the broker's auth_service exists (after the log is recovered); until then Basic
    // checks answer busy. A token needs no service.
    void set_service(auth_service* service);
    // SIGHUP: new admin_users and token.
    void set_credentials(admin_credentials credentials);

    // How long to hold a request from `peer` (an address) before checking it: the failed-login
    // limiter's delay, zero when the address has no recent failures.
    std::chrono::steady_clock::duration delay_for(std::string_view peer) const;

    // Decides for the Authorization header `authorization` of a request from `peer`; calls
    // `done` exactly once.
    void check(std::string_view authorization, std::string_view peer,
               std::function<void(admin_verdict)> done);

  private:
    struct cache_entry {
        std::vector<std::uint8_t> key;  // SHA-256 of the header
        std::string user;
        auth::user_store_ptr users;  // the snapshot the password was checked against
        std::chrono::steady_clock::time_point expires;
    };
    bool is_admin_locked(const std::string& user) const;
    void remember(std::vector<std::uint8_t> key, std::string user, auth::user_store_ptr users);

    const bool has_users_;
    mutable std::mutex mu_;
    admin_credentials credentials_;
    std::vector<cache_entry> cache_;
    auth_service* service_ = nullptr;
};

}  // namespace sluice::broker

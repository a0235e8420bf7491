#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "auth/acl.hpp"
#include "auth/login_limiter.hpp"
#include "auth/user_store.hpp"
#include "broker/config.hpp"

// What the listeners authenticate against and authorise with (docs/security.md): the users of
// the password file, the ACL file, the failed-login limiter, and the threads that check plain
// passwords. One per broker, shared by every listener (listener_state::auth); the Kafka
// listener's SASL can use the same user store.
//
// A plain-password check is PBKDF2-HMAC-SHA-512 with the file's iteration count (210,000 by
// default: about 0.18 s of CPU). Run on an io thread it would stall every connection of that
// thread for as long, so checks run on `verify_threads` threads of their own, behind a bounded
// queue; the result is posted back to the connection's thread. SCRAM needs no such work on
// the server (it keeps only derived keys) and runs on the io thread.
//
// Threads: users(), acl(), acl_generation(), the limiter calls and verify() from any thread;
// reload() from the main thread (SIGHUP). Snapshots are immutable; a reload swaps them under
// `mu_`, and whoever holds an old snapshot keeps it (a login in progress, a cached ACL).
namespace sluice::broker {

class auth_service {
  public:
    using acl_ptr = std::shared_ptr<const auth::acl>;

    // Loads the password file and the ACL file named in `settings` (either may be empty: not
    // used). Throws config_error naming the key and flag when a file does not load.
    // `verify_threads` 0 checks passwords inline on the caller's thread (unit tests).
    explicit auth_service(const auth_settings& settings, unsigned verify_threads = 1);
    ~auth_service();
    auth_service(const auth_service&) = delete;
    auth_service& operator=(const auth_service&) = delete;

    // Whether a password file / an ACL file is configured (fixed for the broker's life).
    bool has_users() const { return !settings_.password_file.empty(); }
    bool has_acl() const { return !settings_.acl_file.empty(); }

    // The current snapshots; null when not configured.
    auth::user_store_ptr users() const;
    acl_ptr acl() const;
    // Bumped by every reload that replaced the ACL: connections compare it with the one their
    // cached decisions were made under (one relaxed load per check).
    std::uint64_t acl_generation() const { return acl_generation_.load(std::memory_order_acquire); }

    // SIGHUP: loads both files again; a file that does not load keeps its previous snapshot.
    // Logs one line per file either way; returns what was reloaded ("password file", "ACL
    // file").
    std::vector<std::string> reload();

    // Checks `password` for `user` against `store` off the caller's thread and calls `done`
    // with the result on a verifier thread (inline when there are none). False when the queue
    // is full (`done` is not called): the caller refuses the login as server busy.
    bool verify(auth::user_store_ptr store, std::string user, std::string password,
                std::function<void(bool)> done);

    // The failed-login limiter (auth/login_limiter.hpp), by source address.
    std::chrono::steady_clock::duration login_delay(std::string_view address);
    void login_failed(std::string_view address);
    void login_succeeded(std::string_view address);

    // Denied publishes can come at wire speed: true at most once per second across the broker
    // (then `suppressed` says how many were not logged since the last line).
    bool should_log_denied_publish(std::uint64_t& suppressed);

    // Stops and joins the verifier threads; queued checks are dropped (their callbacks never
    // run). Call before the io pool goes (the callbacks post to its contexts).
    void stop();

    static constexpr std::size_t max_queued_checks = 4096;

  private:
    void worker();

    const auth_settings settings_;
    mutable std::mutex mu_;  // guards users_ and acl_ (the pointers, not what they point to)
    auth::user_store_ptr users_;
    acl_ptr acl_;
    std::atomic<std::uint64_t> acl_generation_{1};

    std::mutex limiter_mu_;  // guards limiter_
    auth::login_limiter limiter_;

    struct check {
        auth::user_store_ptr store;
        std::string user, password;
        std::function<void(bool)> done;
    };
    std::mutex queue_mu_;  // guards queue_ and stopping_
    std::condition_variable queue_cv_;
    std::deque<check> queue_;
    bool stopping_ = false;
    std::vector<std::thread> workers_;

    std::atomic<std::int64_t> last_denied_log_ms_{0};
    std::atomic<std::uint64_t> denied_unlogged_{0};
};

// The address part of a transport's "host:port" peer string ("[::1]:5" and "::1:5" alike), the
// key the login limiter counts failures under.
std::string_view peer_address(std::string_view peer);

}  // namespace sluice::broker

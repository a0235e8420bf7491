#pragma once

#include <chrono>
#include <cstddef>
#include <list>
#include <string>
#include <string_view>
#include <unordered_map>

// Slows down password guessing per source address. After `max_failures` failed logins within
// `window` of the first one, each further attempt from that address is to be delayed: by
// `base_delay`, doubling with every further failure, up to `max_delay`. The limiter only
// computes the delay; the broker applies it with a timer before processing the attempt (and
// should apply it to the failure response too, so a client cannot just reconnect faster).
// A success clears the address; `window` after the first failure of a window, the address
// starts again with a clean count.
//
// Memory is bounded: at most `max_addresses` addresses are tracked; recording a failure for a
// new address when full evicts the one seen least recently.
//
// Time is a parameter (steady_clock time points from the caller); the limiter reads no clock.
//
// Threads: not thread-safe. Use one per io thread (an address's connections may then land on
// different threads, which weakens the limit by at most the thread count) or guard one with a
// mutex.
namespace sluice::auth {

struct login_limiter_options {
    std::size_t max_failures = 5;
    std::chrono::steady_clock::duration window = std::chrono::minutes(5);
    std::chrono::steady_clock::duration base_delay = std::chrono::seconds(1);
    std::chrono::steady_clock::duration max_delay = std::chrono::seconds(30);
    std::size_t max_addresses = 10'000;
};

class login_limiter {
  public:
    using time_point = std::chrono::steady_clock::time_point;
    using duration = std::chrono::steady_clock::duration;

    explicit login_limiter(login_limiter_options options = {});

    // The delay to apply before processing an attempt from `address` at `now` (zero if none).
    duration delay(std::string_view address, time_point now) const;

    void record_failure(std::string_view address, time_point now);
    void record_success(std::string_view address);

    std::size_t tracked() const { return entries_.size(); }

  private:
    struct entry {
        std::string address;
        time_point window_start;
        std::size_t failures = 0;
    };
    using list = std::list<entry>;  // most recently seen first

    duration delay_for(const entry& e, time_point now) const;

    login_limiter_options options_;
    list order_;
    std::unordered_map<std::string_view, list::iterator> entries_;  // keys view list strings
};

}  // namespace sluice::auth

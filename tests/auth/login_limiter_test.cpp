#include <catch2/catch.hpp>

#include "auth/login_limiter.hpp"

using namespace sluice::auth;
using namespace std::chrono_literals;

namespace {

login_limiter_options options() {
    login_limiter_options o;
    o.max_failures = 3;
    o.window = 60s;
    o.base_delay = 1s;
    o.max_delay = 8s;
    o.max_addresses = 3;
    return o;
}

const login_limiter::time_point t0{std::chrono::hours(1000)};

}  // namespace

TEST_CASE("login limiter: delays after N failures in the window, doubling to a cap",
          "[auth][limiter]") {
    login_limiter l(options());
    CHECK(l.delay("10.0.0.1", t0) == 0s);
    l.record_failure("10.0.0.1", t0);
    l.record_failure("10.0.0.1", t0 + 1s);
    CHECK(l.delay("10.0.0.1", t0 + 2s) == 0s);
    l.record_failure("10.0.0.1", t0 + 2s);
    CHECK(l.delay("10.0.0.1", t0 + 3s) == 1s);
    l.record_failure("10.0.0.1", t0 + 3s);
    CHECK(l.delay("10.0.0.1", t0 + 4s) == 2s);
    l.record_failure("10.0.0.1", t0 + 5s);
    CHECK(l.delay("10.0.0.1", t0 + 6s) == 4s);
    l.record_failure("10.0.0.1", t0 + 7s);
    CHECK(l.delay("10.0.0.1", t0 + 8s) == 8s);
    for (int i = 0; i < 100; ++i) l.record_failure("10.0.0.1", t0 + 9s);
    CHECK(l.delay("10.0.0.1", t0 + 10s) == 8s);
    // Other addresses are not affected.
    CHECK(l.delay("10.0.0.2", t0 + 10s) == 0s);
}

TEST_CASE("login limiter: the window expires and a success clears", "[auth][limiter]") {
    login_limiter l(options());
    for (int i = 0; i < 3; ++i) l.record_failure("a", t0);
    CHECK(l.delay("a", t0 + 59s) == 1s);
    CHECK(l.delay("a", t0 + 60s) == 0s);
    // A failure after the window starts a new count.
    l.record_failure("a", t0 + 61s);
    CHECK(l.delay("a", t0 + 62s) == 0s);
    l.record_failure("a", t0 + 62s);
    l.record_failure("a", t0 + 63s);
    CHECK(l.delay("a", t0 + 64s) == 1s);
    l.record_success("a");
    CHECK(l.delay("a", t0 + 64s) == 0s);
    CHECK(l.tracked() == 0);
    l.record_success("never-seen");
}

TEST_CASE("login limiter: bounded memory evicts the least recently seen", "[auth][limiter]") {
    login_limiter l(options());
    for (const char* a : {"a", "b", "c"})
        for (int i = 0; i < 3; ++i) l.record_failure(a, t0);
    CHECK(l.tracked() == 3);
    l.record_failure("a", t0 + 1s);  // "a" is now the most recent, "b" the least
    l.record_failure("d", t0 + 2s);
    CHECK(l.tracked() == 3);
    CHECK(l.delay("b", t0 + 3s) == 0s);  // evicted
    CHECK(l.delay("a", t0 + 3s) == 2s);
    CHECK(l.delay("c", t0 + 3s) == 1s);
    for (int i = 0; i < 1000; ++i) l.record_failure("x" + std::to_string(i), t0 + 4s);
    CHECK(l.tracked() == 3);
    CHECK(l.delay("x999", t0 + 5s) == 0s);
    l.record_failure("x999", t0 + 5s);
    l.record_failure("x999", t0 + 5s);
    CHECK(l.delay("x999", t0 + 5s) == 1s);
}

#include <catch2/catch.hpp>

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "broker/deadline_queue.hpp"

using namespace sluice::broker;
using namespace std::chrono_literals;

namespace {

const deadline_queue::time_point t0{};

}  // namespace

TEST_CASE("deadline_queue: callbacks run in deadline order, ties in scheduling order",
          "[broker][deadline_queue]") {
    deadline_queue q;
    std::string ran;
    q.schedule(t0 + 30ms, [&] { ran += 'c'; });
    q.schedule(t0 + 10ms, [&] { ran += 'a'; });
    q.schedule(t0 + 20ms, [&] { ran += 'b'; });
    q.schedule(t0 + 20ms, [&] { ran += 'B'; });  // same time as 'b', scheduled later
    q.schedule(t0 + 40ms, [&] { ran += 'd'; });
    CHECK(q.size() == 5);
    CHECK(q.next_deadline() == t0 + 10ms);

    CHECK(q.run_due(t0 + 5ms) == 0);
    CHECK(ran.empty());
    CHECK(q.run_due(t0 + 20ms) == 3);  // a deadline equal to now is due
    CHECK(ran == "abB");
    CHECK(q.next_deadline() == t0 + 30ms);
    CHECK(q.run_due(t0 + 1h) == 2);
    CHECK(ran == "abBcd");
    CHECK(q.empty());
    CHECK_FALSE(q.next_deadline());
}

TEST_CASE("deadline_queue: many random deadlines come out sorted", "[broker][deadline_queue]") {
    deadline_queue q;
    std::mt19937 rng(7);
    std::vector<long> out;
    std::vector<deadline_queue::handle> handles;
    for (int i = 0; i < 2000; ++i) {
        const long ms = static_cast<long>(rng() % 500);
        handles.push_back(
            q.schedule(t0 + std::chrono::milliseconds(ms), [&out, ms] { out.push_back(ms); }));
    }
    // Cancel every third one: the rest must still come out in order.
    std::size_t cancelled = 0;
    for (std::size_t i = 0; i < handles.size(); i += 3) cancelled += q.cancel(handles[i]);
    CHECK(q.size() == 2000 - cancelled);
    for (long now = 0; now <= 500; now += 37) q.run_due(t0 + std::chrono::milliseconds(now));
    q.run_due(t0 + 1s);
    CHECK(out.size() == 2000 - cancelled);
    CHECK(std::is_sorted(out.begin(), out.end()));
}

TEST_CASE("deadline_queue: cancel before and after the deadline", "[broker][deadline_queue]") {
    deadline_queue q;
    int ran = 0;
    auto a = q.schedule(t0 + 10ms, [&] { ++ran; });
    auto b = q.schedule(t0 + 20ms, [&] { ++ran; });
    CHECK(q.pending(a));
    CHECK(q.cancel(a));  // before it is due
    CHECK_FALSE(q.pending(a));
    CHECK_FALSE(q.cancel(a));  // twice is harmless
    CHECK(q.run_due(t0 + 30ms) == 1);
    CHECK(ran == 1);
    CHECK_FALSE(q.pending(b));
    CHECK_FALSE(q.cancel(b));  // after it ran
    CHECK_FALSE(q.cancel(deadline_queue::handle{}));

    // A stale handle does not cancel the deadline that reuses its slot.
    auto c = q.schedule(t0 + 40ms, [&] { ++ran; });
    CHECK(c.slot == b.slot);
    CHECK_FALSE(q.cancel(b));
    CHECK(q.pending(c));
    q.run_due(t0 + 40ms);
    CHECK(ran == 2);
}

TEST_CASE("deadline_queue: cancel destroys the callback at once", "[broker][deadline_queue]") {
    deadline_queue q;
    auto held = std::make_shared<int>(1);
    std::weak_ptr<int> watch = held;
    auto h = q.schedule(t0 + 24h * 7, [held] { (void)held; });
    held.reset();
    CHECK_FALSE(watch.expired());
    q.cancel(h);
    CHECK(watch.expired());
}

TEST_CASE("deadline_queue: callbacks may cancel, schedule and reschedule",
          "[broker][deadline_queue]") {
    deadline_queue q;
    std::string ran;
    deadline_queue::handle self{}, later{}, victim{};
    self = q.schedule(t0 + 10ms, [&] {
        ran += 's';
        CHECK_FALSE(q.cancel(self));                 // already removed before it runs
        CHECK(q.cancel(victim));                     // due in this same call, but cancelled first
        CHECK(q.reschedule(later, t0 + 5ms));        // earlier than now: next call, not this one
        q.schedule(t0 + 10ms, [&] { ran += 'n'; });  // due now: also the next call
        q.schedule(t0 + 50ms, [&] { ran += 'f'; });
    });
    victim = q.schedule(t0 + 15ms, [&] { ran += 'v'; });
    later = q.schedule(t0 + 100ms, [&] { ran += 'l'; });

    CHECK(q.run_due(t0 + 20ms) == 1);
    CHECK(ran == "s");
    // What the callback made due at or before 20 ms waits for the next call, in order.
    CHECK(q.next_deadline() > t0 + 20ms);
    CHECK(q.next_deadline() < t0 + 21ms);
    CHECK(q.run_due(t0 + 20ms) == 0);
    CHECK(q.run_due(t0 + 21ms) == 2);
    CHECK(ran == "sln");
    CHECK(q.run_due(t0 + 1s) == 1);
    CHECK(ran == "slnf");
    CHECK(q.empty());
}

TEST_CASE("deadline_queue: a callback re-arming itself at now runs once per call",
          "[broker][deadline_queue]") {
    deadline_queue q;
    int ran = 0;
    std::function<void()> tick = [&] {
        ++ran;
        q.schedule(t0 + 10ms, tick);
    };
    q.schedule(t0 + 10ms, tick);
    CHECK(q.run_due(t0 + 10ms) == 1);
    CHECK(q.run_due(t0 + 11ms) == 1);
    CHECK(ran == 2);
    CHECK(q.size() == 1);
}

TEST_CASE("deadline_queue: reschedule moves a deadline both ways", "[broker][deadline_queue]") {
    deadline_queue q;
    std::string ran;
    auto a = q.schedule(t0 + 10ms, [&] { ran += 'a'; });
    auto b = q.schedule(t0 + 20ms, [&] { ran += 'b'; });
    auto c = q.schedule(t0 + 30ms, [&] { ran += 'c'; });
    CHECK(q.reschedule(a, t0 + 40ms));  // a keep alive pushed back by traffic
    CHECK(q.reschedule(c, t0 + 5ms));
    CHECK(q.next_deadline() == t0 + 5ms);
    q.run_due(t0 + 1s);
    CHECK(ran == "cba");
    CHECK_FALSE(q.reschedule(b, t0 + 50ms));  // it ran
}

TEST_CASE("deadline_queue: a million schedule/cancel pairs leave nothing behind",
          "[broker][deadline_queue]") {
    deadline_queue q;
    // Long-lived deadlines that stay (sessions that really expire in a week)...
    for (int i = 0; i < 100; ++i) q.schedule(t0 + 24h * 7 + std::chrono::seconds(i), [] {});
    auto payload = std::make_shared<std::string>(256, 'x');
    // ...and reconnect churn: each connection schedules its session's expiry, then cancels it.
    int cancelled = 0;
    for (int i = 0; i < 1'000'000; ++i) {
        auto h = q.schedule(t0 + 24h * 7, [payload] { (void)payload; });
        cancelled += q.cancel(h);
    }
    CHECK(cancelled == 1'000'000);
    CHECK(q.size() == 100);
    CHECK(q.slot_capacity() == 101);  // the high-water mark of pending deadlines
    CHECK(payload.use_count() == 1);  // no cancelled callback is still held
    CHECK(q.next_deadline() == t0 + 24h * 7);
    CHECK(q.run_due(t0 + 24h * 8) == 100);
    CHECK(q.empty());
    CHECK(q.slot_capacity() == 101);
}

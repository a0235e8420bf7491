#include <catch2/catch.hpp>

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "broker/compact_mutex.hpp"

using sluice::broker::compact_mutex;

TEST_CASE("compact_mutex is four bytes and excludes") {
    STATIC_REQUIRE(sizeof(compact_mutex) == 4);
    compact_mutex mu;
    REQUIRE(mu.try_lock());
    CHECK_FALSE(mu.try_lock());
    mu.unlock();
    {
        std::lock_guard lock(mu);
        CHECK_FALSE(mu.try_lock());
    }
    CHECK(mu.try_lock());
    mu.unlock();
}

TEST_CASE("compact_mutex under contention loses no update and parks waiters") {
    // Sections long enough that waiters run out of spins and park on the word, so the
    // contended path (state 2, wait and notify) is taken, not only the fast one.
    compact_mutex mu;
    long counter = 0;  // plain: the lock alone orders it (ThreadSanitizer checks this)
    std::atomic<bool> go{false};
    constexpr int threads = 4, rounds = 2000;
    std::vector<std::thread> ts;
    for (int t = 0; t < threads; ++t)
        ts.emplace_back([&] {
            while (!go.load()) std::this_thread::yield();
            for (int i = 0; i < rounds; ++i) {
                std::lock_guard lock(mu);
                long v = counter;
                if (i % 100 == 0) std::this_thread::yield();  // hold it a while now and then
                counter = v + 1;
            }
        });
    go = true;
    for (auto& t : ts) t.join();
    CHECK(counter == threads * rounds);
}

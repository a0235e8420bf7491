// Sync rounds of the writer pool (store/writer_pool.hpp): deferred work runs at the end of
// the round, before any later plain task, and up to parallel_syncs of it at once; partitions
// sharing a writer sync in the same round; a round that comes sooner than the round gap is
// held and gathers what is queued meanwhile.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <string>
#include <vector>

#include "store/partition.hpp"
#include "tests/store/test_util.hpp"

using namespace sluice::store;
using namespace sluice::store::test;

namespace {

// Holds a worker busy until released, so the tasks posted meanwhile form one round.
class gate {
  public:
    void hold(writer_pool& pool, std::size_t worker) {
        pool.post(worker, [this] {
            std::unique_lock lock(mu_);
            cv_.wait(lock, [this] { return open_; });
        });
    }
    void release() {
        {
            std::lock_guard lock(mu_);
            open_ = true;
        }
        cv_.notify_all();
    }

  private:
    std::mutex mu_;
    std::condition_variable cv_;
    bool open_ = false;
};

}  // namespace

TEST_CASE("writer_pool: deferred work runs after the round's tasks, before a later plain task") {
    writer_pool pool(1);
    gate g;
    g.hold(pool, 0);
    std::mutex mu;
    std::vector<std::string> order;
    auto note = [&](std::string s) {
        std::lock_guard lock(mu);
        order.push_back(std::move(s));
    };
    for (int i = 0; i < 3; ++i)
        pool.post_round(0, [&, i] {
            note("task" + std::to_string(i));
            writer_pool::defer([&, i] { note("sync" + std::to_string(i)); });
        });
    pool.post(0, [&] { note("plain"); });
    pool.post_round(0, [&] {
        note("task3");
        writer_pool::defer([&] { note("sync3"); });
    });
    std::promise<void> done;
    pool.post(0, [&] { done.set_value(); });
    g.release();
    REQUIRE(done.get_future().wait_for(std::chrono::seconds(60)) == std::future_status::ready);
    CHECK(order == std::vector<std::string>{"task0", "task1", "task2", "sync0", "sync1", "sync2",
                                            "plain", "task3", "sync3"});
    CHECK(pool.rounds() == 2);
    CHECK(pool.deferred() == 4);
}

TEST_CASE("writer_pool: a round sooner than the gap is held and takes what is queued meanwhile") {
    // A gap no test outlives: the first round is not held (no round before it), the second
    // (two appends) is held until a plain task ends it, so nothing here depends on timing.
    writer_pool pool(1, 1, std::chrono::hours(1));
    std::mutex mu;
    std::vector<std::string> order;
    auto note = [&](std::string s) {
        std::lock_guard lock(mu);
        order.push_back(std::move(s));
    };
    std::promise<void> first_synced;
    pool.post_round(0, [&] {
        note("task1");
        writer_pool::defer([&] {
            note("sync1");
            first_synced.set_value();
        });
    });
    REQUIRE(first_synced.get_future().wait_for(std::chrono::seconds(60)) ==
            std::future_status::ready);
    std::promise<void> second_ran;
    pool.post_round(0, [&] {
        note("task2");
        writer_pool::note_appends(2);
        writer_pool::defer([&] { note("sync2"); });
        second_ran.set_value();
    });
    REQUIRE(second_ran.get_future().wait_for(std::chrono::seconds(60)) ==
            std::future_status::ready);
    // The worker now holds the round with sync2 deferred; these queue behind it.
    pool.post_round(0, [&] {
        note("task3");
        writer_pool::note_appends(1);
        writer_pool::defer([&] { note("sync3"); });
    });
    {
        std::lock_guard lock(mu);  // task3 may have run already; the held syncs have not
        CHECK(std::find(order.begin(), order.end(), "sync2") == order.end());
    }
    // A plain task never overtakes deferred work: it ends the hold.
    pool.post(0, [&] { note("plain"); });
    pool.stop();
    CHECK(order == std::vector<std::string>{"task1", "sync1", "task2", "task3", "sync2", "sync3",
                                            "plain"});
    CHECK(pool.rounds() == 2);
    CHECK(pool.deferred() == 3);
}

TEST_CASE("writer_pool: rounds of one append each are never held by the gap") {
    // A lone client waiting for each acknowledgement: every round carries one append, so the
    // gap (which no test outlives) never holds one; each round's sync runs without stop().
    writer_pool pool(1, 1, std::chrono::hours(1));
    for (int i = 0; i < 3; ++i) {
        std::promise<void> synced;
        pool.post_round(0, [&] {
            writer_pool::note_appends(1);
            writer_pool::defer([&] { synced.set_value(); });
        });
        REQUIRE(synced.get_future().wait_for(std::chrono::seconds(60)) ==
                std::future_status::ready);
    }
    CHECK(pool.rounds() == 3);
}

TEST_CASE("writer_pool: a round's deferred works run together, up to parallel_syncs") {
    constexpr int jobs = 4;
    writer_pool pool(1, jobs);
    gate g;
    g.hold(pool, 0);
    // Each deferred work waits until all of them have started: it only finishes if they run
    // at the same time (a deadline turns a serial run into a failure instead of a hang).
    std::mutex mu;
    std::condition_variable cv;
    int started = 0;
    std::atomic<int> met{0};
    for (int i = 0; i < jobs; ++i)
        pool.post_round(0, [&] {
            writer_pool::defer([&] {
                std::unique_lock lock(mu);
                ++started;
                cv.notify_all();
                if (cv.wait_for(lock, std::chrono::seconds(20), [&] { return started == jobs; }))
                    met.fetch_add(1);
            });
        });
    std::promise<void> done;
    pool.post(0, [&] { done.set_value(); });
    g.release();
    REQUIRE(done.get_future().wait_for(std::chrono::seconds(60)) == std::future_status::ready);
    CHECK(met.load() == jobs);
    CHECK(pool.rounds() == 1);
}

TEST_CASE("partition: partitions sharing a writer sync in one round; every append acknowledged") {
    temp_dir dir;
    writer_pool pool(1, 2);
    log_config cfg;  // durability always
    std::int64_t now = 0;
    std::vector<std::shared_ptr<partition>> parts;
    for (int i = 0; i < 3; ++i) {
        errc e = errc::ok;
        parts.push_back(
            partition::open(dir / std::to_string(i), cfg, pool, fixed_clock(&now), e));
        REQUIRE(parts.back());
    }
    gate g;
    g.hold(pool, 0);
    std::vector<std::future<append_result>> results;
    for (int round = 0; round < 5; ++round)
        for (auto& p : parts) results.push_back(p->append(make_batch(2, std::to_string(round))));
    g.release();
    for (std::size_t i = 0; i < results.size(); ++i) {
        auto r = results[i].get();
        CHECK(r.error == errc::ok);
        CHECK(r.base_offset == offset{static_cast<std::int64_t>(i / parts.size() * 2)});
    }
    for (auto& p : parts) {
        CHECK(p->syncs() == 1);  // one group each, synced in the same round
        CHECK(p->high_watermark() == offset{10});
    }
    CHECK(pool.rounds() == 1);
    CHECK(pool.deferred() == 3);
    for (auto& p : parts) CHECK(p->close() == errc::ok);
}

TEST_CASE("partition: flush and close queued behind appends wait for their round's sync") {
    temp_dir dir;
    writer_pool pool(1, 4);
    errc e = errc::ok;
    std::int64_t now = 0;
    auto p = partition::open(dir.path(), log_config{}, pool, fixed_clock(&now), e);
    REQUIRE(p);
    gate g;
    g.hold(pool, 0);
    auto a = p->append(make_batch(3, "a"));
    auto f = p->flush();
    auto b = p->append(make_batch(3, "b"));
    // close() marks the partition closed, posts its task and waits for it: appends made
    // before the mark are queued (the writer is held), the first one after it completes at
    // once with `closed`.
    std::promise<errc> closed;
    std::thread closer([&] { closed.set_value(p->close()); });
    std::vector<std::future<append_result>> more;
    for (;;) {
        more.push_back(p->append(make_batch(1, "x")));
        if (more.back().wait_for(std::chrono::seconds(0)) == std::future_status::ready) break;
        std::this_thread::yield();
    }
    g.release();
    closer.join();
    CHECK(a.get().error == errc::ok);
    CHECK(f.get() == errc::ok);
    CHECK(b.get().error == errc::ok);
    std::int64_t end = 6;
    for (std::size_t i = 0; i + 1 < more.size(); ++i) {
        auto r = more[i].get();
        CHECK(r.error == errc::ok);  // written before the close, and synced
        if (r.error == errc::ok) ++end;
    }
    CHECK(more.back().get().error == errc::closed);
    CHECK(closed.get_future().get() == errc::ok);
    auto again = partition::open(dir.path(), log_config{}, pool, fixed_clock(&now), e);
    REQUIRE(again);
    CHECK(again->recovery().clean_start);
    CHECK(again->log_end_offset() == offset{end});
    CHECK(again->close() == errc::ok);
}

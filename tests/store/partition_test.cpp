#include <catch2/catch.hpp>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include "store/partition.hpp"
#include "tests/store/test_util.hpp"

using namespace sluice::store;
using namespace sluice::store::test;

namespace {

// Waits for n callbacks, with a deadline so a lost completion fails instead of hanging.
class completion_counter {
  public:
    void done(const append_result& r) {
        std::lock_guard lock(mu_);
        results_.push_back(r);
        cv_.notify_all();
    }
    bool wait_for(std::size_t n) {
        std::unique_lock lock(mu_);
        return cv_.wait_for(lock, std::chrono::seconds(60), [&] { return results_.size() >= n; });
    }
    std::vector<append_result> results() {
        std::lock_guard lock(mu_);
        return results_;
    }

  private:
    std::mutex mu_;
    std::condition_variable cv_;
    std::vector<append_result> results_;
};

}  // namespace

TEST_CASE(
    "partition: appends from many threads complete once each with unique contiguous offsets") {
    for (auto policy : {durability::always, durability::interval, durability::never}) {
        temp_dir dir;
        writer_pool pool(2);
        log_config cfg;
        cfg.flush = policy;
        cfg.flush_interval_ms = 5;
        cfg.segment_bytes = 64 * 1024;
        errc e = errc::ok;
        std::int64_t now = 0;
        auto p = partition::open(dir.path(), cfg, pool, fixed_clock(&now), e);
        REQUIRE(p);
        completion_counter counter;
        constexpr int threads = 4;
        constexpr int per_thread = 200;
        std::vector<std::thread> producers;
        for (int t = 0; t < threads; ++t)
            producers.emplace_back([&, t] {
                for (int i = 0; i < per_thread; ++i)
                    p->append(make_batch(2, std::to_string(t) + "." + std::to_string(i)),
                              [&](const append_result& r) { counter.done(r); });
            });
        for (auto& t : producers) t.join();
        REQUIRE(counter.wait_for(threads * per_thread));
        std::set<std::int64_t> bases;
        for (const auto& r : counter.results()) {
            REQUIRE(r.error == errc::ok);
            CHECK(r.last_offset == r.base_offset + 1);
            bases.insert(r.base_offset.value);
        }
        CHECK(bases.size() == threads * per_thread);
        CHECK(*bases.begin() == 0);
        CHECK(*bases.rbegin() == 2 * (threads * per_thread - 1));
        CHECK(p->high_watermark() == offset{2 * threads * per_thread});
        // A completed append is visible to readers.
        byte_buffer bytes;
        offset next;
        REQUIRE(p->read_copy(offset{0}, 1 << 30, bytes, next) == errc::ok);
        CHECK(next == offset{2 * threads * per_thread});
        CHECK(p->close() == errc::ok);
    }
}

TEST_CASE("partition: under `always` one fdatasync covers many appends (group commit)") {
    temp_dir dir;
    writer_pool pool(1);
    errc e = errc::ok;
    std::int64_t now = 0;
    auto p = partition::open(dir.path(), log_config{}, pool, fixed_clock(&now), e);
    REQUIRE(p);
    // Hold the writer busy so the appends queue up behind it, then release it.
    std::mutex gate;
    std::unique_lock hold(gate);
    pool.post(0, [&] { std::lock_guard wait(gate); });
    completion_counter counter;
    for (int i = 0; i < 100; ++i)
        p->append(make_batch(1, std::to_string(i)),
                  [&](const append_result& r) { counter.done(r); });
    hold.unlock();
    REQUIRE(counter.wait_for(100));
    CHECK(p->groups_written() == 1);
    CHECK(p->syncs() == 1);
    // The counters behind /metrics: every batch and every byte appended.
    std::uint64_t bytes = 0;
    for (int i = 0; i < 100; ++i) bytes += make_batch(1, std::to_string(i)).size();
    CHECK(p->batches_appended() == 100);
    CHECK(p->bytes_appended() == bytes);
    auto results = counter.results();
    for (std::size_t i = 0; i < results.size(); ++i)
        CHECK(results[i].base_offset == offset{static_cast<std::int64_t>(i)});
    CHECK(p->close() == errc::ok);
}

TEST_CASE("partition: after close, appends complete with `closed` and the data is kept") {
    temp_dir dir;
    writer_pool pool(1);
    errc e = errc::ok;
    std::int64_t now = 0;
    auto p = partition::open(dir.path(), log_config{}, pool, fixed_clock(&now), e);
    REQUIRE(p);
    REQUIRE(p->append(make_batch(2, "a")).get().error == errc::ok);
    REQUIRE(p->close() == errc::ok);
    CHECK(p->append(make_batch(2, "b")).get().error == errc::closed);
    auto again = partition::open(dir.path(), log_config{}, pool, fixed_clock(&now), e);
    REQUIRE(again);
    CHECK(again->recovery().clean_start);
    CHECK(again->log_end_offset() == offset{2});
    CHECK(again->close() == errc::ok);
}

TEST_CASE("partition: truncate, leader epoch and flush run in order with appends") {
    temp_dir dir;
    writer_pool pool(1);
    errc e = errc::ok;
    std::int64_t now = 0;
    auto p = partition::open(dir.path(), log_config{}, pool, fixed_clock(&now), e);
    REQUIRE(p);
    p->set_leader_epoch(leader_epoch{2});
    auto a = p->append(make_batch(3, "a"));
    auto b = p->append(make_batch(3, "b"));
    auto t = p->truncate_to(offset{3});
    REQUIRE(a.get().error == errc::ok);
    REQUIRE(b.get().error == errc::ok);
    REQUIRE(t.get() == errc::ok);
    CHECK(p->log_end_offset() == offset{3});
    p->set_leader_epoch(leader_epoch{5});
    CHECK(p->append(make_batch(1, "c")).get().base_offset == offset{3});
    CHECK(p->flush().get() == errc::ok);
    auto end = p->end_offset_for_epoch(2);
    REQUIRE(end);
    CHECK(end->second == offset{3});
    CHECK(p->close() == errc::ok);
}

TEST_CASE("partition: a marker's log end separates the appends with smaller and larger tickets") {
    // Appends and markers race from several threads; whatever the interleaving, each append
    // whose ticket is below a marker's has an offset below that marker's log end, and each one
    // above it an offset at or above it.
    temp_dir dir;
    writer_pool pool(2);
    errc e = errc::ok;
    std::int64_t now = 0;
    log_config cfg;
    cfg.flush = durability::never;
    auto p = partition::open(dir.path(), cfg, pool, fixed_clock(&now), e);
    REQUIRE(p);
    struct seen_append {
        partition::ticket t;
        offset base;
        offset last;
    };
    struct seen_mark {
        partition::ticket t;
        partition::mark_result r;
    };
    std::mutex mu;
    std::condition_variable cv;
    std::vector<seen_append> appends;
    std::vector<seen_mark> marks;
    constexpr int threads = 4;
    constexpr int per_thread = 150;
    std::vector<std::thread> producers;
    for (int th = 0; th < threads; ++th)
        producers.emplace_back([&, th] {
            for (int i = 0; i < per_thread; ++i) {
                // `mu` is held while the ticket is taken, so the callback (which takes it
                // too) always finds the ticket stored.
                auto t = std::make_shared<partition::ticket>(0);
                std::lock_guard lock(mu);
                if (i % 5 == th % 5) {
                    *t = p->mark([&, t](const partition::mark_result& r) {
                        std::lock_guard l(mu);
                        marks.push_back({*t, r});
                        cv.notify_all();
                    });
                } else {
                    *t = p->append(make_batch(1 + i % 3, "x"), [&, t](const append_result& r) {
                        std::lock_guard l(mu);
                        appends.push_back({*t, r.base_offset, r.last_offset});
                        cv.notify_all();
                    });
                }
            }
        });
    for (auto& t : producers) t.join();
    {
        std::unique_lock lock(mu);
        REQUIRE(cv.wait_for(lock, std::chrono::seconds(60), [&] {
            return appends.size() + marks.size() == std::size_t{threads * per_thread};
        }));
    }
    REQUIRE(!marks.empty());
    std::set<partition::ticket> tickets;
    for (const auto& a : appends) tickets.insert(a.t);
    for (const auto& m : marks) tickets.insert(m.t);
    CHECK(tickets.size() == std::size_t{threads * per_thread});  // every ticket unique
    for (const auto& m : marks) {
        REQUIRE(m.r.error == errc::ok);
        for (const auto& a : appends) {
            if (a.t < m.t)
                CHECK(a.last < m.r.log_end);
            else
                CHECK(a.base >= m.r.log_end);
        }
    }
    CHECK(p->close() == errc::ok);
    // Once closed, a marker answers at once with `closed`.
    std::optional<partition::mark_result> late;
    p->mark([&](const partition::mark_result& r) { late = r; });
    REQUIRE(late);
    CHECK(late->error == errc::closed);
}

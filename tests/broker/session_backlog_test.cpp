#include <catch2/catch.hpp>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "broker/backlog_reader.hpp"
#include "broker/backlog_replay.hpp"
#include "broker/internal_topic.hpp"
#include "broker/session.hpp"
#include "broker/session_record.hpp"
#include "broker/topic_summary.hpp"
#include "ingest/record_mapping.hpp"
#include "store/batch_builder.hpp"
#include "tests/broker/backlog_test_util.hpp"

using namespace sluice;
using namespace sluice::broker;
using sluice::store::test::temp_dir;
using namespace sluice::broker::backlog_test;

namespace {

delivery logged_delivery(int n, log_position at) {
    mqtt::publish p;
    p.topic = "t";
    p.qos_level = mqtt::qos::at_least_once;
    p.payload = mqtt::shared_bytes(std::string_view(std::to_string(n)));
    delivery d;
    d.msg = make_message(std::move(p), nullptr, steady_clock::now(), std::move(at));
    d.qos_level = mqtt::qos::at_least_once;
    return d;
}

}  // namespace

TEST_CASE("offline backlog: every message raced with the disconnect is queued or under the cursor, never both") {
    // Publishers append then offer (as mqtt_protocol does) while the session goes offline
    // with a marker on the partition: each message must end up exactly once, either in the
    // session's queue (it saw the session online, or raced the marker) or at or above the
    // cursor (the replay's part).
    test_partition log;
    REQUIRE(log.part);
    auto& part = log.part;

    for (int round = 0; round < 20; ++round) {
        session s("c" + std::to_string(round));
        fake_owner owner;
        s.attach(&owner, false, 3600);

        std::mutex mu;
        std::condition_variable cv;
        std::map<int, std::int64_t> offset_of;  // message -> offset of its record
        std::atomic<bool> go{false};
        constexpr int per_thread = 100;
        std::vector<std::thread> publishers;
        for (int th = 0; th < 2; ++th)
            publishers.emplace_back([&, th] {
                while (!go.load()) std::this_thread::yield();
                for (int i = 0; i < per_thread; ++i) {
                    const int n = th * per_thread + i;
                    store::batch_builder b;
                    b.add(0, std::nullopt, std::string_view(std::to_string(n)));
                    log_position at{part, 0};
                    at.ticket = part->append(*b.build(), [&, n](const store::append_result& r) {
                        std::lock_guard lock(mu);
                        offset_of[n] = r.base_offset.value;
                        cv.notify_all();
                    });
                    s.offer(logged_delivery(n, std::move(at)), queue_limits(100000));
                }
            });
        go.store(true);
        std::this_thread::yield();
        const std::vector<logged_partition> logged{{"mqtt", 0, part}};
        auto cursors = std::make_shared<offline_cursors>();
        std::unique_ptr<mqtt::will_message> no_will;
        REQUIRE(s.detach(&owner, 3600, no_will, &logged, cursors));
        std::atomic<bool> ready{false};
        cursors->arm([&] { ready.store(true); });
        for (auto& t : publishers) t.join();
        {
            std::unique_lock lock(mu);
            REQUIRE(cv.wait_for(lock, std::chrono::seconds(60),
                                [&] { return offset_of.size() == 2u * per_thread; }));
        }
        // The marker reported (it ran after the appends queued before it).
        part->flush().get();
        REQUIRE(ready.load());
        const auto cs = cursors->cursors();
        REQUIRE(cs.size() == 1);
        const std::int64_t cursor = cs[0].next;

        std::set<int> queued;
        for (const auto& d : s.take_queued()) queued.insert(number_of(d));
        std::size_t covered = 0;
        for (const auto& [n, off] : offset_of) {
            const bool in_queue = queued.count(n) > 0;
            const bool under_cursor = off >= cursor;
            INFO("message " << n << " offset " << off << " cursor " << cursor);
            CHECK(in_queue != under_cursor);
            covered += under_cursor ? 1 : 0;
        }
        CHECK(s.covered() == covered);

        // The snapshot of the offline session carries the cursor.
        auto st = s.snapshot(0, nullptr);
        REQUIRE(st.cursors.size() == 1);
        CHECK(st.cursors[0] == log_cursor{"mqtt", 0, cursor});
    }
    part->close();
}

TEST_CASE("offline backlog: messages of partitions without a marker, and unlogged ones, are queued") {
    temp_dir dir_a, dir_b;
    store::writer_pool pool(1);
    std::int64_t now = 0;
    store::errc e = store::errc::ok;
    auto a = store::partition::open(dir_a.path(), store::log_config{}, pool, [&now] { return now; }, e);
    auto b = store::partition::open(dir_b.path(), store::log_config{}, pool, [&now] { return now; }, e);
    REQUIRE(a);
    REQUIRE(b);
    session s("c");
    fake_owner owner;
    s.attach(&owner, false, 3600);
    const std::vector<logged_partition> logged{{"mqtt", 0, a}};
    auto cursors = std::make_shared<offline_cursors>();
    std::unique_ptr<mqtt::will_message> no_will;
    REQUIRE(s.detach(&owner, 3600, no_will, &logged, cursors));
    cursors->arm([] {});
    s.offer(logged_delivery(1, {a, 1000}), queue_limits(100));  // covered
    s.offer(logged_delivery(2, {b, 1000}), queue_limits(100));  // no marker on b
    s.offer(logged_delivery(3, {}), queue_limits(100));         // not logged
    CHECK(s.covered() == 1);
    auto q = s.take_queued();
    REQUIRE(q.size() == 2);
    CHECK(number_of(q[0]) == 2);
    CHECK(number_of(q[1]) == 3);
    a->close();
    b->close();
}

TEST_CASE("offline backlog: a resumed session is refilled from its cursor, held until journaled") {
    test_partition log;
    REQUIRE(log.part);
    auto& part = log.part;
    session s("c");
    fake_owner owner;
    s.attach(&owner, false, 3600);
    s.set_subscription("t", subscription_record{});  // QoS 0 granted: nothing to refill
    subscription_record q1;
    q1.options.max_qos = mqtt::qos::at_least_once;
    s.set_subscription("t", q1);

    const std::vector<logged_partition> logged{{"mqtt", 0, part}};
    auto cursors = std::make_shared<offline_cursors>();
    std::unique_ptr<mqtt::will_message> no_will;
    REQUIRE(s.detach(&owner, 3600, no_will, &logged, cursors));
    cursors->arm([] {});
    // Records as the ingest writes them, published while it is away.
    for (int i = 0; i < 3; ++i) {
        log_position at{part, 0};
        at.ticket = part->append(numbered_batch("t", i), [](const store::append_result&) {});
        s.offer(logged_delivery(i, std::move(at)), queue_limits(100));
    }
    part->flush().get();
    CHECK(s.covered() == 3);
    CHECK(s.queued() == 0);
    CHECK(!s.take_backlog_job(100));  // offline: nothing to refill

    fake_owner back;
    s.attach(&back, true, 3600);
    auto job = s.take_backlog_job(100);
    REQUIRE(job);
    REQUIRE(job->cursors.size() == 1);
    CHECK(job->room == 100);
    replay_request req;
    req.from = job->cursors[0].next;
    req.until = part->high_watermark().value;
    req.room = job->room;
    req.now_ms = 1000;
    backlog_usage used;
    auto step = replay_backlog(*part, req, job->subscriber, {}, used);
    REQUIRE(step.deliveries.size() == 3);
    std::vector<delivery> ds;
    for (auto& [off, d] : step.deliveries) ds.push_back(std::move(d));
    std::shared_ptr<append_outcome> durable;
    REQUIRE(s.refill(job->generation, part.get(), req.from, step.next, std::move(ds), durable));
    CHECK(!durable);  // no journal in this test: nothing to wait for
    CHECK(s.queued() == 0);  // held until released
    CHECK(!s.take_backlog_job(100));  // one refill at a time
    s.release_held();
    auto q = s.take_queued();
    REQUIRE(q.size() == 3);
    for (int i = 0; i < 3; ++i) CHECK(number_of(q[static_cast<std::size_t>(i)]) == i);
    // The cursor moved past them: a stale refill is refused.
    std::shared_ptr<append_outcome> none;
    CHECK(!s.refill(job->generation, part.get(), req.from, step.next, {}, none));
    part->close();
}

TEST_CASE("offline backlog: a subscription made once the session reads the log starts at its SUBSCRIBE") {
    test_partition log;
    REQUIRE(log.part);
    session s("c");
    fake_owner owner;
    s.attach(&owner, false, 3600);
    subscription_record rec;
    rec.options.max_qos = mqtt::qos::at_least_once;
    s.set_subscription("before/#", rec);  // no cursors yet: every record matches it
    const std::vector<logged_partition> logged{{"mqtt", 0, log.part}};
    auto cursors = std::make_shared<offline_cursors>();
    std::unique_ptr<mqtt::will_message> no_will;
    REQUIRE(s.detach(&owner, 3600, no_will, &logged, cursors));
    cursors->arm([] {});
    s.attach(&owner, true, 3600);
    const std::int64_t before = wall_ms();
    s.set_subscription("after/#", rec);
    rec.subscription_id = 5;
    s.set_subscription("before/#", rec);  // replaced: keeps its start (none)
    std::map<std::string, subscription_record> subs;
    for (auto& [f, r] : s.subscriptions()) subs[f] = r;
    CHECK(subs.at("before/#").since_ms == 0);
    CHECK(subs.at("before/#").subscription_id == 5);
    CHECK(subs.at("after/#").since_ms >= before);
    CHECK(subs.at("after/#").since_ms <= wall_ms());
    const std::int64_t since = subs.at("after/#").since_ms;
    rec.subscription_id = 6;
    s.set_subscription("after/#", rec);  // replaced: keeps the start it had
    for (auto& [f, r] : s.subscriptions()) subs[f] = r;
    CHECK(subs.at("after/#").since_ms == since);
    log.part->close();
}

namespace {

// Records as the ingest writes them on topic "t", numbered from `first`.
void append_records(store::partition& part, int first, int count) {
    for (int i = first; i < first + count; ++i)
        REQUIRE(part.append(numbered_batch("t", i)).get().error == store::errc::ok);
}

// The owner of every session of a reader case: counts the wake-ups (each release of a refill
// makes one). wake() runs under the session's lock, so waiting never holds `mu` while asking a
// session anything.
struct waking_owner final : session_owner {
    std::mutex mu;
    std::condition_variable cv;
    std::uint64_t wakes = 0;
    void wake() override {
        std::lock_guard lock(mu);
        ++wakes;
        cv.notify_all();
    }
    void kick(mqtt::reason_code, bool) override {}
};

// Online sessions on "t" with their backlog cursors at `cursors` (one session each).
std::vector<std::shared_ptr<session>> sessions_at(const std::vector<std::int64_t>& cursors,
                                                  const std::shared_ptr<store::partition>& part,
                                                  session_owner& owner) {
    std::vector<std::shared_ptr<session>> out;
    subscription_record q1;
    q1.options.max_qos = mqtt::qos::at_least_once;
    for (std::size_t i = 0; i < cursors.size(); ++i) {
        auto s = std::make_shared<session>("s" + std::to_string(i));
        s->attach(&owner, false, 3600);
        s->set_subscription("t", q1);
        s->restore_backlog({{logged_partition{"mqtt", 0, part}, cursors[i]}});
        out.push_back(std::move(s));
    }
    return out;
}

// Until every session has queued what its cursor had to come (checked after each wake-up),
// or a deadline.
bool refilled(waking_owner& owner, const std::vector<std::shared_ptr<session>>& ss,
              const std::vector<std::size_t>& expected) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    std::uint64_t seen = 0;
    while (true) {
        bool all = true;
        for (std::size_t i = 0; i < ss.size(); ++i) all = all && ss[i]->queued() == expected[i];
        if (all) return true;
        std::unique_lock lock(owner.mu);
        if (!owner.cv.wait_until(lock, deadline, [&] { return owner.wakes != seen; }))
            return false;
        seen = owner.wakes;
    }
}

}  // namespace

TEST_CASE("backlog reader: ten sessions at one cursor read and decode the partition once") {
    test_partition log;
    REQUIRE(log.part);
    append_records(*log.part, 0, 50);
    waking_owner owner;
    auto ss = sessions_at(std::vector<std::int64_t>(10, 0), log.part, owner);
    backlog_reader reader(1000, {});
    for (auto& s : ss) reader.watch(s);  // before start: one pass sees them all
    reader.start();
    REQUIRE(refilled(owner, ss, std::vector<std::size_t>(10, 50)));
    reader.stop();
    CHECK(reader.replayed() == 500);
    CHECK(reader.decoded_records() == 50);  // one read's worth, not ten
    CHECK(reader.reads() == 1);
    for (auto& s : ss) {
        auto q = s->take_queued();
        REQUIRE(q.size() == 50);
        for (int i = 0; i < 50; ++i) CHECK(number_of(q[static_cast<std::size_t>(i)]) == i);
    }
    log.part->close();
}

TEST_CASE("backlog reader: sessions at different cursors in one stretch share a read from the lowest") {
    test_partition log;
    REQUIRE(log.part);
    append_records(*log.part, 0, 40);
    waking_owner owner;
    auto ss = sessions_at({30, 0, 10, 39, 20}, log.part, owner);
    backlog_reader reader(1000, {});
    for (auto& s : ss) reader.watch(s);
    reader.start();
    REQUIRE(refilled(owner, ss, {10, 40, 30, 1, 20}));
    reader.stop();
    CHECK(reader.decoded_records() == 40);
    CHECK(reader.reads() == 1);
    auto q = ss[0]->take_queued();
    REQUIRE(q.size() == 10);
    CHECK(number_of(q.front()) == 30);
    log.part->close();
}

TEST_CASE("backlog reader: a session passes over what its filters cannot match without reading it") {
    // 6,000 records on "u" around two groups of five on "t", each added to the partition's
    // topic summary as the ingest does. The session on "t" gets exactly the ten, and with the
    // summary the reader decodes a few chunks' worth instead of everything.
    test_partition log;
    REQUIRE(log.part);
    auto summary = std::make_shared<topic_summary>(100, 1000);
    std::vector<int> expected;
    int n = 0;
    auto add = [&](const char* topic, int count) {
        for (int i = 0; i < count; ++i, ++n) {
            const auto r = log.part->append(numbered_batch(topic, n)).get();
            REQUIRE(r.error == store::errc::ok);
            summary->add(r.base_offset.value, topic_summary::of_topic(topic));
            if (std::string_view(topic) == "t") expected.push_back(n);
        }
    };
    add("u", 3000);
    add("t", 5);
    add("u", 3000);
    add("t", 5);
    for (bool with_summary : {false, true}) {
        waking_owner owner;
        auto ss = sessions_at({0}, log.part, owner);
        backlog_reader reader(1000, {}, 4096);  // small reads: the difference shows
        if (with_summary)
            reader.set_summaries([&](const store::partition* p) -> std::shared_ptr<const topic_summary> {
                return p == log.part.get() ? summary : nullptr;
            });
        reader.watch(ss[0]);
        reader.start();
        // Until the ten are queued and the cursor reached the end (steps that deliver nothing
        // wake nobody, so this looks rather than waits for a wake-up).
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
        while ((ss[0]->queued() < expected.size() || ss[0]->backlog_cursors().at(0).next < n) &&
               std::chrono::steady_clock::now() < deadline)
            std::this_thread::yield();
        reader.stop();
        std::vector<int> got;
        for (auto& d : ss[0]->take_queued()) got.push_back(number_of(d));
        INFO("with summary " << with_summary);
        CHECK(got == expected);
        CHECK(ss[0]->backlog_cursors().at(0).next == n);
        if (with_summary) {
            CHECK(reader.summary_skipped() >= 5800);
            CHECK(reader.decoded_records() < 600);
        } else {
            CHECK(reader.summary_skipped() == 0);
            CHECK(reader.decoded_records() == static_cast<std::uint64_t>(n));
        }
    }
}

namespace {

// Everything the session's backlog holds now, replayed and released step by step as the
// backlog reader does (bounded by each cursor's stop), as numbers in delivery order.
std::vector<int> replay_all(session& s) {
    std::vector<int> out;
    while (auto job = s.take_backlog_job(100)) {
        bool moved = false;
        for (const auto& c : job->cursors) {
            replay_request req;
            req.from = c.next;
            req.until = std::min(c.where.partition->high_watermark().value, c.stop);
            req.room = job->room;
            req.now_ms = 1000;
            backlog_usage used;
            auto step = replay_backlog(*c.where.partition, req, job->subscriber, {}, used);
            REQUIRE(step.error == store::errc::ok);
            if (step.next == c.next && step.deliveries.empty()) continue;
            std::vector<delivery> ds;
            for (auto& [off, d] : step.deliveries) ds.push_back(std::move(d));
            std::shared_ptr<append_outcome> durable;
            REQUIRE(s.refill(job->generation, c.where.partition.get(), c.next, step.next,
                             std::move(ds), durable));
            s.release_held();
            moved = true;
            break;  // a new job: the cursors moved
        }
        if (!moved) break;
        for (auto& d : s.take_queued()) out.push_back(number_of(d));
    }
    return out;
}

}  // namespace

TEST_CASE("offline backlog: after a reopen of the log a session keeps one mark per partition, and what the old one covered") {
    // The log is reopened after a write failure (durable_log): new partition objects on the
    // same files. The session's mark on the old object must not stay beside the new one (two
    // cursors into one partition, duplicates): the next detach replaces it, and the records
    // the old mark covered are still replayed, the ones that went to the memory queue not.
    test_partition log;
    REQUIRE(log.part);
    auto p1 = log.part;
    session s("c");
    fake_owner owner;
    s.attach(&owner, false, 3600);
    subscription_record q1;
    q1.options.max_qos = mqtt::qos::at_least_once;
    s.set_subscription("t", q1);
    std::unique_ptr<mqtt::will_message> no_will;

    const std::vector<logged_partition> before{{"mqtt", 0, p1}};
    auto first = std::make_shared<offline_cursors>();
    REQUIRE(s.detach(&owner, 3600, no_will, &before, first));
    first->arm([] {});
    for (int i = 0; i < 3; ++i) {  // under the first cursor
        log_position at{p1, 0};
        at.ticket = p1->append(numbered_batch("t", i), [](const store::append_result&) {});
        s.offer(logged_delivery(i, std::move(at)), queue_limits(100));
    }
    p1->flush().get();
    CHECK(s.covered() == 3);

    // The reopen: the old object closed, a new one on the same files.
    REQUIRE(p1->close() == store::errc::ok);
    auto p2 = log.open_again();
    REQUIRE(p2);
    CHECK(p2->high_watermark().value == 3);
    // Offered while the session's only mark is on the old object: its memory queue.
    for (int i = 3; i < 5; ++i) {
        log_position at{p2, 0};
        at.ticket = p2->append(numbered_batch("t", i), [](const store::append_result&) {});
        s.offer(logged_delivery(i, std::move(at)), queue_limits(100));
    }
    p2->flush().get();
    CHECK(s.queued() == 2);

    // Back, and away again before its replay read anything: the next detach sees the new
    // object.
    s.attach(&owner, true, 3600);
    std::vector<int> memory;
    for (auto& d : s.take_queued()) memory.push_back(number_of(d));
    CHECK(memory == std::vector<int>{3, 4});
    const std::vector<logged_partition> after{{"mqtt", 0, p2}};
    auto second = std::make_shared<offline_cursors>();
    REQUIRE(s.detach(&owner, 3600, no_will, &after, second));
    second->arm([] {});
    for (int i = 5; i < 7; ++i) {  // under the new mark
        log_position at{p2, 0};
        at.ticket = p2->append(numbered_batch("t", i), [](const store::append_result&) {});
        s.offer(logged_delivery(i, std::move(at)), queue_limits(100));
    }
    p2->flush().get();
    CHECK(s.queued() == 0);

    // One cursor for (mqtt, 0) in what a restart reads back (two would be two values for one
    // partition): the old one's, still valid in the reopened partition.
    const auto saved = s.snapshot(1000, nullptr);
    REQUIRE(saved.cursors.size() == 1);
    CHECK(saved.cursors[0].next == 0);

    // The replay gives what the old mark covered, jumps over what the memory queue had, and
    // goes on with the new mark's part: each message once.
    s.attach(&owner, true, 3600);
    const auto job = s.take_backlog_job(100);
    REQUIRE(job);
    REQUIRE(job->cursors.size() == 1);
    CHECK(job->cursors[0].where.partition == p2);  // read through the open object
    CHECK(job->cursors[0].stop == 3);                // then past what the memory queue had
    CHECK(replay_all(s) == std::vector<int>{0, 1, 2, 5, 6});
    const auto at_end = s.backlog_cursors();
    REQUIRE(at_end.size() == 1);
    CHECK(at_end[0].next == 7);
    p2->close();
}

TEST_CASE("offline backlog: after a reopen, a mark whose marker failed gives way to the new one") {
    // A marker on a closed partition reports `closed`: no cursor (every append after it on
    // that object fails too). After the reopen the session's new mark starts at its own
    // marker and the memory queue has what came between.
    test_partition log;
    REQUIRE(log.part);
    auto p1 = log.part;
    REQUIRE(p1->close() == store::errc::ok);
    session s("c");
    fake_owner owner;
    s.attach(&owner, false, 3600);
    subscription_record q1;
    q1.options.max_qos = mqtt::qos::at_least_once;
    s.set_subscription("t", q1);
    std::unique_ptr<mqtt::will_message> no_will;
    const std::vector<logged_partition> before{{"mqtt", 0, p1}};
    auto first = std::make_shared<offline_cursors>();
    REQUIRE(s.detach(&owner, 3600, no_will, &before, first));
    first->arm([] {});
    CHECK(s.backlog_cursors().empty());

    auto p2 = log.open_again();
    REQUIRE(p2);
    {
        log_position at{p2, 0};
        at.ticket = p2->append(numbered_batch("t", 0), [](const store::append_result&) {});
        s.offer(logged_delivery(0, std::move(at)), queue_limits(100));
    }
    s.attach(&owner, true, 3600);
    CHECK(s.take_queued().size() == 1);
    const std::vector<logged_partition> after{{"mqtt", 0, p2}};
    auto second = std::make_shared<offline_cursors>();
    REQUIRE(s.detach(&owner, 3600, no_will, &after, second));
    second->arm([] {});
    {
        log_position at{p2, 0};
        at.ticket = p2->append(numbered_batch("t", 1), [](const store::append_result&) {});
        s.offer(logged_delivery(1, std::move(at)), queue_limits(100));
    }
    p2->flush().get();
    s.attach(&owner, true, 3600);
    const auto job = s.take_backlog_job(100);
    REQUIRE(job);
    REQUIRE(job->cursors.size() == 1);
    CHECK(job->cursors[0].next == 1);
    CHECK(replay_all(s) == std::vector<int>{1});
    p2->close();
}

TEST_CASE("offline backlog: an offline session lets go of its detach's cursor block once the cursors are durable") {
    test_partition log;
    REQUIRE(log.part);
    session s("c");
    fake_owner owner;
    s.attach(&owner, false, 3600);
    std::unique_ptr<mqtt::will_message> no_will;
    const std::vector<logged_partition> logged{{"mqtt", 0, log.part}};
    auto cursors = std::make_shared<offline_cursors>();
    std::weak_ptr<offline_cursors> block = cursors;
    REQUIRE(s.detach(&owner, 3600, no_will, &logged, cursors));
    cursors->arm([] {});
    log.part->flush().get();  // the marker reported
    const auto durable = cursors->durable;
    cursors.reset();
    s.settle_backlog();
    CHECK(!block.expired());  // publishers may still have to wait for the snapshot
    // A covered offer now makes its publisher wait for the snapshot (no journal here: nothing
    // to observe but the cover).
    log_position at{log.part, 0};
    at.ticket = log.part->append(numbered_batch("t", 0), [](const store::append_result&) {});
    s.offer(logged_delivery(0, std::move(at)), queue_limits(100));
    CHECK(s.covered() == 1);
    durable->finish(mqtt::reason_code::success);
    s.settle_backlog();
    CHECK(block.expired());
    // The cursor stayed, and still covers.
    const auto saved = s.snapshot(1000, nullptr);
    REQUIRE(saved.cursors.size() == 1);
    CHECK(saved.cursors[0].next == 0);
    log_position later{log.part, 0};
    later.ticket = log.part->append(numbered_batch("t", 1), [](const store::append_result&) {});
    s.offer(logged_delivery(1, std::move(later)), queue_limits(100));
    CHECK(s.covered() == 2);
    CHECK(s.covering_marks().size() == 1);
    log.part->close();
}

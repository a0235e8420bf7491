// Covered groups (docs/routing.md): the router skips, as a group, the subscriptions of
// sessions whose cursors into the log cover a logged QoS 1/2 message, instead of offering it
// to each of them. A skipped session is never offered the message: its covered() count stays
// at zero and the router's covered_skips() counts it; a session offered one by one (as before
// covered groups) counts it in covered() instead.
#include <catch2/catch.hpp>

#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "broker/router.hpp"
#include "tests/broker/backlog_test_util.hpp"

using namespace sluice;
using namespace sluice::broker;
using namespace sluice::broker::backlog_test;

namespace {

subscription_record rec(mqtt::qos q, bool no_local = false, std::uint32_t id = 0) {
    subscription_record r;
    r.options.max_qos = q;
    r.options.no_local = no_local;
    r.subscription_id = id;
    return r;
}

// A logged message on `p` with `ticket` (the router and sessions only compare tickets).
message_ptr logged(const char* topic, const std::shared_ptr<store::partition>& p,
                   store::partition::ticket ticket, mqtt::qos q = mqtt::qos::at_least_once,
                   const void* origin = nullptr) {
    mqtt::publish pkt;
    pkt.topic = topic;
    pkt.qos_level = q;
    pkt.payload = mqtt::shared_bytes(std::string_view("x"));
    return make_message(std::move(pkt), origin, steady_clock::now(), log_position{p, ticket});
}

message_ptr unlogged(const char* topic, mqtt::qos q = mqtt::qos::at_least_once) {
    mqtt::publish pkt;
    pkt.topic = topic;
    pkt.qos_level = q;
    pkt.payload = mqtt::shared_bytes(std::string_view("x"));
    return make_message(std::move(pkt), nullptr);
}

// A persistent session that went offline with a marker on each of `parts` (as
// broker_core::close_session does); `durable`: its cursor snapshot is durable, so the router
// may rely on its marks. Returns the marker's ticket on the first partition.
store::partition::ticket go_offline(session& s, const std::vector<std::shared_ptr<store::partition>>& parts,
                                    bool durable = true, std::shared_ptr<offline_cursors>* out = nullptr) {
    fake_owner owner;
    s.attach(&owner, false, 3600);
    std::vector<logged_partition> logged;
    for (std::size_t i = 0; i < parts.size(); ++i)
        logged.push_back({"mqtt", static_cast<int>(i), parts[i]});
    auto cursors = std::make_shared<offline_cursors>();
    std::unique_ptr<mqtt::will_message> no_will;
    // No REQUIRE: the concurrency case calls this from several threads (Catch2 is not
    // thread-safe); an exception fails the test case just as well.
    if (!s.detach(&owner, 3600, no_will, &logged, cursors))
        throw std::runtime_error("detach refused");
    cursors->arm([] {});
    if (durable) cursors->durable->finish(mqtt::reason_code::success);
    if (out) *out = cursors;
    const auto marks = s.covering_marks();
    return durable ? marks.at(0).from : 0;
}

}  // namespace

TEST_CASE("covered groups: a logged QoS 1 message skips every covered session without an offer") {
    test_partition log;
    router r;
    std::vector<std::shared_ptr<session>> sessions;
    store::partition::ticket last = 0;
    for (int i = 0; i < 50; ++i) {
        sessions.push_back(std::make_shared<session>("s" + std::to_string(i)));
        last = go_offline(*sessions.back(), {log.part});
        // One shared wildcard for all, and a topic of its own.
        r.subscribe(*sessions.back(), "dev/+", rec(mqtt::qos::at_least_once));
        r.subscribe(*sessions.back(), "dev/" + std::to_string(i), rec(mqtt::qos::at_least_once));
    }
    for (int n = 0; n < 100; ++n) {
        const auto topic = "dev/" + std::to_string(n % 50);
        // Every session matched (PUBACK: not "no matching subscribers"): 50 on the wildcard,
        // one more on its own topic.
        CHECK(r.route(logged(topic.c_str(), log.part, last + n), 100) == 51);
    }
    CHECK(r.covered_skips() == 100 * 51);
    for (const auto& s : sessions) {
        CHECK(s->covered() == 0);  // never offered: the groups were skipped
        CHECK(s->queued() == 0);
    }
}

TEST_CASE("covered groups: a message that raced a detach goes to the members one by one") {
    test_partition log;
    router r;
    auto early = std::make_shared<session>("early");
    auto late = std::make_shared<session>("late");
    const auto early_mark = go_offline(*early, {log.part});
    log.part->mark([](const store::partition::mark_result&) {});  // a ticket in between
    const auto late_mark = go_offline(*late, {log.part});
    REQUIRE(late_mark > early_mark + 1);
    r.subscribe(*early, "a/#", rec(mqtt::qos::at_least_once));
    r.subscribe(*late, "a/#", rec(mqtt::qos::at_least_once));

    // Below the group's bound (the late mark): offered to each; the early session's cursor
    // covers it, the late one queues it (it was online when the message was appended).
    CHECK(r.route(logged("a/b", log.part, early_mark + 1), 100) == 2);
    CHECK(r.covered_skips() == 0);
    CHECK(early->covered() == 1);
    CHECK(late->queued() == 1);

    // At the bound: skipped as a group.
    CHECK(r.route(logged("a/b", log.part, late_mark), 100) == 2);
    CHECK(r.covered_skips() == 2);
    CHECK(early->covered() == 1);
    CHECK(late->queued() == 1);
}

TEST_CASE("covered groups: QoS 0, unlogged messages and other partitions are offered") {
    test_partition log, other;
    router r;
    auto s = std::make_shared<session>("s");
    const auto mark = go_offline(*s, {log.part});
    r.subscribe(*s, "t", rec(mqtt::qos::at_least_once));
    fake_owner owner;
    s->attach(&owner, false, 3600);  // online again: QoS 0 is delivered

    CHECK(r.route(logged("t", log.part, mark, mqtt::qos::at_most_once), 100) == 1);
    CHECK(r.route(unlogged("t"), 100) == 1);
    CHECK(r.route(logged("t", other.part, 1000), 100) == 1);  // no mark on that partition
    CHECK(r.covered_skips() == 0);
    CHECK(s->queued() == 3);
}

TEST_CASE("covered groups: a QoS 0 subscription matching beside a skipped one adds no copy") {
    // The merged delivery is QoS 1 (the replay's part); the QoS 0 subscription, in the plain
    // list, must not queue a live copy beside it.
    test_partition log;
    router r;
    auto s = std::make_shared<session>("s");
    const auto mark = go_offline(*s, {log.part});
    r.subscribe(*s, "a/#", rec(mqtt::qos::at_least_once));
    r.subscribe(*s, "a/b", rec(mqtt::qos::at_most_once));
    s->set_subscription("a/#", rec(mqtt::qos::at_least_once));
    s->set_subscription("a/b", rec(mqtt::qos::at_most_once));
    fake_owner owner;
    s->attach(&owner, false, 3600);
    CHECK(r.route(logged("a/b", log.part, mark), 100) == 2);
    CHECK(r.covered_skips() == 1);
    CHECK(s->queued() == 0);
    CHECK(s->covered() == 1);  // the QoS 0 subscription's offer, counted covered

    // Only the QoS 0 subscription matches: delivered live with QoS 0.
    r.subscribe(*s, "c", rec(mqtt::qos::at_most_once));
    s->set_subscription("c", rec(mqtt::qos::at_most_once));
    CHECK(r.route(logged("c", log.part, mark), 100) == 1);
    CHECK(s->queued() == 1);

    // No Local: the session's own message through its QoS 1 subscription does not count, so
    // the QoS 0 one is the delivery (as the router's merge would make it).
    auto own = std::make_shared<session>("own");
    const auto own_mark = go_offline(*own, {log.part});
    r.subscribe(*own, "n/#", rec(mqtt::qos::at_least_once, /*no_local=*/true));
    r.subscribe(*own, "n/x", rec(mqtt::qos::at_most_once));
    own->set_subscription("n/#", rec(mqtt::qos::at_least_once, true));
    own->set_subscription("n/x", rec(mqtt::qos::at_most_once));
    own->attach(&owner, false, 3600);
    CHECK(r.route(logged("n/x", log.part, own_mark, mqtt::qos::at_least_once, own.get()), 100) >= 1);
    CHECK(own->queued() == 1);
}

TEST_CASE("covered groups: shared and QoS 0 subscriptions are offered, never skipped") {
    test_partition log;
    router r;
    auto s = std::make_shared<session>("s");
    const auto mark = go_offline(*s, {log.part});
    r.subscribe(*s, "$share/g/t", rec(mqtt::qos::at_least_once));
    CHECK(r.route(logged("t", log.part, mark), 100) == 1);
    CHECK(s->queued() == 1);  // a $share message is never the session's own backlog

    auto z = std::make_shared<session>("z");
    const auto zmark = go_offline(*z, {log.part});
    r.subscribe(*z, "q", rec(mqtt::qos::at_most_once));
    CHECK(r.route(logged("q", log.part, zmark), 100) == 1);  // offered (dropped: QoS 0 offline)
    CHECK(r.covered_skips() == 0);
}

TEST_CASE("covered groups: a session joins when its cursors are durable, and leaves cleanly") {
    test_partition log, second;
    router r;
    auto s = std::make_shared<session>("s");
    std::shared_ptr<offline_cursors> cursors;
    go_offline(*s, {log.part}, /*durable=*/false, &cursors);
    r.subscribe(*s, "t", rec(mqtt::qos::at_least_once));
    s->set_subscription("t", rec(mqtt::qos::at_least_once));
    const store::partition::ticket high = 1'000'000;

    // Its snapshot is not durable: offered, so the publisher waits for it (session::offer).
    CHECK(r.route(logged("t", log.part, high), 100) == 1);
    CHECK(s->covered() == 1);
    CHECK(r.covered_skips() == 0);

    cursors->durable->finish(mqtt::reason_code::success);
    r.cover(*s, s->subscription_filters());
    CHECK(r.route(logged("t", log.part, high), 100) == 1);
    CHECK(s->covered() == 1);
    CHECK(r.covered_skips() == 1);
    CHECK(r.subscription_count() == 1);

    // A member without a mark on a partition keeps the group from being skipped there.
    auto b = std::make_shared<session>("b");
    go_offline(*b, {log.part, second.part});
    r.subscribe(*b, "t", rec(mqtt::qos::at_least_once));
    CHECK(r.route(logged("t", second.part, high), 100) == 2);
    CHECK(s->queued() == 1);  // s has no mark on `second`
    CHECK(b->covered() == 1);
    CHECK(r.covered_skips() == 1);

    // Resubscribing with QoS 0 leaves the group; unsubscribing and removing prune it.
    r.subscribe(*b, "t", rec(mqtt::qos::at_most_once));
    CHECK(r.subscription_count() == 2);
    CHECK(r.route(logged("t", second.part, high), 100) == 2);
    CHECK(s->queued() == 2);
    CHECK(r.unsubscribe(*s, "t"));
    CHECK(r.route(logged("t", log.part, high), 100) == 1);
    r.remove_session(*b, {"t"});
    CHECK(r.subscription_count() == 0);
    CHECK(r.route(logged("t", log.part, high), 100) == 0);
    CHECK_FALSE(r.unsubscribe(*s, "t"));
}

TEST_CASE("covered groups: sessions restored at start (marks with ticket 0) are skipped") {
    test_partition log;
    router r;
    auto s = std::make_shared<session>("restored");
    s->restore_backlog({{logged_partition{"mqtt", 0, log.part}, 0}});
    r.subscribe(*s, "t/#", rec(mqtt::qos::exactly_once));
    CHECK(r.route(logged("t/x", log.part, 0, mqtt::qos::exactly_once), 100) == 1);
    CHECK(r.covered_skips() == 1);
    CHECK(s->queued() == 0);
    CHECK(s->covered() == 0);
}

// Routers skip and walk covered groups while other threads add sessions to them, move them in
// (cover), take them out and destroy them. Under ASan or TSan, a route that read a freed group
// or offered to a destroyed session fails; the stable members always count as matched.
TEST_CASE("covered groups: routing is safe while members join, leave and end") {
    test_partition log;
    router r;
    std::vector<std::shared_ptr<session>> stable;
    for (int i = 0; i < 4; ++i) {
        stable.push_back(std::make_shared<session>("stable" + std::to_string(i)));
        stable.back()->restore_backlog({{logged_partition{"mqtt", 0, log.part}, 0}});
        r.subscribe(*stable.back(), "load/#", rec(mqtt::qos::at_least_once));
    }
    constexpr int churn_threads = 2, routers = 2, churn_rounds = 300;
    std::atomic<int> churners_left{churn_threads};
    std::atomic<bool> short_route{false};
    std::vector<std::thread> threads;
    for (int c = 0; c < churn_threads; ++c)
        threads.emplace_back([&, c] {
            for (int i = 0; i < churn_rounds; ++i) {
                auto s = std::make_shared<session>("churn" + std::to_string(c));
                const std::vector<std::string> filters{"load/#", "load/" + std::to_string(i % 7)};
                std::shared_ptr<offline_cursors> cursors;
                go_offline(*s, {log.part}, /*durable=*/i % 2 == 0, &cursors);
                for (const auto& f : filters) {
                    r.subscribe(*s, f, rec(mqtt::qos::at_least_once));
                    s->set_subscription(f, rec(mqtt::qos::at_least_once));
                }
                if (i % 2) {
                    cursors->durable->finish(mqtt::reason_code::success);
                    r.cover(*s, s->subscription_filters());
                }
                if (i % 3 == 0) r.unsubscribe(*s, filters[1]);
                r.remove_session(*s, filters);
                s.reset();  // destroyed: no route may still hold it
            }
            churners_left.fetch_sub(1);
        });
    for (int p = 0; p < routers; ++p)
        threads.emplace_back([&, p] {
            std::uint64_t n = 0;
            while (churners_left.load() > 0 || n < 1000) {
                const auto topic = "load/" + std::to_string((n + static_cast<unsigned>(p)) % 7);
                // Tickets above every mark (skips) and tickets 0 (walks the members).
                const store::partition::ticket t = n % 2 ? 1'000'000'000 : 0;
                if (r.route(logged(topic.c_str(), log.part, t), 1000000) < stable.size())
                    short_route = true;
                ++n;
            }
        });
    for (auto& t : threads) t.join();
    CHECK_FALSE(short_route.load());
    CHECK(r.subscription_count() == stable.size());
    CHECK(r.route(logged("load/1", log.part, 5), 100) == stable.size());
}

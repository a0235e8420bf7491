// Shared groups' backlogs in the log (broker/share_backlog.hpp, docs/offline-backlog-design.md
// "Shared groups"): the boundary the group's markers draw under racing publishers, the router
// skipping a group its cursors cover, and the backlog reader handing the group's stretch to
// its online members, each record to one of them.
#include <catch2/catch.hpp>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "broker/backlog_reader.hpp"
#include "broker/router.hpp"
#include "broker/share_backlog.hpp"
#include "ingest/record_mapping.hpp"
#include "store/batch_builder.hpp"
#include "tests/broker/backlog_test_util.hpp"

using namespace sluice;
using namespace sluice::broker;
using namespace sluice::broker::backlog_test;

namespace {

subscription_record q1() {
    subscription_record r;
    r.options.max_qos = mqtt::qos::at_least_once;
    return r;
}

message_ptr message_on(const char* topic, log_position at, mqtt::qos q = mqtt::qos::at_least_once) {
    mqtt::publish p;
    p.topic = topic;
    p.qos_level = q;
    p.payload = mqtt::shared_bytes(std::string_view("x"));
    return make_message(std::move(p), nullptr, steady_clock::now(), std::move(at));
}

}  // namespace

TEST_CASE("share backlog: every message raced with the group's opening is live or under its cursor, never both") {
    // Publishers append then ask the group (as a route does) while the group opens: each
    // message must be either live (covers() false) or at or above the cursor, not both, not
    // neither.
    test_partition log;
    REQUIRE(log.part);
    auto& part = log.part;
    for (int round = 0; round < 20; ++round) {
        share_backlog b("$share/g/t");
        std::mutex mu;
        std::condition_variable cv;
        std::map<int, std::int64_t> offset_of;
        std::map<int, bool> covered;
        std::atomic<bool> go{false};
        constexpr int per_thread = 100;
        std::vector<std::thread> publishers;
        for (int th = 0; th < 2; ++th)
            publishers.emplace_back([&, th] {
                while (!go.load()) std::this_thread::yield();
                for (int i = 0; i < per_thread; ++i) {
                    const int n = th * per_thread + i;
                    store::batch_builder bb;
                    bb.add(0, std::nullopt, std::string_view(std::to_string(n)));
                    const auto t = part->append(*bb.build(), [&, n](const store::append_result& r) {
                        std::lock_guard lock(mu);
                        offset_of[n] = r.base_offset.value;
                        cv.notify_all();
                    });
                    const bool c = b.covers(part.get(), t);
                    std::lock_guard lock(mu);
                    covered[n] = c;
                }
            });
        go.store(true);
        std::this_thread::yield();
        auto cursors = b.open({{"mqtt", 0, part}});
        std::atomic<bool> ready{false};
        cursors->arm([&] {
            cursors->durable->finish(mqtt::reason_code::success);
            ready.store(true);
        });
        for (auto& t : publishers) t.join();
        {
            std::unique_lock lock(mu);
            REQUIRE(cv.wait_for(lock, std::chrono::seconds(60),
                                [&] { return offset_of.size() == 2u * per_thread; }));
        }
        part->flush().get();
        REQUIRE(ready.load());
        const auto cs = b.cursors();
        REQUIRE(cs.size() == 1);
        const std::int64_t cursor = cs[0].next;
        for (const auto& [n, off] : offset_of) {
            INFO("message " << n << " offset " << off << " cursor " << cursor);
            CHECK(covered.at(n) == (off >= cursor));
        }
    }
}

TEST_CASE("share backlog: the router skips a group whose cursors cover a message, and only then") {
    test_partition a, other;
    router r;
    fake_owner owner;
    session m1("m1"), m2("m2");
    for (auto* s : {&m1, &m2}) {
        s->attach(&owner, false, 3600);
        REQUIRE_FALSE(r.subscribe(*s, "$share/g/t/#", q1()));
    }
    // Online members: not all offline.
    auto st = r.share_state_of("$share/g/t/#");
    CHECK(st.exists);
    CHECK_FALSE(st.all_offline);
    std::unique_ptr<mqtt::will_message> no_will;
    for (auto* s : {&m1, &m2}) REQUIRE(s->detach(&owner, 3600, no_will));
    st = r.share_state_of("$share/g/t/#");
    CHECK(st.all_offline);
    CHECK_FALSE(st.backlog);
    CHECK_FALSE(r.share_state_of("$share/h/t/#").exists);

    auto b = std::make_shared<share_backlog>("$share/g/t/#");
    b->restore({{logged_partition{"mqtt", 0, a.part}, 0}});
    REQUIRE(r.set_share_backlog(b));
    CHECK_FALSE(r.set_share_backlog(std::make_shared<share_backlog>("$share/g/t/#")));
    CHECK(r.share_state_of("$share/g/t/#").backlog == b);

    const queue_limits limits(100);
    CHECK(r.route(message_on("t/x", {a.part, 5}), limits) == 1);  // the group, skipped
    CHECK(r.covered_skips() == 1);
    CHECK(m1.queued() + m2.queued() == 0);
    // Another partition (no mark), an unlogged message: to a member's queue, as before.
    r.route(message_on("t/x", {other.part, 5}), limits);
    r.route(message_on("t/x", {}), limits);
    CHECK(m1.queued() + m2.queued() == 2);
    // A QoS 0 message is never the log's (dropped for an offline member).
    r.route(message_on("t/x", {a.part, 6}, mqtt::qos::at_most_once), limits);
    CHECK(r.covered_skips() == 1);

    // The reader sees the members while this backlog is the group's; not once it is gone.
    std::vector<router::share_member> members;
    CHECK(r.share_members(*b, members));
    CHECK(members.size() == 2);
    r.remove_session(m1, {"$share/g/t/#"});
    r.remove_session(m2, {"$share/g/t/#"});
    members.clear();
    CHECK_FALSE(r.share_members(*b, members));
}

TEST_CASE("share backlog: the reader hands the group's stretch to its online members, each record to one") {
    test_partition log;
    REQUIRE(log.part);
    constexpr int records = 120;
    for (int i = 0; i < records; ++i) {
        // Every third record is on a topic outside the group's filter.
        const char* topic = i % 3 == 2 ? "other" : "t/x";
        REQUIRE(log.part->append(numbered_batch(topic, i)).get().error == store::errc::ok);
    }
    auto b = std::make_shared<share_backlog>("$share/g/t/#");
    b->restore({{logged_partition{"mqtt", 0, log.part}, 0}});

    fake_owner owner;
    std::vector<std::shared_ptr<session>> members;
    for (int i = 0; i < 2; ++i) {
        auto s = std::make_shared<session>("m" + std::to_string(i));
        s->attach(&owner, false, 3600);
        members.push_back(s);
    }
    std::atomic<bool> gone{false};
    backlog_reader reader(30, {});  // room for 30 each: the stretch goes in several steps
    reader.set_share_hooks(
        [&](const share_backlog&, std::vector<backlog_reader::share_target>& out) {
            for (auto& s : members) out.push_back({s, q1()});
            return true;
        },
        [&](const share_backlog&) { gone.store(true); });
    reader.watch_share(b);
    reader.start();
    std::vector<std::vector<int>> got(members.size());
    std::size_t total = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    const std::size_t want = records - records / 3;
    while (total < want && std::chrono::steady_clock::now() < deadline) {
        for (std::size_t i = 0; i < members.size(); ++i)
            for (const auto& d : members[i]->take_queued()) {
                CHECK(d.share == "$share/g/t/#");
                got[i].push_back(number_of(d));
                ++total;
            }
        reader.wake();  // taken from the queues: room again (take_deliveries would wake it)
        std::this_thread::yield();
    }
    reader.stop();
    REQUIRE(total == want);
    std::set<int> all;
    for (const auto& g : got) {
        CHECK(std::is_sorted(g.begin(), g.end()));  // in log order per member
        all.insert(g.begin(), g.end());
    }
    CHECK(all.size() == want);  // each record once
    CHECK_FALSE(got[0].empty());
    CHECK_FALSE(got[1].empty());  // turns between the members
    CHECK(b->cursors() == std::vector<log_cursor>{{"mqtt", 0, records}});
    CHECK_FALSE(gone.load());
}

TEST_CASE("share backlog: after a reopen of the log the group reads on through the old object, the new object's messages are live") {
    // The log is reopened after a write failure (durable_log): new partition objects on the
    // same files. A group's marks are not replaced (docs/offline-backlog-design.md, "After a
    // reopen of the log"): what its old mark covered is still delivered from the log, once;
    // what is appended on the new object goes to the members as before the opening.
    test_partition log;
    REQUIRE(log.part);
    auto p1 = log.part;
    auto b = std::make_shared<share_backlog>("$share/g/t/#");
    auto opened = b->open({{"mqtt", 0, p1}});
    std::atomic<bool> ready{false};
    opened->arm([&] {
        opened->durable->finish(mqtt::reason_code::success);
        ready.store(true);
    });
    for (int i = 0; i < 3; ++i) {  // under the group's mark
        const auto t = p1->append(numbered_batch("t/x", i), [](const store::append_result&) {});
        CHECK(b->covers(p1.get(), t));
    }
    p1->flush().get();
    REQUIRE(ready.load());

    // The reopen: the old object closed, a new one on the same files.
    REQUIRE(p1->close() == store::errc::ok);
    auto p2 = log.open_again();
    REQUIRE(p2);
    REQUIRE(p2->high_watermark().value == 3);
    for (int i = 3; i < 5; ++i) {  // the group has no mark here: live, to a member
        const auto t = p2->append(numbered_batch("t/x", i), [](const store::append_result&) {});
        CHECK_FALSE(b->covers(p2.get(), t));
    }
    p2->flush().get();

    fake_owner owner;
    auto member = std::make_shared<session>("m0");
    member->attach(&owner, false, 3600);
    backlog_reader reader(100, {});
    reader.set_share_hooks(
        [&](const share_backlog&, std::vector<backlog_reader::share_target>& out) {
            out.push_back({member, q1()});
            return true;
        },
        [](const share_backlog&) {});
    reader.watch_share(b);
    reader.start();
    std::vector<int> got;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (got.size() < 3 && std::chrono::steady_clock::now() < deadline) {
        for (const auto& d : member->take_queued()) got.push_back(number_of(d));
        reader.wake();
        std::this_thread::yield();
    }
    // The old object's stretch, read through it although it is closed; then it is caught up
    // (its high watermark never moves again) and nothing of the new object's comes this way.
    reader.stop();
    for (const auto& d : member->take_queued()) got.push_back(number_of(d));
    CHECK(got == std::vector<int>{0, 1, 2});
    CHECK(b->cursors() == std::vector<log_cursor>{{"mqtt", 0, 3}});
    CHECK(b->cursors_behind().empty());
    p2->close();
}

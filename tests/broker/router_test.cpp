#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <random>
#include <set>
#include <thread>

#include "broker/router.hpp"
#include "mqtt/topic.hpp"

using namespace sluice::broker;
namespace mqtt = sluice::mqtt;

namespace {

// A session that is offline but keeps QoS 1 messages, so offers land in its queue.
struct probe {
    std::shared_ptr<session> s;
    explicit probe(const char* id) : s(std::make_shared<session>(id)) {}
    std::vector<delivery> take() { return s->take_queued(); }
};

message_ptr msg(const char* topic, mqtt::qos q = mqtt::qos::at_least_once, bool retain = false,
                const void* origin = nullptr) {
    mqtt::publish p;
    p.topic = topic;
    p.qos_level = q;
    p.retain = retain;
    p.payload = mqtt::shared_bytes(std::string_view("x"));
    return make_message(std::move(p), origin);
}

subscription_record rec(mqtt::qos q, std::uint32_t id = 0) {
    subscription_record r;
    r.options.max_qos = q;
    r.subscription_id = id;
    return r;
}

}  // namespace

TEST_CASE("split_levels keeps empty levels") {
    std::vector<std::string_view> levels;
    split_levels("a//b/", levels);
    REQUIRE(levels == std::vector<std::string_view>{"a", "", "b", ""});
    split_levels("/", levels);
    REQUIRE(levels == std::vector<std::string_view>{"", ""});
}

TEST_CASE("trie matches exact, + and # filters") {
    router r;
    probe a("a"), b("b"), c("c"), d("d");
    r.subscribe(*a.s, "sport/tennis/player1", rec(mqtt::qos::at_least_once));
    r.subscribe(*b.s, "sport/+/player1", rec(mqtt::qos::at_least_once));
    r.subscribe(*c.s, "sport/#", rec(mqtt::qos::at_least_once));
    r.subscribe(*d.s, "+/+", rec(mqtt::qos::at_least_once));
    CHECK(r.route(msg("sport/tennis/player1"), 100) == 3);
    CHECK(r.route(msg("sport"), 100) == 1);  // "sport/#" matches its parent level
    CHECK(c.take().size() == 2);
    CHECK(r.route(msg("sport/x"), 100) == 2);  // sport/# and +/+
    CHECK(r.route(msg("other"), 100) == 0);
    CHECK(r.subscription_count() == 4);
}

TEST_CASE("wildcards at the first level do not match $ topics") {
    router r;
    probe a("a"), b("b");
    r.subscribe(*a.s, "#", rec(mqtt::qos::at_least_once));
    r.subscribe(*b.s, "$SYS/#", rec(mqtt::qos::at_least_once));
    CHECK(r.route(msg("$SYS/broker/uptime"), 100) == 1);
    CHECK(a.take().empty());
    CHECK(b.take().size() == 1);
    r.subscribe(*a.s, "+/broker/uptime", rec(mqtt::qos::at_least_once));
    CHECK(r.route(msg("$SYS/broker/uptime"), 100) == 1);
    CHECK(a.take().empty());
}

TEST_CASE("overlapping subscriptions give one delivery with max QoS and every identifier") {
    router r;
    probe a("a");
    r.subscribe(*a.s, "a/+", rec(mqtt::qos::at_most_once, 1));
    r.subscribe(*a.s, "a/#", rec(mqtt::qos::exactly_once, 2));
    CHECK(r.route(msg("a/b", mqtt::qos::exactly_once), 100) == 1);
    auto got = a.take();
    REQUIRE(got.size() == 1);
    CHECK(got[0].qos_level == mqtt::qos::exactly_once);
    auto ids = got[0].subscription_ids;
    std::sort(ids.begin(), ids.end());
    CHECK(ids == std::vector<std::uint32_t>{1, 2});
}

TEST_CASE("QoS is downgraded to the subscription's maximum") {
    router r;
    probe a("a");
    r.subscribe(*a.s, "t", rec(mqtt::qos::at_least_once));
    r.route(msg("t", mqtt::qos::exactly_once), 100);
    auto got = a.take();
    REQUIRE(got.size() == 1);
    CHECK(got[0].qos_level == mqtt::qos::at_least_once);
}

TEST_CASE("no local skips the publisher's own subscription") {
    router r;
    probe a("a"), b("b");
    auto nl = rec(mqtt::qos::at_least_once);
    nl.options.no_local = true;
    r.subscribe(*a.s, "t", nl);
    r.subscribe(*b.s, "t", nl);
    CHECK(r.route(msg("t", mqtt::qos::at_least_once, false, a.s.get()), 100) == 1);
    CHECK(a.take().empty());
    CHECK(b.take().size() == 1);
}

TEST_CASE("retain as published keeps the flag, otherwise it is cleared") {
    router r;
    probe a("a"), b("b");
    auto rap = rec(mqtt::qos::at_least_once);
    rap.options.retain_as_published = true;
    r.subscribe(*a.s, "t", rap);
    r.subscribe(*b.s, "t", rec(mqtt::qos::at_least_once));
    r.route(msg("t", mqtt::qos::at_least_once, true), 100);
    CHECK(a.take().at(0).retain);
    CHECK_FALSE(b.take().at(0).retain);
}

TEST_CASE("shared groups take turns and redeliver to another member") {
    router r;
    probe a("a"), b("b");
    r.subscribe(*a.s, "$share/g/t/+", rec(mqtt::qos::at_least_once));
    r.subscribe(*b.s, "$share/g/t/+", rec(mqtt::qos::at_least_once));
    for (int i = 0; i < 10; ++i) r.route(msg("t/x"), 100);
    auto got_a = a.take(), got_b = b.take();
    CHECK(got_a.size() == 5);
    CHECK(got_b.size() == 5);
    REQUIRE_FALSE(got_a.empty());
    CHECK(got_a[0].share == "$share/g/t/+");
    CHECK(r.redeliver_shared(got_a[0], a.s.get(), 100));
    CHECK(b.take().size() == 1);
    CHECK(a.take().empty());
}

TEST_CASE("unsubscribe removes and prunes; unknown filters report absence") {
    router r;
    probe a("a");
    CHECK_FALSE(r.subscribe(*a.s, "x/y/z", rec(mqtt::qos::at_least_once)));
    CHECK(r.subscribe(*a.s, "x/y/z", rec(mqtt::qos::at_most_once)));  // replaced
    CHECK(r.subscription_count() == 1);
    CHECK(r.unsubscribe(*a.s, "x/y/z"));
    CHECK_FALSE(r.unsubscribe(*a.s, "x/y/z"));
    CHECK_FALSE(r.unsubscribe(*a.s, "$share/g/x"));
    CHECK(r.subscription_count() == 0);
    CHECK(r.route(msg("x/y/z"), 100) == 0);
}

TEST_CASE("session queue bound and offline QoS 0 drops") {
    router r;
    probe a("a");
    r.subscribe(*a.s, "t", rec(mqtt::qos::at_least_once));
    for (int i = 0; i < 5; ++i) r.route(msg("t"), 3);
    CHECK(a.take().size() == 3);
    r.route(msg("t", mqtt::qos::at_most_once), 3);  // offline: QoS 0 is not kept
    CHECK(a.take().empty());
    CHECK(r.dropped() == 3);
}

TEST_CASE("empty levels are levels when routing") {
    router r;
    probe a("a"), b("b"), c("c"), d("d");
    r.subscribe(*a.s, "a//b", rec(mqtt::qos::at_least_once));
    r.subscribe(*b.s, "a/+/b", rec(mqtt::qos::at_least_once));
    r.subscribe(*c.s, "+/a", rec(mqtt::qos::at_least_once));
    r.subscribe(*d.s, "a/+", rec(mqtt::qos::at_least_once));
    CHECK(r.route(msg("a//b"), 100) == 2);
    CHECK(r.route(msg("/a"), 100) == 1);
    CHECK(r.route(msg("a/"), 100) == 1);
    CHECK(r.route(msg("a/b"), 100) == 1);
    CHECK(a.take().size() == 1);
    CHECK(b.take().size() == 1);
    CHECK(c.take().size() == 1);
    CHECK(d.take().size() == 2);
}

TEST_CASE("wildcard nodes are pruned and re-created") {
    router r;
    probe a("a"), b("b");
    r.subscribe(*a.s, "x/+/#", rec(mqtt::qos::at_least_once));
    r.subscribe(*b.s, "x/+", rec(mqtt::qos::at_least_once));
    CHECK(r.route(msg("x/y"), 100) == 2);  // x/+/# matches its parent x/y
    CHECK(r.unsubscribe(*a.s, "x/+/#"));
    CHECK(r.route(msg("x/y"), 100) == 1);
    CHECK(r.route(msg("x/y/z"), 100) == 0);
    CHECK(r.unsubscribe(*b.s, "x/+"));
    CHECK(r.route(msg("x/y"), 100) == 0);
    r.subscribe(*a.s, "x/+/#", rec(mqtt::qos::at_least_once));
    CHECK(r.route(msg("x/y/z"), 100) == 1);
    CHECK(r.subscription_count() == 1);
}

TEST_CASE("remove_session removes plain and shared subscriptions") {
    router r;
    probe a("a"), b("b");
    std::vector<std::string> filters{"t/#", "$share/g/t/1", "$share/h/t/+"};
    for (const auto& f : filters) r.subscribe(*a.s, f, rec(mqtt::qos::at_least_once));
    r.subscribe(*b.s, "$share/g/t/1", rec(mqtt::qos::at_least_once));
    CHECK(r.subscription_count() == 4);
    CHECK(r.route(msg("t/1"), 100) == 3);  // t/#, group g (one member), group h
    r.remove_session(*a.s, filters);
    CHECK(r.subscription_count() == 1);
    b.take();
    CHECK(r.route(msg("t/1"), 100) == 1);
    CHECK(b.take().size() == 1);
    CHECK(r.unsubscribe(*b.s, "$share/g/t/1"));
    CHECK(r.route(msg("t/1"), 100) == 0);
}

TEST_CASE("a shared group's last member gets no redelivery of its own message") {
    router r;
    probe a("a"), b("b");
    r.subscribe(*a.s, "$share/g/t", rec(mqtt::qos::at_least_once));
    r.subscribe(*b.s, "$share/g/t", rec(mqtt::qos::at_least_once));
    CHECK_FALSE(r.redeliver_shared(delivery{}, nullptr, 100));  // no share: nothing to do
    r.unsubscribe(*b.s, "$share/g/t");
    r.route(msg("t"), 100);
    auto got = a.take();
    REQUIRE(got.size() == 1);
    CHECK_FALSE(r.redeliver_shared(got[0], a.s.get(), 100));  // no other member
    CHECK(r.redeliver_shared(got[0], nullptr, 100));
    CHECK(a.take().size() == 1);
}

TEST_CASE("the trie agrees with topic_matches on random topics and filters") {
    std::mt19937 rng(11);
    const std::vector<std::string> words{"a", "b", "", "$x"};
    auto random_levels = [&](bool filter) {
        std::string f;
        while (f.empty()) {  // a single empty level is not a valid topic or filter
            const int n = 1 + static_cast<int>(rng() % 4);
            for (int i = 0; i < n; ++i) {
                if (i) f += '/';
                const auto r = rng() % 8;
                if (filter && r == 0 && i == n - 1)
                    f += '#';
                else if (filter && r <= 2)
                    f += '+';
                else
                    f += words[rng() % words.size()];
            }
        }
        return f;
    };
    router r;
    std::vector<std::unique_ptr<probe>> sessions;
    std::vector<std::set<std::string>> subscribed(40);
    for (int i = 0; i < 40; ++i)
        sessions.push_back(std::make_unique<probe>(("s" + std::to_string(i)).c_str()));
    for (int i = 0; i < 400; ++i) {
        const auto k = rng() % sessions.size();
        const auto f = random_levels(true);
        if (rng() % 4 == 0) {
            CHECK(r.unsubscribe(*sessions[k]->s, f) == (subscribed[k].erase(f) > 0));
        } else {
            CHECK(r.subscribe(*sessions[k]->s, f, rec(mqtt::qos::at_least_once)) ==
                  !subscribed[k].insert(f).second);
        }
    }
    std::size_t total = 0;
    for (const auto& set : subscribed) total += set.size();
    CHECK(r.subscription_count() == total);
    for (int i = 0; i < 200; ++i) {
        const auto t = random_levels(false);
        std::size_t want = 0;
        for (const auto& set : subscribed)
            want += std::any_of(set.begin(), set.end(),
                                [&](const std::string& f) { return mqtt::topic_matches(f, t); });
        INFO("topic " << t);
        CHECK(r.route(msg(t.c_str()), 1000) == want);
    }
}

// Publishers route while other threads subscribe, unsubscribe and end sessions (destroying
// them right after remove_session, as the broker may). Run under ASan or TSan: a route that
// offered to a destroyed session, or a data race in the trie, fails there.
TEST_CASE("routing is safe while subscriptions and sessions change") {
    router r;
    std::vector<std::unique_ptr<probe>> stable;
    for (int i = 0; i < 4; ++i) {
        stable.push_back(std::make_unique<probe>(("stable" + std::to_string(i)).c_str()));
        r.subscribe(*stable.back()->s, "load/#", rec(mqtt::qos::at_least_once));
    }
    constexpr int churn_threads = 2, routers = 2, churn_rounds = 300;
    std::atomic<int> churners_left{churn_threads};
    std::atomic<bool> short_route{false};
    std::vector<std::thread> threads;
    for (int c = 0; c < churn_threads; ++c)
        threads.emplace_back([&, c] {
            for (int i = 0; i < churn_rounds; ++i) {
                auto s = std::make_shared<session>("churn" + std::to_string(c));
                std::vector<std::string> filters{"load/" + std::to_string(i % 7),
                                                 "$share/g" + std::to_string(i % 3) + "/load/+",
                                                 "other/" + std::to_string(i)};
                for (const auto& f : filters) r.subscribe(*s, f, rec(mqtt::qos::at_least_once));
                r.unsubscribe(*s, filters[2]);
                r.subscribe(*s, filters[2], rec(mqtt::qos::at_most_once));
                if (i % 2) r.unsubscribe(*s, filters[1]);
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
                if (r.route(msg(topic.c_str(), mqtt::qos::at_least_once), 8) < stable.size())
                    short_route = true;
                ++n;
            }
        });
    for (auto& t : threads) t.join();
    CHECK_FALSE(short_route.load());  // the stable subscribers always matched
    CHECK(r.subscription_count() == stable.size());
    CHECK(r.route(msg("load/1"), 8) == stable.size());
}

TEST_CASE("route reports what full, progressing receivers refused; offer_again delivers it") {
    struct owner final : session_owner {
        void wake() override {}
        void kick(mqtt::reason_code, bool) override {}
    } o;
    router r;
    probe full("full"), other("other");
    full.s->attach(&o, false, 0);  // online and progressing: refuses when full
    r.subscribe(*full.s, "t/#", rec(mqtt::qos::at_least_once, 7));
    r.subscribe(*other.s, "t/+", rec(mqtt::qos::at_least_once));
    std::vector<refused_offer> refused;
    bool congested = false;
    CHECK(r.route(msg("t/1"), 1, &congested, &refused) == 2);
    CHECK(refused.empty());
    CHECK(other.take().size() == 1);
    CHECK(r.route(msg("t/2"), 1, &congested, &refused) == 2);
    CHECK(congested);
    REQUIRE(refused.size() == 1);
    CHECK(refused[0].s == full.s.get());
    CHECK(refused[0].client_id == "full");
    CHECK(refused[0].d.msg->topic() == "t/2");
    CHECK(refused[0].d.subscription_ids == std::vector<std::uint32_t>{7});
    CHECK(r.dropped() == 0);
    CHECK(other.take().size() == 1);  // the others got it at once

    // Refused again while still full; taken once the receiver made room.
    CHECK(r.offer_again(*full.s, std::move(refused[0].d), 1, true) ==
          session::offer_result::refused);
    REQUIRE(full.take().size() == 1);
    CHECK(r.offer_again(*full.s, std::move(refused[0].d), 1, true) ==
          session::offer_result::congested);  // queued, and full again
    auto got = full.take();
    REQUIRE(got.size() == 1);
    CHECK(got[0].msg->topic() == "t/2");
    // Without a list to report to, a full receiver drops as before.
    r.route(msg("t/x/3"), 1);  // "t/#" only
    r.route(msg("t/x/4"), 1);
    CHECK(r.dropped() == 1);
}

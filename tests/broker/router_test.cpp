#include <catch2/catch.hpp>

#include "broker/router.hpp"

using namespace sluice::broker;
namespace mqtt = sluice::mqtt;

namespace {

// A session that is offline but keeps QoS 1 messages, so offers land in its queue.
struct probe {
    std::shared_ptr<session> s;
    explicit probe(const char* id) : s(std::make_shared<session>(id)) {}
    std::vector<delivery> take() {
        std::lock_guard lock(s->mu);
        std::vector<delivery> out(s->queue.begin(), s->queue.end());
        s->queue.clear();
        return out;
    }
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

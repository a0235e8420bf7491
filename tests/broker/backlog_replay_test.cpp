#include <catch2/catch.hpp>

#include "broker/backlog_replay.hpp"
#include "ingest/record_mapping.hpp"
#include "store/batch_builder.hpp"
#include "tests/store/test_util.hpp"

using namespace sluice;
using namespace sluice::broker;
using sluice::store::test::temp_dir;

namespace {

constexpr std::int64_t t0 = 1'700'000'000'000;

// A partition of records as the broker's ingest writes them (one record per batch).
struct log_fixture {
    temp_dir dir;
    store::writer_pool pool{1};
    std::int64_t now = t0;
    std::shared_ptr<store::partition> p;

    explicit log_fixture(store::log_config cfg = {}) {
        cfg.flush = store::durability::never;
        store::errc e = store::errc::ok;
        p = store::partition::open(dir.path(), cfg, pool, [this] { return now; }, e);
        REQUIRE(p);
    }
    ~log_fixture() { p->close(); }

    void publish(const std::string& topic, const std::string& payload, mqtt::qos q,
                 const std::string& client = "pub", bool retain = false,
                 std::int64_t ts = t0) {
        mqtt::publish pub;
        pub.topic = topic;
        pub.payload = mqtt::shared_bytes(std::string_view(payload));
        pub.qos_level = q;
        pub.retain = retain;
        const auto r = ingest::to_record(pub, client, ts, ingest::delivery_id{1, 0, seq_++},
                                         std::string_view(topic));
        store::batch_builder b;
        b.add(r.timestamp, r.key, r.value, r.headers);
        REQUIRE(p->append(*b.build()).get().error == store::errc::ok);
    }

    std::int32_t seq_ = 0;
};

subscription_record sub(mqtt::qos max, std::uint32_t id = 0, bool no_local = false,
                        bool rap = false) {
    subscription_record r;
    r.options.max_qos = max;
    r.options.no_local = no_local;
    r.options.retain_as_published = rap;
    r.subscription_id = id;
    return r;
}

std::string payload_of(const delivery& d) {
    const auto v = d.msg->packet().payload.view();
    return std::string(reinterpret_cast<const char*>(v.data()), v.size());
}

replay_request everything(std::int64_t from = 0) {
    replay_request req;
    req.from = from;
    req.until = 1'000'000;
    req.room = 1000;
    req.now_ms = t0;
    return req;
}

}  // namespace

TEST_CASE("backlog replay: matches the session's subscriptions with their options, in log order") {
    log_fixture log;
    log.publish("home/a/temp", "1", mqtt::qos::exactly_once);
    log.publish("office/x", "2", mqtt::qos::at_least_once);               // not subscribed
    log.publish("home/b/temp", "3", mqtt::qos::at_least_once, "me");      // No Local
    log.publish("home/c/temp", "4", mqtt::qos::at_most_once);             // QoS 0: not kept
    log.publish("alerts/fire", "5", mqtt::qos::exactly_once, "pub", true);
    log.publish("home/d/temp", "6", mqtt::qos::exactly_once);

    backlog_subscriber s;
    s.client_id = "me";
    s.subscriptions = {{"home/+/temp", sub(mqtt::qos::at_least_once, 7, true)},
                       {"alerts/#", sub(mqtt::qos::exactly_once, 9, false, true)},
                       {"$share/g/office/#", sub(mqtt::qos::exactly_once, 3)}};  // not its own

    backlog_usage used;
    auto step = replay_backlog(*log.p, everything(), s, {}, used);
    REQUIRE(step.error == store::errc::ok);
    CHECK(step.next == 6);  // the high watermark: `until` is further, so not done
    CHECK(!step.done);
    REQUIRE(step.deliveries.size() == 3);
    CHECK(step.deliveries[0].first == 0);
    CHECK(payload_of(step.deliveries[0].second) == "1");
    CHECK(step.deliveries[0].second.qos_level == mqtt::qos::at_least_once);  // granted QoS
    CHECK(step.deliveries[0].second.subscription_ids == std::vector<std::uint32_t>{7});
    CHECK(step.deliveries[1].first == 4);
    CHECK(payload_of(step.deliveries[1].second) == "5");
    CHECK(step.deliveries[1].second.qos_level == mqtt::qos::exactly_once);
    CHECK(step.deliveries[1].second.retain);  // Retain As Published
    CHECK(step.deliveries[1].second.subscription_ids == std::vector<std::uint32_t>{9});
    CHECK(step.deliveries[2].first == 5);
    CHECK(payload_of(step.deliveries[2].second) == "6");
}

TEST_CASE("backlog replay: a subscription made during the catch-up does not match older records") {
    log_fixture log;
    log.publish("a/1", "old a", mqtt::qos::at_least_once, "pub", false, t0 + 10);
    log.publish("b/1", "old b", mqtt::qos::at_least_once, "pub", false, t0 + 10);
    log.publish("a/2", "new a", mqtt::qos::at_least_once, "pub", false, t0 + 20);

    backlog_subscriber s;
    s.client_id = "me";
    auto later = sub(mqtt::qos::at_least_once);
    later.since_ms = t0 + 20;  // subscribed after the first two records were received
    s.subscriptions = {{"a/#", later}, {"b/#", sub(mqtt::qos::at_least_once)}};

    backlog_usage used;
    auto step = replay_backlog(*log.p, everything(), s, {}, used);
    REQUIRE(step.error == store::errc::ok);
    REQUIRE(step.deliveries.size() == 2);
    CHECK(payload_of(step.deliveries[0].second) == "old b");
    CHECK(payload_of(step.deliveries[1].second) == "new a");
}

TEST_CASE("backlog replay: paced by the room the session has, and bounded by `until`") {
    log_fixture log;
    for (int i = 0; i < 10; ++i)
        log.publish(i % 2 ? "a/odd" : "a/even", std::to_string(i), mqtt::qos::at_least_once);
    backlog_subscriber s;
    s.client_id = "me";
    s.subscriptions = {{"a/even", sub(mqtt::qos::exactly_once)}};

    // Steps of two deliveries, stopping at offset 8 (a marker's log end, say).
    std::vector<std::string> got;
    backlog_usage used;
    replay_request req = everything();
    req.until = 8;
    req.room = 2;
    int steps = 0;
    while (true) {
        auto step = replay_backlog(*log.p, req, s, {}, used);
        REQUIRE(step.error == store::errc::ok);
        CHECK(step.deliveries.size() <= 2);
        for (auto& [off, d] : step.deliveries) {
            CHECK(off < 8);
            got.push_back(payload_of(d));
        }
        req.from = step.next;
        REQUIRE(++steps < 20);
        if (step.done) break;
    }
    CHECK(req.from == 8);
    CHECK(got == std::vector<std::string>{"0", "2", "4", "6"});

    // No room: nothing is read and the cursor stays.
    req.from = 0;
    req.room = 0;
    auto idle = replay_backlog(*log.p, req, s, {}, used);
    CHECK(idle.deliveries.empty());
    CHECK(idle.next == 0);
    CHECK(!idle.done);
}

TEST_CASE("backlog replay: what retention removed first is counted, then the rest is replayed") {
    store::log_config cfg;
    cfg.segment_bytes = 600;  // a few records per segment
    cfg.retention_bytes = 1200;
    log_fixture log(cfg);
    for (int i = 0; i < 40; ++i) log.publish("t", std::to_string(i), mqtt::qos::at_least_once);
    REQUIRE(log.p->enforce_retention(t0).get() > 0);
    const std::int64_t start = log.p->log_start_offset().value;
    REQUIRE(start > 0);

    backlog_subscriber s;
    s.subscriptions = {{"t", sub(mqtt::qos::at_least_once)}};
    backlog_usage used;
    auto step = replay_backlog(*log.p, everything(0), s, {}, used);
    CHECK(step.lost_to_retention == static_cast<std::uint64_t>(start));
    REQUIRE(!step.deliveries.empty());
    CHECK(step.deliveries.front().first == start);
    CHECK(payload_of(step.deliveries.front().second) == std::to_string(start));
}

TEST_CASE("backlog replay: count, byte and age limits skip and count what is over them") {
    log_fixture log;
    log.publish("t", "old", mqtt::qos::at_least_once, "pub", false, t0 - 120'000);
    for (int i = 0; i < 5; ++i) log.publish("t", "abcd", mqtt::qos::at_least_once);
    backlog_subscriber s;
    s.subscriptions = {{"t", sub(mqtt::qos::at_least_once)}};

    backlog_limits by_count;
    by_count.max_messages = 2;
    by_count.max_age_ms = 60'000;
    backlog_usage used;
    auto step = replay_backlog(*log.p, everything(), s, by_count, used);
    CHECK(step.deliveries.size() == 2);
    CHECK(payload_of(step.deliveries[0].second) == "abcd");
    CHECK(step.over_limits == 4);  // the old one and three over the count

    backlog_limits by_bytes;
    by_bytes.max_bytes = 10;  // two payloads of four bytes fit, not three
    backlog_usage used2;
    auto step2 = replay_backlog(*log.p, everything(), s, by_bytes, used2);
    CHECK(step2.deliveries.size() == 2);
    CHECK(step2.over_limits == 4);
}

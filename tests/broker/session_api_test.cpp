// The session API (broker/session.hpp) without any connection: deliveries, acknowledgements,
// inbound QoS 2, ownership and the will's lifecycle.
#include <catch2/catch.hpp>

#include "broker/session.hpp"

using namespace sluice::broker;
namespace mqtt = sluice::mqtt;

namespace {

struct fake_owner final : session_owner {
    int wakes = 0;
    int kicks = 0;
    bool continues = false;
    void wake() override { ++wakes; }
    void kick(mqtt::reason_code, bool session_continues) override {
        ++kicks;
        continues = session_continues;
    }
};

delivery make_delivery(mqtt::qos q, const char* topic = "t", const char* payload = "x") {
    mqtt::publish p;
    p.topic = topic;
    p.qos_level = q;
    p.payload = mqtt::shared_bytes(std::string_view(payload));
    delivery d;
    d.msg = make_message(std::move(p), nullptr);
    d.qos_level = q;
    return d;
}

std::vector<outgoing> take(session& s, const session_owner* me, std::size_t window = 65535,
                           bool resend = false) {
    std::vector<outgoing> out;
    take_limits limits;
    limits.window = window;
    limits.byte_room = 1 << 20;
    limits.resend = resend;
    REQUIRE(s.take_deliveries(me, limits, false, out, steady_clock::now()) ==
            session::result::ok);
    return out;
}

std::unique_ptr<mqtt::will_message> make_will() {
    auto w = std::make_unique<mqtt::will_message>();
    w->topic = "will";
    w->props.will_delay_interval = 30;
    return w;
}

}  // namespace

TEST_CASE("session: packet ids are sequential, wrap from 65535 to 1 and skip ids inflight") {
    session s("c");
    fake_owner o;
    s.attach(&o, false, 0);
    s.offer(make_delivery(mqtt::qos::at_least_once), 100);
    auto first = take(s, &o);
    REQUIRE(first.size() == 1);
    CHECK(first[0].packet_id == 1);  // stays inflight through the whole test
    for (int i = 2; i <= 65535; ++i) {
        s.offer(make_delivery(mqtt::qos::at_least_once), 100);
        auto got = take(s, &o);
        REQUIRE(got.size() == 1);
        REQUIRE(got[0].packet_id == i);
        REQUIRE(s.ack(&o, got[0].packet_id));
    }
    // The next id after 65535 is 1, still inflight: skipped.
    s.offer(make_delivery(mqtt::qos::at_least_once), 100);
    auto got = take(s, &o);
    REQUIRE(got.size() == 1);
    CHECK(got[0].packet_id == 2);
}

TEST_CASE("session: offline sessions keep QoS 1/2, drop QoS 0; the owner is woken once") {
    session s("c");
    fake_owner o;
    CHECK(s.offer(make_delivery(mqtt::qos::at_most_once), 10) == session::offer_result::dropped);
    CHECK(s.offer(make_delivery(mqtt::qos::at_least_once), 10) == session::offer_result::queued);
    CHECK(s.dropped() == 1);
    s.attach(&o, false, 60);
    s.offer(make_delivery(mqtt::qos::at_most_once), 10);
    s.offer(make_delivery(mqtt::qos::exactly_once), 10);
    CHECK(o.wakes == 1);  // one wake until the owner takes
    auto out = take(s, &o);
    REQUIRE(out.size() == 3);
    CHECK(out[0].packet_id == 1);
    CHECK(out[1].packet_id == 0);  // QoS 0 has no id
    CHECK(out[2].packet_id == 2);
    CHECK(s.inflight_count() == 2);
    s.offer(make_delivery(mqtt::qos::at_most_once), 10);
    CHECK(o.wakes == 2);
}

TEST_CASE("session: the window limits QoS 1/2 in flight; the queue limit drops") {
    session s("c");
    fake_owner o;
    s.attach(&o, false, 60);
    for (int i = 0; i < 5; ++i) s.offer(make_delivery(mqtt::qos::at_least_once), 5);
    auto r = s.offer(make_delivery(mqtt::qos::at_least_once), 5);
    CHECK((r == session::offer_result::dropped || r == session::offer_result::dropped_congested));
    auto out = take(s, &o, /*window=*/2);
    CHECK(out.size() == 2);
    CHECK(take(s, &o, 2).empty());
    CHECK(s.ack(&o, out[0].packet_id));
    CHECK_FALSE(s.ack(&o, out[0].packet_id));  // only once
    CHECK(take(s, &o, 2).size() == 1);
}

TEST_CASE("session: a resume sends inflight PUBLISH with DUP and PUBREL again, in order") {
    session s("c");
    fake_owner a, b;
    s.attach(&a, false, 60);
    s.offer(make_delivery(mqtt::qos::exactly_once), 10);
    s.offer(make_delivery(mqtt::qos::at_least_once), 10);
    auto out = take(s, &a);
    REQUIRE(out.size() == 2);
    CHECK(s.release(&a, out[0].packet_id, false) == session::pubrec_result::released);
    std::unique_ptr<mqtt::will_message> none;
    REQUIRE(s.detach(&a, 60, none));
    s.attach(&b, true, 60);
    auto again = take(s, &b, 65535, /*resend=*/true);
    REQUIRE(again.size() == 2);
    CHECK(again[0].pubrel);
    CHECK(again[0].packet_id == out[0].packet_id);
    CHECK_FALSE(again[1].pubrel);
    CHECK(again[1].dup);
    CHECK(again[1].packet_id == out[1].packet_id);
    CHECK(s.complete(&b, out[0].packet_id));
    CHECK(s.ack(&b, out[1].packet_id));
    CHECK(s.inflight_count() == 0);
}

TEST_CASE("session: calls from a connection that was taken over change nothing") {
    session s("c");
    fake_owner a, b;
    s.attach(&a, false, 60);
    s.offer(make_delivery(mqtt::qos::at_least_once), 10);
    s.kick_owner(mqtt::reason_code::session_taken_over, true);
    CHECK(a.kicks == 1);
    CHECK(a.continues);
    s.attach(&b, true, 60);
    std::vector<outgoing> out;
    CHECK(s.take_deliveries(&a, {}, false, out, steady_clock::now()) ==
          session::result::not_owner);
    CHECK(s.accept_qos2(&a, 7, 10, true) == session::qos2_result::not_owner);
    CHECK_FALSE(s.release_qos2(&a, 7).has_value());
    CHECK(take(s, &b).size() == 1);
}

TEST_CASE("session: inbound QoS 2 ids are remembered until PUBREL, within a limit") {
    session s("c");
    fake_owner o;
    s.attach(&o, false, 60);
    CHECK(s.accept_qos2(&o, 1, 2, true) == session::qos2_result::fresh);
    CHECK(s.accept_qos2(&o, 1, 2, true) == session::qos2_result::repeat);
    CHECK(s.accept_qos2(&o, 2, 2, true) == session::qos2_result::fresh);
    CHECK(s.accept_qos2(&o, 3, 2, true) == session::qos2_result::over_window);
    CHECK(s.qos2_pending(2));
    CHECK(s.release_qos2(&o, 2) == std::optional<bool>(true));
    CHECK(s.release_qos2(&o, 2) == std::optional<bool>(false));
    CHECK(s.qos2_pending_count() == 1);
}

TEST_CASE("session: a close that lost a race with a resume cannot leave a stale will") {
    // The old connection's close and a resume on another thread: whichever order they take,
    // the resumed session holds no will waiting for its delay.
    session s("c");
    fake_owner a, b;
    s.attach(&a, false, 60);
    // The resume wins: a is kicked and b attached (cancelling any waiting will)...
    s.kick_owner(mqtt::reason_code::session_taken_over, true);
    s.attach(&b, true, 60);
    // ...then a's close arrives with its will: refused, and the will stays with the caller.
    auto will = make_will();
    CHECK_FALSE(s.detach(&a, 60, will).has_value());
    CHECK(will != nullptr);
    std::unique_ptr<mqtt::will_message> none;
    auto gen = s.detach(&b, 60, none);
    REQUIRE(gen);
    CHECK(s.take_will_if(*gen) == nullptr);

    // The close wins: it records its will in the same step as it detaches; the resume then
    // cancels it.
    session t("d");
    t.attach(&a, false, 60);
    auto will2 = make_will();
    auto g2 = t.detach(&a, 60, will2);
    REQUIRE(g2);
    CHECK(will2 == nullptr);  // taken by the session
    t.attach(&b, true, 60);
    CHECK(t.take_will_if(*g2) == nullptr);  // the delay timer finds nothing to publish
}

TEST_CASE("session: enqueue (retained on subscribe) applies the queue limits") {
    session s("c");
    fake_owner o;
    s.attach(&o, false, 60);
    std::vector<delivery> ds;
    for (int i = 0; i < 10; ++i) ds.push_back(make_delivery(mqtt::qos::at_least_once));
    auto n = s.enqueue(&o, ds, queue_limits{4, 0});
    REQUIRE(n);
    CHECK(*n == 4);
    CHECK(s.queued() == 4);
    CHECK(s.dropped() == 6);
    std::vector<delivery> big;
    big.push_back(make_delivery(mqtt::qos::at_least_once, "t", "0123456789"));
    CHECK(s.enqueue(&o, big, queue_limits{100, 5}) == std::optional<std::size_t>(0));
}

TEST_CASE("session: end returns shared-group orphans and the waiting will") {
    session s("c");
    fake_owner o;
    s.attach(&o, false, 60);
    auto d = make_delivery(mqtt::qos::at_least_once);
    d.share = "$share/g/t";
    s.offer(std::move(d), 10);
    s.offer(make_delivery(mqtt::qos::at_least_once), 10);
    auto will = make_will();
    REQUIRE(s.detach(&o, 60, will));
    auto e = s.end();
    CHECK(e.orphans.size() == 1);
    CHECK(e.will != nullptr);
    CHECK(s.ended());
    CHECK(s.offer(make_delivery(mqtt::qos::at_least_once), 10) == session::offer_result::dropped);
}

TEST_CASE("session: a full queue of a progressing receiver refuses QoS 1/2 to a caller that parks") {
    session s("c");
    fake_owner o;
    s.attach(&o, false, 60);  // online, progressing since now
    CHECK(s.offer(make_delivery(mqtt::qos::at_least_once), 2, true) == session::offer_result::queued);
    CHECK(s.offer(make_delivery(mqtt::qos::at_least_once), 2, true) == session::offer_result::congested);
    // Full: refused, not dropped, and the delivery is left to the caller to offer again.
    delivery d = make_delivery(mqtt::qos::exactly_once, "t", "parked");
    CHECK(s.offer(std::move(d), 2, true) == session::offer_result::refused);
    REQUIRE(d.msg);
    CHECK(d.msg->topic() == "t");
    CHECK(s.dropped() == 0);
    CHECK(s.queued() == 2);
    // QoS 0 and a caller that cannot park: dropped as before.
    CHECK(s.offer(make_delivery(mqtt::qos::at_most_once), 2, true) ==
          session::offer_result::dropped_congested);
    CHECK(s.offer(make_delivery(mqtt::qos::at_least_once), 2) ==
          session::offer_result::dropped_congested);
    CHECK(s.dropped() == 2);
    // The receiver takes one: the parked delivery fits now.
    REQUIRE(take(s, &o, 1).size() == 1);
    CHECK(s.offer(std::move(d), 2, true) == session::offer_result::congested);
    auto out = take(s, &o);
    REQUIRE(out.size() == 2);
    CHECK(out[1].d.qos_level == mqtt::qos::exactly_once);
}

TEST_CASE("session: the byte limit refuses too, the broker-wide budget drops") {
    session s("c");
    fake_owner o;
    s.attach(&o, false, 60);
    const queue_limits by_bytes(100, 2);  // two one-byte payloads
    s.offer(make_delivery(mqtt::qos::at_least_once), by_bytes, true);
    s.offer(make_delivery(mqtt::qos::at_least_once), by_bytes, true);
    CHECK(s.offer(make_delivery(mqtt::qos::at_least_once), by_bytes, true) ==
          session::offer_result::refused);
    CHECK(s.dropped() == 0);

    session b("b");
    b.attach(&o, false, 60);
    const queue_limits budget(100, 0, session::all_queued_bytes() + 16);  // room for 16 bytes
    for (int i = 0; i < 16; ++i)
        REQUIRE(b.offer(make_delivery(mqtt::qos::at_least_once), budget, true) !=
                session::offer_result::dropped);
    const auto before = session::budget_drops();
    CHECK(b.offer(make_delivery(mqtt::qos::at_least_once), budget, true) ==
          session::offer_result::dropped_congested);
    CHECK(session::budget_drops() == before + 1);
}

TEST_CASE("session: a receiver that made no progress for a second, or is offline, is not waited for") {
    session s("c");
    fake_owner o;
    s.attach(&o, false, 60);
    s.offer(make_delivery(mqtt::qos::at_least_once), 1, true);
    // Its last progress was two seconds ago (the clock the owner passes in).
    std::vector<outgoing> out;
    take_limits none;
    none.window = 0;  // takes nothing
    none.drained = true;
    REQUIRE(s.take_deliveries(&o, none, false, out,
                              steady_clock::now() - std::chrono::seconds(2)) == session::result::ok);
    CHECK(out.empty());
    CHECK(s.offer(make_delivery(mqtt::qos::at_least_once), 1, true) == session::offer_result::dropped);
    CHECK(s.dropped() == 1);

    session off("off");
    off.offer(make_delivery(mqtt::qos::at_least_once), 1, true);
    CHECK(off.offer(make_delivery(mqtt::qos::at_least_once), 1, true) ==
          session::offer_result::dropped);
    CHECK(off.dropped() == 1);
}

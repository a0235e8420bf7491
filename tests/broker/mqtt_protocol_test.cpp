// The MQTT protocol object (broker/mqtt_protocol.hpp) driven with no socket: a test transport
// feeds it client bytes, collects what it writes and runs what it posts to its own thread.
#include <catch2/catch.hpp>

#include <deque>
#include <functional>

#include "broker/broker_core.hpp"
#include "broker/mqtt_protocol.hpp"
#include "tests/broker/test_connection.hpp"
#include "mqtt/decoder.hpp"
#include "mqtt/encoder.hpp"

using namespace sluice::broker;
namespace mqtt = sluice::mqtt;
using mqtt::reason_code;

namespace {

// Posted work of every test connection, run by the test when it chooses (never inline: kick()
// and wake() are called with a session's lock held).
std::deque<std::function<void()>> posted;

void run_posted() {
    while (!posted.empty()) {
        auto fn = std::move(posted.front());
        posted.pop_front();
        fn();
    }
}

class test_connection final : public testing::test_connection_base {
  public:
    explicit test_connection(listener_state& l)
        : test_connection_base(l, [](std::function<void()> fn) { posted.push_back(std::move(fn)); }) {}
};

struct fixture {
    config cfg;
    io_pool pool{1};
    std::unique_ptr<broker_core> core;
    std::unique_ptr<listener_state> listener;

    fixture() {
        cfg.mqtt_opts.sys_interval_s = 0;
        posted.clear();
    }
    ~fixture() {
        posted.clear();
        listener.reset();  // before the core (declared after it)
    }  // posted work keeps connections alive: not past the core
    // Made on first use, after the test adjusted `cfg`.
    listener_state& get_listener() {
        if (!core) {
            core = std::make_unique<broker_core>(cfg, pool);
            listener = std::make_unique<listener_state>(
                listener_settings{"mqtt", listener_kind::mqtt_tcp, {"127.0.0.1", 0}}, *core);
        }
        return *listener;
    }
    std::shared_ptr<test_connection> connect(const std::string& id, bool clean = true,
                                             std::uint32_t expiry = 0,
                                             std::optional<mqtt::will_message> will = {},
                                             std::uint16_t keep_alive = 0) {
        auto c = std::make_shared<test_connection>(get_listener());
        mqtt::connect p;
        p.client_id = id;
        p.clean_start = clean;
        p.keep_alive = keep_alive;
        p.props.session_expiry_interval = expiry;
        p.will = std::move(will);
        c->send(p);
        auto got = c->received();
        REQUIRE(got.size() == 1);
        REQUIRE(std::get<mqtt::connack>(got[0]).reason == reason_code::success);
        return c;
    }
};

mqtt::publish make_publish(const std::string& topic, mqtt::qos q, std::uint16_t id) {
    mqtt::publish p;
    p.topic = topic;
    p.qos_level = q;
    p.packet_id = id;
    p.payload = mqtt::shared_bytes(std::string_view("payload"));
    return p;
}

void subscribe(test_connection& c, const std::string& filter, mqtt::qos q = mqtt::qos::at_least_once) {
    mqtt::subscribe s;
    s.packet_id = 100;
    mqtt::subscription sub;
    sub.filter = filter;
    sub.options.max_qos = q;
    s.subscriptions.push_back(sub);
    c.send(s);
    auto got = c.received();
    REQUIRE(got.size() == 1);
    REQUIRE(std::holds_alternative<mqtt::suback>(got[0]));
}

}  // namespace

TEST_CASE("protocol: CONNECT, PINGREQ and a normal DISCONNECT, with no socket") {
    fixture f;
    auto c = f.connect("a");
    c->send(mqtt::pingreq{});
    auto got = c->received();
    REQUIRE(got.size() == 1);
    CHECK(std::holds_alternative<mqtt::pingresp>(got[0]));
    c->send(mqtt::disconnect{});
    CHECK(c->closed);
}

TEST_CASE("protocol: PUBACKs leave in the order their PUBLISHes arrived") {
    fixture f;
    auto sub = f.connect("sub");
    subscribe(*sub, "a/#");
    auto pub = f.connect("pub");
    for (std::uint16_t id = 1; id <= 5; ++id)
        pub->send(make_publish(id % 2 ? "a/x" : "b/x", mqtt::qos::at_least_once, id));
    auto acks = pub->received();
    REQUIRE(acks.size() == 5);
    for (std::uint16_t id = 1; id <= 5; ++id) {
        auto& a = std::get<mqtt::puback>(acks[id - 1]);
        CHECK(a.packet_id == id);
        CHECK(a.reason ==
              (id % 2 ? reason_code::success : reason_code::no_matching_subscribers));
    }
    run_posted();  // the subscriber's wake-up, on "its thread"
    auto msgs = sub->received();
    REQUIRE(msgs.size() == 3);
    CHECK(std::get<mqtt::publish>(msgs[0]).topic == "a/x");
}

TEST_CASE("protocol: a client may not publish to $SYS (0x87 on 5.0, dropped on 3.1.1)") {
    fixture f;
    auto sub = f.connect("sub");
    subscribe(*sub, "$SYS/#");
    auto pub = f.connect("pub");
    pub->send(make_publish("$SYS/broker/uptime", mqtt::qos::at_least_once, 1));
    auto got = pub->received();
    REQUIRE(got.size() == 1);
    CHECK(std::get<mqtt::puback>(got[0]).reason == reason_code::not_authorized);
    run_posted();
    CHECK(sub->received().empty());
}

TEST_CASE("protocol: inbound QoS 2 beyond the Receive Maximum is refused with 0x93") {
    fixture f;
    f.cfg.mqtt_opts.receive_maximum = 2;
    auto c = f.connect("a");
    c->send(make_publish("t", mqtt::qos::exactly_once, 1));
    c->send(make_publish("t", mqtt::qos::exactly_once, 1));  // a repeat: acknowledged again
    c->send(make_publish("t", mqtt::qos::exactly_once, 2));
    auto got = c->received();
    REQUIRE(got.size() == 3);
    CHECK(std::get<mqtt::pubrec>(got[1]).packet_id == 1);
    CHECK_FALSE(c->closed);
    c->send(make_publish("t", mqtt::qos::exactly_once, 3));
    got = c->received();
    REQUIRE(got.size() == 1);
    CHECK(std::get<mqtt::disconnect>(got[0]).reason == reason_code::receive_maximum_exceeded);
}

TEST_CASE("protocol: a CONNACK larger than the client's Maximum Packet Size is not sent") {
    fixture f;
    auto c = std::make_shared<test_connection>(f.get_listener());
    mqtt::connect p;
    p.client_id = "tiny";
    p.props.maximum_packet_size = 8;
    c->send(p);
    CHECK(c->closed);
    CHECK(c->received().empty());
}

TEST_CASE("protocol: the connect timeout counts from accept, not from the last byte") {
    fixture f;
    f.cfg.mqtt_opts.connect_timeout_ms = 1000;
    auto c = std::make_shared<test_connection>(f.get_listener());
    mqtt::connect p;
    p.client_id = "slow";
    const auto start = steady_clock::now();
    c->send(p, 3);  // a few bytes of it
    c->check_timeouts(start + std::chrono::milliseconds(900));
    CHECK_FALSE(c->closed);
    c->send(p, 2);  // a trickle of bytes does not reset the deadline
    c->check_timeouts(start + std::chrono::milliseconds(1200));
    CHECK(c->closed);
    CHECK(c->received().empty());
}

TEST_CASE("protocol: keep alive counts whole packets, not a trickle of bytes") {
    fixture f;
    auto c = f.connect("ka", true, 0, {}, /*keep_alive=*/2);
    const auto start = steady_clock::now();
    c->send(make_publish("t", mqtt::qos::at_most_once, 0), 4);  // an unfinished PUBLISH
    c->check_timeouts(start + std::chrono::milliseconds(2500));
    CHECK_FALSE(c->closed);
    c->check_timeouts(start + std::chrono::milliseconds(3100));
    auto got = c->received();
    REQUIRE(got.size() == 1);
    CHECK(std::get<mqtt::disconnect>(got[0]).reason == reason_code::keep_alive_timeout);
}

TEST_CASE("protocol: unauthenticated connections share a byte budget") {
    fixture f;
    f.cfg.mqtt_opts.unauthenticated_bytes = 4096;
    mqtt::connect p;
    p.client_id = "big";
    p.password = std::string(3000, 'x');
    p.username = "u";
    auto a = std::make_shared<test_connection>(f.get_listener());
    a->send(p, 2900);  // holds 2900 bytes, not finished
    CHECK_FALSE(a->closed);
    auto b = std::make_shared<test_connection>(f.get_listener());
    b->send(p, 2000);  // over the budget
    CHECK(b->closed);
    b.reset();  // gives its share back
    // A finishes its CONNECT: its bytes no longer count, and a third client fits.
    std::vector<std::uint8_t> all;
    REQUIRE(mqtt::encode(p, mqtt::protocol_version::v5, all));
    a->on_bytes(std::span<const std::uint8_t>(all).subspan(2900));
    REQUIRE(a->received().size() == 1);
    auto c = std::make_shared<test_connection>(f.get_listener());
    c->send(p, 3500);
    CHECK_FALSE(c->closed);
}

TEST_CASE("protocol: a takeover sends DISCONNECT 0x8E to the old connection") {
    fixture f;
    auto a = f.connect("same", false, 60);
    auto b = f.connect("same", false, 60);
    run_posted();
    auto got = a->received();
    REQUIRE(got.size() == 1);
    CHECK(std::get<mqtt::disconnect>(got[0]).reason == reason_code::session_taken_over);
}

TEST_CASE("protocol: a session that lasts as long as its connection is not resumed") {
    // MQTT-3.1.2-6: a clean 3.1.1 session (expiry 0) is not resumed by a takeover.
    fixture f;
    auto a = f.connect("c311", true, 0);
    auto b = std::make_shared<test_connection>(f.get_listener());
    mqtt::connect p;
    p.client_id = "c311";
    p.clean_start = false;
    p.props.session_expiry_interval = 60;
    b->send(p);
    auto got = b->received();
    REQUIRE(got.size() == 1);
    CHECK_FALSE(std::get<mqtt::connack>(got[0]).session_present);
}

TEST_CASE("protocol: wills with a delay are not sent when the client comes back in time") {
    fixture f;
    auto watcher = f.connect("watcher");
    subscribe(*watcher, "will/#");
    mqtt::will_message w;
    w.topic = "will/a";
    w.payload = mqtt::shared_bytes(std::string_view("gone"));
    w.props.will_delay_interval = 30;

    SECTION("a resume cancels it") {
        auto a = f.connect("a", true, 60, w);
        a->on_transport_error("read", "reset", true);
        CHECK(a->closed);
        auto back = f.connect("a", false, 60);
    }
    SECTION("so does a clean start (MQTT-3.1.2-8), though it ends the session") {
        auto a = f.connect("a", true, 60, w);
        a->on_transport_error("read", "reset", true);
        auto back = f.connect("a", true, 60);
    }
    SECTION("a takeover of a live connection too") {
        auto a = f.connect("a", true, 60, w);
        auto b = f.connect("a", true, 60);
        run_posted();
        CHECK(a->closed);
    }
    run_posted();
    CHECK(watcher->received().empty());
}

TEST_CASE("protocol: a will without delay goes out when the connection drops") {
    fixture f;
    auto watcher = f.connect("watcher");
    subscribe(*watcher, "will/#");
    mqtt::will_message w;
    w.topic = "will/a";
    w.payload = mqtt::shared_bytes(std::string_view("gone"));
    auto a = f.connect("a", true, 0, w);
    a->on_transport_error("read", "reset", true);
    run_posted();
    auto got = watcher->received();
    REQUIRE(got.size() == 1);
    CHECK(std::get<mqtt::publish>(got[0]).topic == "will/a");
}

TEST_CASE("protocol: server shutdown publishes the will of a client that did not DISCONNECT") {
    fixture f;
    auto watcher = f.connect("watcher");
    subscribe(*watcher, "will/#");
    mqtt::will_message w;
    w.topic = "will/a";
    w.props.will_delay_interval = 300;
    auto a = f.connect("a", true, 600, w);
    a->shut_down();
    auto got = a->received();
    REQUIRE(got.size() == 1);
    CHECK(std::get<mqtt::disconnect>(got[0]).reason == reason_code::server_shutting_down);
    run_posted();
    CHECK(watcher->received().size() == 1);
}

TEST_CASE("protocol: reconnect churn with a 7-day session expiry leaves one deadline, not one per disconnect") {
    fixture f;
    mqtt::will_message w;
    w.topic = "will/churn";
    w.props.will_delay_interval = 3600;
    for (int i = 0; i < 1000; ++i) {
        auto c = f.connect("churn", false, 7 * 24 * 3600, w);
        c->on_transport_error("read", "reset", true);
    }
    // The last disconnect's expiry and will delay; every earlier one was cancelled by the
    // resume that followed it.
    CHECK(f.core->pending_deadlines() == 2);
    auto back = f.connect("churn", false, 7 * 24 * 3600);
    CHECK(f.core->pending_deadlines() == 0);
}

namespace {

// Runs at most `steps` posted items (a parked publish posts its next try after each one).
void run_posted_steps(int steps) {
    while (!posted.empty() && steps-- > 0) {
        auto fn = std::move(posted.front());
        posted.pop_front();
        fn();
    }
}

// A subscriber to "t" with a window of one message (Receive Maximum 1), so that what it does
// not acknowledge stays in its session's queue; and a publisher. The queue holds 2 messages.
struct parked_fixture : fixture {
    std::shared_ptr<test_connection> sub, pub;
    parked_fixture() {
        cfg.mqtt_opts.max_queued_messages = 2;
        sub = std::make_shared<test_connection>(get_listener());
        mqtt::connect c;
        c.client_id = "sub";
        c.props.receive_maximum = 1;
        sub->send(c);
        REQUIRE(sub->received().size() == 1);
        subscribe(*sub, "t");
        pub = connect("pub");
    }
    // Publishes QoS 1 id 1..4: 1 goes out (the window), 2 and 3 fill the queue, 4 is refused.
    void fill_and_park() {
        pub->send(make_publish("t", mqtt::qos::at_least_once, 1));
        run_posted();  // the subscriber takes 1 into its window
        REQUIRE(std::get<mqtt::publish>(sub->received().at(0)).packet_id == 1);
        pub->send(make_publish("t", mqtt::qos::at_least_once, 2));
        pub->send(make_publish("t", mqtt::qos::at_least_once, 3));  // half full: a pause
        run_posted();
        REQUIRE(pub->received().size() == 3);  // PUBACK 1..3
        pub->send(make_publish("t", mqtt::qos::at_least_once, 4));
    }
};

}  // namespace

TEST_CASE("protocol: QoS 1 refused by a full, progressing receiver is parked, delivered once it drains, and acknowledged only then") {
    parked_fixture f;
    f.fill_and_park();
    run_posted_steps(20);  // tries again and again: still full
    CHECK(f.pub->received().empty());  // no PUBACK for 4 while it is parked
    CHECK(f.core->routed_drops() == 0);
    CHECK(f.sub->received().empty());

    // The subscriber acknowledges 1: 2 enters its window, the queue has room for 4.
    f.sub->send(mqtt::puback{1});
    run_posted();
    auto acks = f.pub->received();
    REQUIRE(acks.size() == 1);
    CHECK(std::get<mqtt::puback>(acks[0]).packet_id == 4);
    CHECK(std::get<mqtt::puback>(acks[0]).reason == reason_code::success);
    int delivered = 0;
    for (std::uint16_t id = 2;; ++id) {  // one at a time: the window is 1
        auto got = f.sub->received();
        if (got.empty()) break;
        REQUIRE(got.size() == 1);
        CHECK(std::get<mqtt::publish>(got[0]).packet_id == id);
        f.sub->send(mqtt::puback{id});
        run_posted();
        ++delivered;
    }
    CHECK(delivered == 3);  // 2, 3 and the parked 4: nothing lost
    CHECK(f.core->routed_drops() == 0);

    // The publisher reads again: a fifth message goes through.
    f.pub->send(make_publish("t", mqtt::qos::at_least_once, 5));
    run_posted();
    CHECK(std::get<mqtt::puback>(f.pub->received().at(0)).packet_id == 5);
}

TEST_CASE("protocol: a parked publish is acknowledged when its receiver ends, and dropped when its publisher leaves") {
    SECTION("the receiver's session ends") {
        parked_fixture f;
        f.fill_and_park();
        run_posted_steps(5);
        CHECK(f.pub->received().empty());
        f.sub->send(mqtt::disconnect{});  // expiry 0: the session ends
        run_posted();
        auto acks = f.pub->received();
        REQUIRE(acks.size() == 1);
        CHECK(std::get<mqtt::puback>(acks[0]).packet_id == 4);
    }
    SECTION("the publisher disconnects: a last offer, then dropped and counted") {
        parked_fixture f;
        f.fill_and_park();
        run_posted_steps(5);
        f.pub->on_transport_error("read", "reset", true);
        run_posted();
        CHECK(f.pub->closed);
        CHECK(f.core->routed_drops() == 1);
    }
}

TEST_CASE("protocol: a paused publisher goes on as soon as its receiver drains, not when its pause ends") {
    parked_fixture f;
    f.pub->pause_needs_wake = true;  // no timer ends the pause here: only the receiver can
    f.pub->send(make_publish("t", mqtt::qos::at_least_once, 1));
    run_posted();  // 1 goes into the subscriber's window
    REQUIRE(std::get<mqtt::publish>(f.sub->received().at(0)).packet_id == 1);
    f.pub->send(make_publish("t", mqtt::qos::at_least_once, 2));
    f.pub->send(make_publish("t", mqtt::qos::at_least_once, 3));  // half full: a pause
    f.pub->send(make_publish("t", mqtt::qos::at_least_once, 4));
    run_posted();
    auto acks = f.pub->received();
    bool acked4 = false;
    for (const auto& p : acks)
        if (std::get<mqtt::puback>(p).packet_id == 4) acked4 = true;
    CHECK_FALSE(acked4);  // paused (or parked): 4 is not through yet

    f.sub->send(mqtt::puback{1});  // 2 enters the window: the queue drains to half
    run_posted();
    for (const auto& p : f.pub->received())
        if (std::get<mqtt::puback>(p).packet_id == 4) acked4 = true;
    CHECK(acked4);  // woken by the receiver, with no pause timer at all
    CHECK(f.core->routed_drops() == 0);
}

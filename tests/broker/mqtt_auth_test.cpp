// Authentication and ACLs of the MQTT protocol object (broker/mqtt_auth.cpp) with no socket: a
// test transport feeds client bytes, collects what the protocol writes and runs what it posts
// (password checks run inline here: auth_service with no verifier thread posts the result).
#include <catch2/catch.hpp>

#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>

#include <unistd.h>

#include "auth/scram_client.hpp"
#include "auth/user_file.hpp"
#include "broker/auth_service.hpp"
#include "broker/broker_core.hpp"
#include "broker/mqtt_protocol.hpp"
#include "tests/broker/test_connection.hpp"
#include "mqtt/decoder.hpp"
#include "mqtt/encoder.hpp"

using namespace sluice::broker;
namespace mqtt = sluice::mqtt;
namespace auth = sluice::auth;
using mqtt::reason_code;

namespace {

std::deque<std::function<void()>> posted;
std::size_t pauses = 0;  // limiter delays asked of the transport

void run_posted() {
    while (!posted.empty()) {
        auto fn = std::move(posted.front());
        posted.pop_front();
        fn();
    }
}

class test_connection final : public testing::test_connection_base {
  public:
    explicit test_connection(listener_state& l, std::string identity = {})
        : test_connection_base(
              l, [](std::function<void()> fn) { posted.push_back(std::move(fn)); },
              "192.0.2.1:4242", std::move(identity)) {}

  private:
    void on_transport_pause() override { ++pauses; }
};

struct temp_dir {
    std::filesystem::path path;
    temp_dir() {
        path = std::filesystem::temp_directory_path() /
               ("sluice-mqtt-auth-" + std::to_string(::getpid()) + "-" +
                std::to_string(reinterpret_cast<std::uintptr_t>(this)));
        std::filesystem::create_directories(path);
    }
    ~temp_dir() { std::filesystem::remove_all(path); }
};

// Cheap hashes: the unit tests check the flow, not the work factor.
const auth::hash_parameters cheap{1'000, 4'096, 16};

struct fixture {
    temp_dir dir;
    config cfg;
    io_pool pool{1};
    std::unique_ptr<broker_core> core;
    std::unique_ptr<auth_service> svc;
    std::unique_ptr<listener_state> listener;

    explicit fixture(const std::string& acl_text = {}, listener_settings l = {
                         "mqtt", listener_kind::mqtt_tcp, {"127.0.0.1", 0}}) {
        cfg.mqtt_opts.sys_interval_s = 0;
        posted.clear();
        pauses = 0;
        auth::user_file users;
        REQUIRE(users.set_password("alice", "wonderland", cheap));
        REQUIRE(users.set_password("bob", "builder", cheap));
        auth_settings a;
        a.password_file = (dir.path / "passwd").string();
        std::string error;
        REQUIRE(auth::save_user_file(a.password_file, users, error));
        if (!acl_text.empty()) {
            a.acl_file = (dir.path / "acl").string();
            std::ofstream(a.acl_file) << acl_text;
        }
        svc = std::make_unique<auth_service>(a, 0);
        core = std::make_unique<broker_core>(cfg, pool);
        listener = std::make_unique<listener_state>(std::move(l), *core);
        listener->auth = svc.get();
    }
    ~fixture() {
        posted.clear();
        listener.reset();
    }

    std::shared_ptr<test_connection> conn(std::string identity = {}) {
        return std::make_shared<test_connection>(*listener, std::move(identity));
    }
    // Connects with a password; the check's result is posted, so run_posted() first.
    std::pair<std::shared_ptr<test_connection>, reason_code> login(
        const std::string& id, std::optional<std::string> user, std::optional<std::string> pw,
        mqtt::protocol_version v = mqtt::protocol_version::v5) {
        auto c = conn();
        c->version = v;
        mqtt::connect p;
        p.version = v;
        p.client_id = id;
        p.username = std::move(user);
        p.password = std::move(pw);
        c->send(p);
        run_posted();
        auto got = c->received();
        REQUIRE(got.size() >= 1);
        return {c, std::get<mqtt::connack>(got[0]).reason};
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

mqtt::subscribe make_subscribe(std::uint16_t id, std::vector<std::string> filters) {
    mqtt::subscribe s;
    s.packet_id = id;
    for (auto& f : filters) {
        mqtt::subscription sub;
        sub.filter = std::move(f);
        sub.options.max_qos = mqtt::qos::at_least_once;
        s.subscriptions.push_back(sub);
    }
    return s;
}

mqtt::auth make_auth(reason_code rc, const std::string& data) {
    mqtt::auth a;
    a.reason = rc;
    a.props.authentication_method = "SCRAM-SHA-256";
    a.props.authentication_data = data;
    return a;
}

}  // namespace

TEST_CASE("mqtt auth: passwords are checked off the connection's turn, then CONNACK") {
    fixture f;
    auto c = f.conn();
    mqtt::connect p;
    p.client_id = "a";
    p.username = "alice";
    p.password = "wonderland";
    // Packets sent right after the CONNECT wait until the login is decided.
    c->send_all({p, make_subscribe(1, {"t"})});
    CHECK(c->received().empty());  // the result is posted back, not handled inline
    run_posted();
    auto got = c->received();
    REQUIRE(got.size() == 2);
    CHECK(std::get<mqtt::connack>(got[0]).reason == reason_code::success);
    CHECK(std::holds_alternative<mqtt::suback>(got[1]));

    auto [bad, rc] = f.login("b", "alice", "nope");
    CHECK(rc == reason_code::bad_user_name_or_password);
    CHECK(bad->closed);
    CHECK(f.login("c", "nobody", "x").second == reason_code::bad_user_name_or_password);
    CHECK(f.login("d", "alice", std::nullopt).second == reason_code::bad_user_name_or_password);
    // 3.1.1: return code 4 (the encoder maps 0x86).
    auto [old, rc3] = f.login("e", "bob", "nope", mqtt::protocol_version::v3_1_1);
    CHECK(rc3 == reason_code::bad_user_name_or_password);
}

TEST_CASE("mqtt auth: anonymous clients by listener address and setting") {
    {
        fixture f;  // loopback: allowed by default
        CHECK(f.login("a", std::nullopt, std::nullopt).second == reason_code::success);
    }
    {
        fixture f({}, {"pub", listener_kind::mqtt_tcp, {"0.0.0.0", 0}});
        CHECK(f.login("a", std::nullopt, std::nullopt).second == reason_code::not_authorized);
        CHECK(f.login("b", "alice", "wonderland").second == reason_code::success);
    }
    {
        listener_settings l{"pub", listener_kind::mqtt_tcp, {"::1", 0}};
        l.allow_anonymous = false;
        fixture f({}, l);
        CHECK(f.login("a", std::nullopt, std::nullopt).second == reason_code::not_authorized);
    }
}

TEST_CASE("mqtt auth: the failed-login limiter delays attempts with a timer") {
    fixture f;
    for (int i = 0; i < 5; ++i)
        CHECK(f.login("g", "alice", "guess").second == reason_code::bad_user_name_or_password);
    CHECK(pauses == 0);
    auto c = f.conn();
    mqtt::connect p;
    p.client_id = "g";
    p.username = "alice";
    p.password = "wonderland";
    c->send(p);
    CHECK(pauses == 1);  // the transport's timer, not a sleep
    CHECK(c->received().empty());
    run_posted();  // the delay is over, then the check
    auto got = c->received();
    REQUIRE(got.size() == 1);
    CHECK(std::get<mqtt::connack>(got[0]).reason == reason_code::success);
}

TEST_CASE("mqtt auth: SCRAM-SHA-256 over AUTH, re-authentication, bad proofs") {
    fixture f;
    auto c = f.conn();
    auth::scram_client client("alice", "wonderland");
    mqtt::connect p;
    p.client_id = "s";
    p.props.authentication_method = "SCRAM-SHA-256";
    p.props.authentication_data = client.client_first();
    c->send(p);
    auto got = c->received();
    REQUIRE(got.size() == 1);
    auto& challenge = std::get<mqtt::auth>(got[0]);
    CHECK(challenge.reason == reason_code::continue_authentication);
    auto final_msg = client.client_final(*challenge.props.authentication_data);
    REQUIRE(final_msg);
    c->send(make_auth(reason_code::continue_authentication, *final_msg));
    got = c->received();
    REQUIRE(got.size() == 1);
    auto& ack = std::get<mqtt::connack>(got[0]);
    CHECK(ack.reason == reason_code::success);
    CHECK(ack.props.authentication_method == "SCRAM-SHA-256");
    CHECK(client.verify_server_final(*ack.props.authentication_data));

    // Re-authentication: 0x19, 0x18, then AUTH success with server-final.
    auth::scram_client again("alice", "wonderland");
    c->send(make_auth(reason_code::re_authenticate, again.client_first()));
    got = c->received();
    REQUIRE(got.size() == 1);
    auto step = again.client_final(*std::get<mqtt::auth>(got[0]).props.authentication_data);
    REQUIRE(step);
    c->send(make_auth(reason_code::continue_authentication, *step));
    got = c->received();
    REQUIRE(got.size() == 1);
    CHECK(std::get<mqtt::auth>(got[0]).reason == reason_code::success);
    CHECK(again.verify_server_final(*std::get<mqtt::auth>(got[0]).props.authentication_data));

    // Re-authenticating as someone else ends the connection.
    auth::scram_client other("bob", "builder");
    c->send(make_auth(reason_code::re_authenticate, other.client_first()));
    got = c->received();
    REQUIRE(got.size() == 1);
    CHECK(std::get<mqtt::disconnect>(got[0]).reason == reason_code::not_authorized);

    // A bad password: CONNACK 0x86 after the proof.
    auto d = f.conn();
    auth::scram_client wrong("alice", "oops");
    p.props.authentication_data = wrong.client_first();
    d->send(p);
    got = d->received();
    REQUIRE(got.size() == 1);
    auto fin = wrong.client_final(*std::get<mqtt::auth>(got[0]).props.authentication_data);
    d->send(make_auth(reason_code::continue_authentication, *fin));
    got = d->received();
    REQUIRE(got.size() == 1);
    CHECK(std::get<mqtt::connack>(got[0]).reason == reason_code::bad_user_name_or_password);
    CHECK(d->closed);

    // Another method: 0x8C.
    auto e = f.conn();
    p.props.authentication_method = "PLAIN";
    e->send(p);
    got = e->received();
    REQUIRE(got.size() == 1);
    CHECK(std::get<mqtt::connack>(got[0]).reason == reason_code::bad_authentication_method);
}

TEST_CASE("mqtt auth: ACL on publish, subscribe and the will") {
    fixture f(
        "allow readwrite user=alice #\n"
        "allow publish user=bob devices/%u/#\n"
        "allow subscribe user=bob devices/+/status\n");
    auto [sub, rc] = f.login("sub", "alice", "wonderland");
    REQUIRE(rc == reason_code::success);
    sub->send(make_subscribe(1, {"#"}));
    sub->received();

    auto [bob, rc2] = f.login("bob-1", "bob", "builder");
    REQUIRE(rc2 == reason_code::success);
    bob->send(make_publish("devices/alice/x", mqtt::qos::at_least_once, 1));
    bob->send(make_publish("devices/alice/x", mqtt::qos::at_least_once, 2));  // cached decision
    bob->send(make_publish("devices/alice/y", mqtt::qos::exactly_once, 3));
    bob->send(make_publish("devices/bob/x", mqtt::qos::at_least_once, 4));
    auto got = bob->received();
    REQUIRE(got.size() == 4);
    CHECK(std::get<mqtt::puback>(got[0]).reason == reason_code::not_authorized);
    CHECK(std::get<mqtt::puback>(got[1]).reason == reason_code::not_authorized);
    CHECK(std::get<mqtt::pubrec>(got[2]).reason == reason_code::not_authorized);
    CHECK(std::get<mqtt::puback>(got[3]).reason == reason_code::success);
    run_posted();
    got = sub->received();
    REQUIRE(got.size() == 1);
    CHECK(std::get<mqtt::publish>(got[0]).topic == "devices/bob/x");

    bob->send(make_subscribe(2, {"devices/+/status", "devices/#"}));
    got = bob->received();
    REQUIRE(got.size() == 1);
    auto& suback = std::get<mqtt::suback>(got[0]);
    REQUIRE(suback.reasons.size() == 2);
    CHECK(suback.reasons[0] == reason_code::granted_qos_1);
    CHECK(suback.reasons[1] == reason_code::not_authorized);

    // A will to a topic bob may not publish to is dropped at CONNECT.
    auto w = f.conn();
    mqtt::connect p;
    p.client_id = "bob-2";
    p.username = "bob";
    p.password = "builder";
    mqtt::will_message will;
    will.topic = "devices/alice/will";
    will.payload = mqtt::shared_bytes(std::string_view("gone"));
    p.will = will;
    w->send(p);
    run_posted();
    REQUIRE(std::get<mqtt::connack>(w->received().at(0)).reason == reason_code::success);
    mqtt::disconnect d;
    d.reason = reason_code::disconnect_with_will_message;
    w->send(d);
    run_posted();
    CHECK(sub->received().empty());
}

TEST_CASE("mqtt auth: a TLS identity is the user name when the listener says so") {
    listener_settings l{"tls", listener_kind::mqtt_tls, {"0.0.0.0", 0}};
    l.use_identity_as_username = true;
    fixture f("allow readwrite user=* home/%u/#\n", l);
    auto c = f.conn("device-7");
    mqtt::connect p;
    p.client_id = "dev";
    c->send(p);
    auto got = c->received();
    REQUIRE(got.size() == 1);
    CHECK(std::get<mqtt::connack>(got[0]).reason == reason_code::success);
    c->send(make_publish("home/device-7/t", mqtt::qos::at_least_once, 1));
    c->send(make_publish("home/device-8/t", mqtt::qos::at_least_once, 2));
    got = c->received();
    REQUIRE(got.size() == 2);
    CHECK_FALSE(mqtt::is_error(std::get<mqtt::puback>(got[0]).reason));
    CHECK(std::get<mqtt::puback>(got[1]).reason == reason_code::not_authorized);
    // Without a certificate name the listener's anonymous rule applies (0.0.0.0: refused).
    auto anon = f.conn();
    anon->send(p);
    CHECK(std::get<mqtt::connack>(anon->received().at(0)).reason == reason_code::not_authorized);
}

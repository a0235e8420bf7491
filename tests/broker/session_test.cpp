#include <catch2/catch.hpp>

#include "broker/retained_store.hpp"
#include "broker/session.hpp"

using namespace sluice::broker;
namespace mqtt = sluice::mqtt;

TEST_CASE("retained store replaces, clears on empty payload and forgets expired messages") {
    retained_store store;
    auto now = steady_clock::now();
    auto make = [&](const char* topic, const char* payload, std::optional<std::uint32_t> expiry) {
        mqtt::publish p;
        p.topic = topic;
        p.retain = true;
        p.payload = mqtt::shared_bytes(std::string_view(payload));
        p.props.message_expiry_interval = expiry;
        return make_message(std::move(p), nullptr, now);
    };
    store.put(make("a/b", "1", std::nullopt));
    store.put(make("a/b", "2", std::nullopt));
    store.put(make("a/c", "3", 10));
    std::vector<message_ptr> out;
    store.collect("a/+", now, out);
    CHECK(out.size() == 2);
    out.clear();
    store.collect("a/b", now, out);
    REQUIRE(out.size() == 1);
    CHECK(out[0]->packet().payload.view() == "2");
    out.clear();
    store.collect("a/#", now + std::chrono::seconds(11), out);
    CHECK(out.size() == 1);  // a/c expired
    CHECK(store.size() == 1);
    store.put(make("a/b", "", std::nullopt));
    CHECK(store.size() == 0);
}

TEST_CASE("message expiry counts down in whole seconds") {
    auto t0 = steady_clock::now();
    mqtt::publish p;
    p.topic = "t";
    p.props.message_expiry_interval = 10;
    auto m = make_message(std::move(p), nullptr, t0);
    CHECK(m->remaining_expiry(t0) == 10u);
    CHECK(m->encoder_is_current(t0));
    CHECK(m->remaining_expiry(t0 + std::chrono::milliseconds(2500)) == 8u);
    CHECK_FALSE(m->encoder_is_current(t0 + std::chrono::milliseconds(2500)));
    CHECK_FALSE(m->expired(t0 + std::chrono::seconds(9)));
    CHECK(m->expired(t0 + std::chrono::seconds(10)));
}

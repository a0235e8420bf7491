#include <catch2/catch.hpp>

#include "ingest/retained_record.hpp"

using namespace sluice;
using namespace sluice::ingest;

TEST_CASE("retained: a retained message is a record keyed by its topic") {
    mqtt::publish p;
    p.topic = "home/lamp/state";
    p.retain = true;
    p.qos_level = mqtt::qos::at_least_once;
    p.payload = mqtt::shared_bytes(std::string_view("on"));
    p.props.content_type = "text/plain";
    p.props.message_expiry_interval = 100;
    p.props.user_properties = {{"room", "hall"}};
    store::record r = retained_to_record(p, "lamp-1", 50'000);
    CHECK(r.key == "home/lamp/state");
    CHECK(r.value == "on");
    CHECK(r.timestamp == 50'000);
    CHECK(r.headers == std::vector<store::record_header>{
                           {"mqtt.topic", "home/lamp/state"},
                           {"mqtt.qos", "1"},
                           {"mqtt.retain", "1"},
                           {"mqtt.client_id", "lamp-1"},
                           {"mqtt.message_expiry", "100"},
                           {"mqtt.content_type", "text/plain"},
                           {"mqtt.user.room", "hall"},
                       });

    auto back = retained_from_record(r, 60'000);
    REQUIRE(back.ok());
    CHECK(back.entry.topic == "home/lamp/state");
    REQUIRE(back.entry.message);
    mqtt::publish expected = p;
    expected.props.message_expiry_interval = 90;
    CHECK(*back.entry.message == expected);

    auto late = retained_from_record(r, 150'000);
    CHECK(late.error == mapping_error::expired);
    CHECK(late.entry.topic == "home/lamp/state");
}

TEST_CASE("retained: an empty payload is a tombstone that deletes the topic's message") {
    mqtt::publish p;
    p.topic = "home/lamp/state";
    p.retain = true;
    p.props.content_type = "ignored";
    store::record r = retained_to_record(p, "lamp-1", 1);
    CHECK(r.key == "home/lamp/state");
    CHECK_FALSE(r.value);  // null: compaction removes the key
    CHECK(r.headers.empty());
    auto back = retained_from_record(r, 2);
    REQUIRE(back.ok());
    CHECK(back.entry.topic == "home/lamp/state");
    CHECK_FALSE(back.entry.message);
}

TEST_CASE("retained: bad records and the topic's settings") {
    store::record no_key;
    no_key.value = "x";
    CHECK(retained_from_record(no_key, 0).error == mapping_error::missing_topic);
    store::record wildcard;
    wildcard.key = "a/#";
    wildcard.value = "x";
    CHECK(retained_from_record(wildcard, 0).error == mapping_error::invalid_topic);
    store::record bad_qos;
    bad_qos.key = "a";
    bad_qos.value = "x";
    bad_qos.headers = {{"mqtt.qos", "5"}};
    CHECK(retained_from_record(bad_qos, 0).error == mapping_error::invalid_header);

    const store::log_config c = retained_log_config();
    CHECK(c.cleanup == store::cleanup_policy::compact);
    CHECK(c.retention_ms == -1);
    CHECK(c.flush == store::durability::always);
    CHECK(retained_topic == "__retained");
}

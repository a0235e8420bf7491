#include <catch2/catch.hpp>

#include <limits>
#include <string>

#include "ingest/headers.hpp"
#include "ingest/record_mapping.hpp"

using namespace sluice;
using namespace sluice::ingest;

namespace {

using header_list = std::vector<store::record_header>;

store::record_header h(const std::string& k, const std::string& v) {
    return {k, v};
}

mqtt::publish v5_publish() {
    mqtt::publish p;
    p.qos_level = mqtt::qos::exactly_once;
    p.retain = true;
    p.dup = true;
    p.packet_id = 77;
    p.topic = "site/1/temp";
    p.payload = mqtt::shared_bytes(std::string_view("{\"t\":21.5}"));
    p.props.payload_format_indicator = mqtt::payload_format::utf8;
    p.props.message_expiry_interval = 3600;
    p.props.content_type = "application/json";
    p.props.response_topic = "site/1/reply";
    p.props.correlation_data = std::string("\x00\x01\xff", 3);
    p.props.topic_alias = 3;                 // per connection: not recorded
    p.props.subscription_identifiers = {9};  // per subscription: not recorded
    p.props.user_properties = {
        {"unit", "C"}, {"unit", "K"}, {"mqtt.topic", "evil/topic"}, {"", "empty name"}};
    return p;
}

}  // namespace

TEST_CASE("record mapping: a 3.1.1 publish becomes key, value, timestamp and five headers") {
    mqtt::publish p;
    p.qos_level = mqtt::qos::at_least_once;
    p.topic = "a/b";
    p.packet_id = 5;
    p.payload = mqtt::shared_bytes(std::string_view("hello"));
    const delivery_id id{42, 3, 17};
    store::record r = to_record(p, "dev-1", 1'700'000'000'123, id, std::string_view("a/b"));
    CHECK(r.key == "a/b");
    CHECK(r.value == "hello");
    CHECK(r.timestamp == 1'700'000'000'123);
    CHECK(r.headers == header_list{h("mqtt.topic", "a/b"), h("mqtt.qos", "1"),
                                   h("mqtt.retain", "0"), h("mqtt.client_id", "dev-1"),
                                   h("mqtt.delivery_id", "42:3:17")});

    auto back = from_record(r, 1'700'000'000'123);
    REQUIRE(back.ok());
    CHECK(back.publish.topic == "a/b");
    CHECK(back.publish.qos_level == mqtt::qos::at_least_once);
    CHECK_FALSE(back.publish.retain);
    CHECK(back.publish.payload.view() == "hello");
    CHECK(back.publish.props.empty());
    CHECK(back.publish.packet_id == 0);

    // No key, empty payload: a null key and an empty (not null) value.
    p.payload = {};
    p.qos_level = mqtt::qos::at_most_once;
    r = to_record(p, "", 0, id, std::nullopt);
    CHECK_FALSE(r.key);
    CHECK(r.value == "");
    CHECK(from_record(r, 0).publish.payload.empty());
}

TEST_CASE("record mapping: a 5.0 publish keeps every property, user properties prefixed") {
    const mqtt::publish p = v5_publish();
    store::record r = to_record(p, "dev-9", 5000, delivery_id{1, 0, 0}, std::string_view("dev-9"));
    CHECK(r.headers == header_list{
                           h("mqtt.topic", "site/1/temp"),
                           h("mqtt.qos", "2"),
                           h("mqtt.retain", "1"),
                           h("mqtt.client_id", "dev-9"),
                           h("mqtt.delivery_id", "1:0:0"),
                           h("mqtt.payload_format", "1"),
                           h("mqtt.message_expiry", "3600"),
                           h("mqtt.content_type", "application/json"),
                           h("mqtt.response_topic", "site/1/reply"),
                           h("mqtt.correlation_data", std::string("\x00\x01\xff", 3)),
                           h("mqtt.user.unit", "C"),
                           h("mqtt.user.unit", "K"),
                           h("mqtt.user.mqtt.topic", "evil/topic"),
                           h("mqtt.user.", "empty name"),
                       });

    // Read back 2.5 s later: the expiry counts whole seconds waited.
    auto back = from_record(r, 7500);
    REQUIRE(back.ok());
    mqtt::publish expected = p;
    expected.dup = false;
    expected.packet_id = 0;
    expected.props.topic_alias.reset();
    expected.props.subscription_identifiers.clear();
    expected.props.message_expiry_interval = 3598;
    CHECK(back.publish == expected);
    // The user property named "mqtt.topic" did not become the topic.
    CHECK(back.publish.topic == "site/1/temp");
}

TEST_CASE("record mapping: user properties can never impersonate an mqtt. header") {
    mqtt::publish p;
    p.topic = "real/topic";
    for (auto name : {"mqtt.topic", "mqtt.qos", "mqtt.retain", "mqtt.client_id", "mqtt.delivery_id",
                      "mqtt.content_type", "mqtt.payload_format", "mqtt.response_topic",
                      "mqtt.correlation_data", "mqtt.message_expiry", "topic", "qos"})
        p.props.user_properties.emplace_back(name, "2");
    store::record r = to_record(p, "c", 0, delivery_id{}, std::nullopt);
    int reserved = 0;
    for (const auto& hd : r.headers) {
        const bool user = hd.key.rfind("mqtt.user.", 0) == 0;
        if (!user) ++reserved;
    }
    CHECK(reserved == 5);  // topic, qos, retain, client id, delivery id: the publish's own
    auto back = from_record(r, 0);
    REQUIRE(back.ok());
    CHECK(back.publish.topic == "real/topic");
    CHECK(back.publish.qos_level == mqtt::qos::at_most_once);
    CHECK_FALSE(back.publish.retain);
    CHECK_FALSE(back.publish.props.content_type);
    CHECK_FALSE(back.publish.props.message_expiry_interval);
    CHECK(back.publish.props.user_properties == p.props.user_properties);
}

TEST_CASE("record mapping: message expiry at replay") {
    mqtt::publish p;
    p.topic = "t";
    p.props.message_expiry_interval = 10;
    store::record r = to_record(p, "c", 1'000'000, delivery_id{}, std::nullopt);
    CHECK(from_record(r, 1'000'000).publish.props.message_expiry_interval == 10u);
    CHECK(from_record(r, 1'000'999).publish.props.message_expiry_interval == 10u);
    CHECK(from_record(r, 1'001'000).publish.props.message_expiry_interval == 9u);
    CHECK(from_record(r, 1'009'999).publish.props.message_expiry_interval == 1u);
    CHECK(from_record(r, 1'010'000).error == mapping_error::expired);
    CHECK(from_record(r, 2'000'000).error == mapping_error::expired);
    CHECK(from_record(r, 0).publish.props.message_expiry_interval == 10u);  // clock behind
    p.props.message_expiry_interval = 0;
    r = to_record(p, "c", 1'000'000, delivery_id{}, std::nullopt);
    CHECK(from_record(r, 1'000'000).error == mapping_error::expired);
}

TEST_CASE("record mapping: any int64 timestamp is safe for the expiry arithmetic") {
    store::record r;
    r.value = "x";
    r.headers = {h("mqtt.topic", "t"), h("mqtt.message_expiry", "4294967295")};
    r.timestamp = std::numeric_limits<std::int64_t>::min();
    CHECK(from_record(r, 1'700'000'000'000).error == mapping_error::expired);
    r.timestamp = std::numeric_limits<std::int64_t>::max();  // from the future: nothing waited
    CHECK(from_record(r, std::numeric_limits<std::int64_t>::min())
              .publish.props.message_expiry_interval == 4294967295u);
}

TEST_CASE("record mapping: records not written by Sluice are refused, never trusted") {
    auto with = [](header_list extra) {
        store::record r;
        r.value = "x";
        r.headers = {h("mqtt.topic", "a/b")};
        for (auto& e : extra) r.headers.push_back(std::move(e));
        return r;
    };
    const header_list invalid = {
        h("mqtt.qos", "3"),
        h("mqtt.qos", "01"),
        h("mqtt.qos", ""),
        h("mqtt.retain", "yes"),
        h("mqtt.payload_format", "2"),
        h("mqtt.message_expiry", "-1"),
        h("mqtt.message_expiry", "4294967296"),
        h("mqtt.message_expiry", "12s"),
        h("mqtt.message_expiry", "007"),
        h("mqtt.content_type", "\xff"),
        h("mqtt.response_topic", "a/+"),
        h("mqtt.response_topic", ""),
        h("mqtt.correlation_data", std::string(65'536, 'c')),
        h("mqtt.user.name", std::string("a\0b", 3)),
        h("mqtt.user.\xc0", "v"),
    };
    for (const auto& hd : invalid) {
        INFO(hd.key << " = " << *hd.value);
        auto result = from_record(with({hd}), 0);
        CHECK(result.error == mapping_error::invalid_header);
        CHECK(result.detail == hd.key);
    }
    store::record null_qos = with({});
    null_qos.headers.push_back({"mqtt.qos", std::nullopt});
    CHECK(from_record(null_qos, 0).error == mapping_error::invalid_header);

    store::record no_topic;
    no_topic.value = "x";
    CHECK(from_record(no_topic, 0).error == mapping_error::missing_topic);
    store::record bad_topic = with({});
    bad_topic.headers[0].value = "a/#";
    CHECK(from_record(bad_topic, 0).error == mapping_error::invalid_header);

    // Unknown mqtt.* keys and headers outside mqtt. are ignored; "true"/"false" are accepted.
    auto ok = from_record(
        with({h("mqtt.future", "?"), h("trace-id", "abc"), h("mqtt.retain", "true")}), 0);
    REQUIRE(ok.ok());
    CHECK(ok.publish.retain);
    CHECK(ok.publish.props.user_properties.empty());
    CHECK(to_string(mapping_error::expired) == std::string("message expired"));
}

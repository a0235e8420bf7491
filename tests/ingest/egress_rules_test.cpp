#include <catch2/catch.hpp>

#include <string>

#include "ingest/egress_rules.hpp"

using namespace sluice;
using namespace sluice::ingest;
using nlohmann::json;

namespace {

egress_rules parse_ok(const json& j) {
    std::string error;
    auto rules = egress_rules::parse(j, error);
    INFO(error);
    REQUIRE(rules);
    return *rules;
}

std::string parse_error(const json& j) {
    std::string error;
    auto rules = egress_rules::parse(j, error);
    CHECK_FALSE(rules);
    return error;
}

store::record keyed(std::optional<std::string> key,
                    std::vector<store::record_header> headers = {}) {
    store::record r;
    r.timestamp = 10'000;
    r.key = std::move(key);
    r.value = "reboot";
    r.headers = std::move(headers);
    return r;
}

egress_rule rule_for(const char* mqtt_topic, bool from_header = false) {
    egress_rule r;
    r.log_topic = "commands";
    std::string error;
    if (mqtt_topic) r.mqtt_topic = topic_template::parse(mqtt_topic, error);
    r.topic_from_header = from_header;
    return r;
}

}  // namespace

TEST_CASE("egress rules: parse every key") {
    auto rules = parse_ok(json::parse(R"([
        {"log_topic": "commands", "mqtt_topic": "devices/{key}/commands", "qos": 2,
         "partitions": 3},
        {"log_topic": "replies", "topic_from_header": true, "headers_as_user_properties": true},
        {"log_topic": "fanout", "mqtt_topic": "all/{topic}/{partition}", "topic_from_header": false,
         "qos": 0}
    ])"));
    REQUIRE(rules.rules().size() == 3);
    const egress_rule* c = rules.find("commands");
    REQUIRE(c);
    CHECK(c->mqtt_topic->text() == "devices/{key}/commands");
    CHECK(c->mqtt_topic->uses_key());
    CHECK(c->qos == mqtt::qos::exactly_once);
    CHECK_FALSE(c->topic_from_header);
    CHECK(c->partitions == 3);
    const egress_rule* r = rules.find("replies");
    REQUIRE(r);
    CHECK_FALSE(r->mqtt_topic);
    CHECK(r->topic_from_header);
    CHECK(r->qos == mqtt::qos::at_least_once);  // default
    CHECK(r->headers_as_user_properties);
    CHECK_FALSE(r->partitions);  // the broker creates a missing topic with 1
    CHECK_FALSE(rules.find("fanout")->mqtt_topic->uses_key());
    CHECK(rules.find("other") == nullptr);
    CHECK(parse_ok(nullptr).rules().empty());
    CHECK(parse_ok(json::array()).rules().empty());
}

TEST_CASE("egress rules: every bad key is named with its index") {
    struct bad {
        const char* rules;
        const char* error;
    };
    const bad cases[] = {
        {R"("x")", "egress_rules: must be an array of objects"},
        {R"([1])", "egress_rules[0]: must be an object"},
        {R"([{"mqtt_topic": "a"}])", "egress_rules[0].log_topic: required"},
        {R"([{"log_topic": 1, "mqtt_topic": "a"}])", "egress_rules[0].log_topic: must be a string"},
        {R"([{"log_topic": "__sessions", "mqtt_topic": "a"}])",
         "egress_rules[0].log_topic: must be 1..249 of [a-zA-Z0-9._-], not \".\" or \"..\", not "
         "starting with \"__\""},
        {R"([{"log_topic": "c"}])",
         "egress_rules[0].mqtt_topic: required unless \"topic_from_header\" is true"},
        {R"([{"log_topic": "c", "mqtt_topic": 5}])",
         "egress_rules[0].mqtt_topic: must be a string"},
        {R"([{"log_topic": "c", "mqtt_topic": ""}])",
         "egress_rules[0].mqtt_topic: must not be empty"},
        {R"([{"log_topic": "c", "mqtt_topic": "a/{id}"}])",
         "egress_rules[0].mqtt_topic: unknown placeholder {id} (known: {key}, {topic}, "
         "{partition})"},
        {R"([{"log_topic": "c", "mqtt_topic": "a/{key"}])",
         "egress_rules[0].mqtt_topic: '{' without '}'"},
        {R"([{"log_topic": "c", "mqtt_topic": "a/key}"}])",
         "egress_rules[0].mqtt_topic: '}' without '{'"},
        {R"([{"log_topic": "c", "mqtt_topic": "a/+/{key}"}])",
         "egress_rules[0].mqtt_topic: must not contain '+' or '#'"},
        {R"([{"log_topic": "c", "mqtt_topic": "a/#"}])",
         "egress_rules[0].mqtt_topic: must not contain '+' or '#'"},
        {R"([{"log_topic": "c", "mqtt_topic": "$SYS/{key}"}])",
         "egress_rules[0].mqtt_topic: must not start with '$'"},
        {R"([{"log_topic": "c", "topic_from_header": "yes"}])",
         "egress_rules[0].topic_from_header: must be true or false"},
        {R"([{"log_topic": "c", "mqtt_topic": "a", "qos": 3}])",
         "egress_rules[0].qos: must be 0, 1 or 2"},
        {R"([{"log_topic": "c", "mqtt_topic": "a", "partitions": 0}])",
         "egress_rules[0].partitions: must be 1..10000"},
        {R"([{"log_topic": "c", "mqtt_topic": "a", "partitions": 10001}])",
         "egress_rules[0].partitions: must be 1..10000"},
        {R"([{"log_topic": "c", "mqtt_topic": "a", "qos": -1}])",
         "egress_rules[0].qos: must be 0, 1 or 2"},
        {R"([{"log_topic": "c", "mqtt_topic": "a", "qos": "1"}])",
         "egress_rules[0].qos: must be an integer"},
        {R"([{"log_topic": "c", "mqtt_topic": "a", "headers_as_user_properties": 1}])",
         "egress_rules[0].headers_as_user_properties: must be true or false"},
        {R"([{"log_topic": "c", "mqtt_topic": "a", "retain": true}])",
         "egress_rules[0].retain: unknown key"},
        {R"([{"log_topic": "c", "mqtt_topic": "a"}, {"log_topic": "d", "mqtt_topic": "b"},
             {"log_topic": "c", "mqtt_topic": "e"}])",
         "egress_rules[2].log_topic: \"c\" already has a rule (egress_rules[0])"},
    };
    for (const auto& c : cases) {
        INFO(c.rules);
        CHECK(parse_error(json::parse(c.rules)) == c.error);
    }
}

TEST_CASE("egress rules: templates fill {key}, {topic} and {partition}") {
    auto result = to_publish(rule_for("devices/{key}/commands"), keyed("dev-1"), 3, 10'000);
    REQUIRE(result.ok());
    CHECK(result.publish.topic == "devices/dev-1/commands");
    CHECK(result.publish.payload.view() == "reboot");
    CHECK(result.publish.qos_level == mqtt::qos::at_least_once);
    CHECK_FALSE(result.publish.retain);
    CHECK(result.publish.props.empty());

    result = to_publish(rule_for("{topic}/p{partition}/{key}"), keyed("k"), 11, 10'000);
    REQUIRE(result.ok());
    CHECK(result.publish.topic == "commands/p11/k");
    // A key may hold levels of its own.
    CHECK(to_publish(rule_for("d/{key}"), keyed("a/b"), 0, 0).publish.topic == "d/a/b");
    // A template without {key} does not need one.
    CHECK(to_publish(rule_for("all/{partition}"), keyed(std::nullopt), 2, 0).publish.topic ==
          "all/2");
    // An empty key is a key: the level is empty, which MQTT allows.
    CHECK(to_publish(rule_for("d/{key}/c"), keyed(""), 0, 0).publish.topic == "d//c");
}

TEST_CASE("egress rules: records that cannot become a publish say why") {
    auto why = [](const egress_rule& rule, const store::record& r) {
        return to_publish(rule, r, 0, 16'000).error;
    };
    CHECK(why(rule_for("d/{key}"), keyed(std::nullopt)) == mapping_error::key_missing);
    CHECK(why(rule_for("d/{key}"), keyed("+")) == mapping_error::wildcard_in_topic);
    CHECK(why(rule_for("d/{key}"), keyed("a/#")) == mapping_error::wildcard_in_topic);
    CHECK(why(rule_for("{key}/x"), keyed("$SYS")) == mapping_error::reserved_topic);
    CHECK(why(rule_for("d/{key}"), keyed(std::string("a\0b", 3))) == mapping_error::invalid_topic);
    CHECK(why(rule_for("d/{key}"), keyed("\xff")) == mapping_error::invalid_topic);
    CHECK(why(rule_for("d/{key}"), keyed(std::string(70'000, 'k'))) ==
          mapping_error::invalid_topic);
    // From a header: the header must hold a usable topic.
    CHECK(why(rule_for(nullptr, true), keyed("k", {{"mqtt.topic", "a/+"}})) ==
          mapping_error::wildcard_in_topic);
    CHECK(why(rule_for(nullptr, true), keyed("k", {{"mqtt.topic", "$SYS/x"}})) ==
          mapping_error::reserved_topic);
    CHECK(why(rule_for(nullptr, true), keyed("k", {{"mqtt.topic", std::nullopt}})) ==
          mapping_error::invalid_header);
    CHECK(why(rule_for(nullptr, true), keyed("k")) == mapping_error::missing_topic);
    // Bad property headers.
    CHECK(why(rule_for("d"), keyed("k", {{"mqtt.qos", "9"}})) == mapping_error::invalid_header);
    CHECK(why(rule_for("d"), keyed("k", {{"mqtt.message_expiry", "5"}})) ==
          mapping_error::expired);  // the record is 6 s old
    auto detail = to_publish(rule_for("d/{key}"), keyed("a+"), 0, 0);
    CHECK(detail.detail == "d/a+");
}

TEST_CASE("egress rules: topic, QoS, retain and properties from headers") {
    const std::vector<store::record_header> headers = {
        {"mqtt.topic", "devices/dev-9/reply"},
        {"mqtt.qos", "0"},
        {"mqtt.retain", "1"},
        {"mqtt.content_type", "text/plain"},
        {"mqtt.payload_format", "1"},
        {"mqtt.response_topic", "backend/replies"},
        {"mqtt.correlation_data", std::string("\x01\x00", 2)},
        {"mqtt.message_expiry", "60"},
        {"mqtt.user.origin", "backend"},
        {"mqtt.client_id", "ignored"},
        {"trace-id", "abc-123"},
    };
    // The header topic wins when the rule allows it.
    auto r = to_publish(rule_for("fallback/{key}", true), keyed("k", headers), 0, 12'500);
    REQUIRE(r.ok());
    CHECK(r.publish.topic == "devices/dev-9/reply");
    CHECK(r.publish.qos_level == mqtt::qos::at_most_once);
    CHECK(r.publish.retain);
    CHECK(r.publish.props.content_type == "text/plain");
    CHECK(r.publish.props.payload_format_indicator == mqtt::payload_format::utf8);
    CHECK(r.publish.props.response_topic == "backend/replies");
    CHECK(r.publish.props.correlation_data == std::string("\x01\x00", 2));
    CHECK(r.publish.props.message_expiry_interval == 58u);  // 2.5 s after the record's time
    CHECK(r.publish.props.user_properties ==
          std::vector<mqtt::user_property>{{"origin", "backend"}});

    // The rule does not allow it: the template decides, the header topic is ignored.
    r = to_publish(rule_for("fallback/{key}"), keyed("k", headers), 0, 12'500);
    REQUIRE(r.ok());
    CHECK(r.publish.topic == "fallback/k");
    // Allowed, but the record has no mqtt.topic: the template.
    r = to_publish(rule_for("fallback/{key}", true), keyed("k"), 0, 0);
    CHECK(r.publish.topic == "fallback/k");

    // Plain headers become user properties only when the rule says so.
    egress_rule plain = rule_for("d/{key}");
    plain.headers_as_user_properties = true;
    r = to_publish(plain, keyed("k", headers), 0, 12'500);
    REQUIRE(r.ok());
    CHECK(r.publish.props.user_properties ==
          std::vector<mqtt::user_property>{{"origin", "backend"}, {"trace-id", "abc-123"}});
    r = to_publish(plain, keyed("k", {{"bin", std::string("\xfe")}}), 0, 0);
    CHECK(r.error == mapping_error::invalid_header);
    CHECK(r.detail == "bin");

    // Rule QoS applies when there is no mqtt.qos header.
    egress_rule q2 = rule_for("d");
    q2.qos = mqtt::qos::exactly_once;
    CHECK(to_publish(q2, keyed("k"), 0, 0).publish.qos_level == mqtt::qos::exactly_once);
    CHECK(to_publish(q2, keyed("k", {{"mqtt.qos", "1"}}), 0, 0).publish.qos_level ==
          mqtt::qos::at_least_once);
}

#include <catch2/catch.hpp>

#include <fstream>

#include "auth/acl.hpp"
#include "tests/auth/test_util.hpp"

using namespace sluice::auth;

namespace {

acl parse(const std::string& text, acl_effect def = acl_effect::deny) {
    auto r = acl::parse(text, "acl", def);
    INFO(r.error);
    REQUIRE(r.rules);
    return std::move(*r.rules);
}

acl_identity user(std::string_view name, std::string_view client = "c1") {
    return {client, name};
}
acl_identity anon(std::string_view client = "c1") {
    return {client, std::nullopt};
}

}  // namespace

TEST_CASE("acl: parse errors name the line", "[auth][acl]") {
    const auto error_of = [](const std::string& text) {
        const auto r = acl::parse(text, "conf/acl");
        CHECK_FALSE(r.rules);
        return r.error;
    };
    CHECK(error_of("# c\n\nallow publish all\n") ==
          "conf/acl:3: expected '<allow|deny> <publish|subscribe|readwrite> <who> <filter>'");
    CHECK(error_of("permit publish all a\n").starts_with("conf/acl:1: unknown effect 'permit'"));
    CHECK(error_of("allow write all a\n").starts_with("conf/acl:1: unknown access 'write'"));
    CHECK(error_of("allow publish bob a\n").starts_with("conf/acl:1: unknown subject 'bob'"));
    CHECK(error_of("allow publish user= a\n").starts_with("conf/acl:1: unknown subject"));
    CHECK(error_of("allow publish all a/#/b\n") ==
          "conf/acl:1: 'a/#/b' is not a valid topic filter");
    CHECK(error_of("allow publish all $share/g/a\n") ==
          "conf/acl:1: '$share/g/a' is not a valid topic filter");
    CHECK(error_of("allow publish all a/%x\n") ==
          "conf/acl:1: '%' must be followed by 'c' (client id) or 'u' (user name)");
    CHECK(error_of("allow publish all a%\n").starts_with("conf/acl:1: '%' must"));
    CHECK(error_of("allow publish all kafka:a/b\n") ==
          "conf/acl:1: a kafka: filter is one level (Kafka topic names have no '/')");
    CHECK(error_of("default maybe\n") == "conf/acl:1: expected 'default allow' or 'default deny'");
    CHECK(error_of("default allow\ndefault deny\n") == "conf/acl:2: a second 'default' line");
}

TEST_CASE("acl: parse reads every field", "[auth][acl]") {
    const acl a = parse(
        "# rules\n"
        "default allow\n"
        "allow  readwrite user=alice      devices/%u/#\n"
        "\tdeny subscribe  client=sensor-* kafka:logs\r\n");
    CHECK(a.default_effect() == acl_effect::allow);
    REQUIRE(a.rules().size() == 2);
    const acl_rule& r = a.rules()[0];
    CHECK(r.effect == acl_effect::allow);
    CHECK(r.access == acl_access::readwrite);
    CHECK(r.subject == acl_subject::user);
    CHECK(r.pattern == "alice");
    CHECK(r.domain == acl_domain::mqtt);
    CHECK(r.filter == "devices/%u/#");
    CHECK(r.line == 3);
    const acl_rule& k = a.rules()[1];
    CHECK(k.effect == acl_effect::deny);
    CHECK(k.access == acl_access::subscribe);
    CHECK(k.subject == acl_subject::client);
    CHECK(k.pattern == "sensor-*");
    CHECK(k.domain == acl_domain::kafka);
    CHECK(k.filter == "logs");
}

TEST_CASE("acl: first match wins, then the default", "[auth][acl]") {
    const std::string rules =
        "deny  publish   all        a/secret\n"
        "allow publish   all        a/+\n"
        "allow subscribe user=bob   a/#\n";
    const acl deny_default = parse(rules);
    const acl allow_default = parse(rules + "default allow\n");

    const auto d = deny_default.check_publish(user("alice"), "a/secret");
    CHECK_FALSE(d.allowed);
    REQUIRE(d.rule != nullptr);
    CHECK(d.rule->line == 1);
    const auto p = deny_default.check_publish(user("alice"), "a/x");
    CHECK(p.allowed);
    CHECK(p.rule->line == 2);
    // No rule applies: the default decides.
    const auto none = deny_default.check_publish(user("alice"), "b/x");
    CHECK_FALSE(none.allowed);
    CHECK(none.rule == nullptr);
    CHECK(allow_default.check_publish(user("alice"), "b/x").allowed);
    CHECK_FALSE(allow_default.check_publish(user("alice"), "a/secret").allowed);
    // publish rules do not govern subscriptions.
    CHECK_FALSE(deny_default.check_subscribe(user("alice"), "a/x").allowed);
    CHECK(deny_default.check_subscribe(user("bob"), "a/x").allowed);
    // Invalid names and filters are refused whatever the rules say.
    CHECK_FALSE(allow_default.check_publish(user("alice"), "a/+").allowed);
    CHECK_FALSE(allow_default.check_publish(user("alice"), "").allowed);
    CHECK_FALSE(allow_default.check_subscribe(user("alice"), "a/#/b").allowed);
}

TEST_CASE("acl: subjects all, anonymous, user and client patterns", "[auth][acl]") {
    const acl a = parse(
        "allow publish anonymous       anon/x\n"
        "allow publish user=op-*       ops/x\n"
        "allow publish client=*-gw-?   gw/x\n"
        "allow publish client=sensor-* sensors/x\n"
        "allow publish all             public/x\n");
    CHECK(a.check_publish(anon(), "anon/x").allowed);
    CHECK_FALSE(a.check_publish(user("alice"), "anon/x").allowed);
    CHECK(a.check_publish(user("op-1"), "ops/x").allowed);
    CHECK(a.check_publish(user("op-"), "ops/x").allowed);
    CHECK_FALSE(a.check_publish(user("xop-1"), "ops/x").allowed);
    CHECK_FALSE(a.check_publish(anon(), "ops/x").allowed);
    // '?' is literal; '*' is the only wildcard.
    CHECK(a.check_publish(anon("site-gw-?"), "gw/x").allowed);
    CHECK_FALSE(a.check_publish(anon("site-gw-1"), "gw/x").allowed);
    CHECK(a.check_publish(user("bob", "sensor-42"), "sensors/x").allowed);
    CHECK_FALSE(a.check_publish(user("bob", "sensor"), "sensors/x").allowed);
    CHECK(a.check_publish(anon(), "public/x").allowed);
    CHECK(a.check_publish(user("z"), "public/x").allowed);
}

TEST_CASE("acl: %c and %u substitution", "[auth][acl]") {
    const acl a = parse(
        "allow readwrite all devices/%c/#\n"
        "allow readwrite all users/%u/#\n"
        "allow publish   all mixed/%u-%c\n");
    CHECK(a.check_publish(user("alice", "dev1"), "devices/dev1/temp").allowed);
    CHECK_FALSE(a.check_publish(user("alice", "dev1"), "devices/dev2/temp").allowed);
    CHECK(a.check_publish(user("alice"), "users/alice/inbox").allowed);
    CHECK_FALSE(a.check_publish(user("alice"), "users/bob/inbox").allowed);
    CHECK_FALSE(a.check_publish(anon(), "users/alice/inbox").allowed);
    CHECK(a.check_publish(user("alice", "d1"), "mixed/alice-d1").allowed);
    CHECK(a.check_subscribe(user("alice", "dev1"), "devices/dev1/+").allowed);
    CHECK_FALSE(a.check_subscribe(user("alice", "dev1"), "devices/+/temp").allowed);

    SECTION("ids with wildcards or '/' never gain access through a substituted rule") {
        CHECK_FALSE(a.check_publish(anon("+"), "devices/x/temp").allowed);
        CHECK_FALSE(a.check_subscribe(anon("+"), "devices/+/temp").allowed);
        CHECK_FALSE(a.check_subscribe(anon("#"), "devices/#").allowed);
        CHECK_FALSE(a.check_publish(anon("a/b"), "devices/a/b/temp").allowed);
        CHECK_FALSE(a.check_subscribe(user("+"), "users/+/inbox").allowed);
        CHECK_FALSE(a.check_subscribe(user("#"), "users/#").allowed);
        CHECK_FALSE(a.check_publish(user("bob/../alice"), "users/bob/../alice/inbox").allowed);
        CHECK_FALSE(a.check_publish(user("x+"), "users/x+/inbox").allowed);
        CHECK_FALSE(a.check_publish(anon("$SYS"), "devices/$SYS/x").allowed);
        CHECK_FALSE(a.check_publish(anon(""), "devices//x").allowed);
        CHECK(substitute_acl_filter("devices/%c/#", anon("$SYS")) == std::nullopt);
        CHECK(substitute_acl_filter("devices/%c/#", anon("a+")) == std::nullopt);
        CHECK(substitute_acl_filter("devices/%c/#", anon("dev-%u")) == "devices/dev-%u/#");
    }
    SECTION("a deny rule that cannot be substituted denies") {
        const acl d = parse(
            "deny  readwrite all private/%u/#\n"
            "allow readwrite all #\n");
        CHECK(d.check_publish(user("alice"), "private/bob/x").allowed);
        CHECK_FALSE(d.check_publish(user("alice"), "private/alice/x").allowed);
        CHECK_FALSE(d.check_publish(user("a/b"), "public/x").allowed);
        CHECK_FALSE(d.check_publish(anon(), "public/x").allowed);
    }
}

TEST_CASE("acl: subscription filters: allow covers, deny overlaps", "[auth][acl]") {
    const acl a = parse(
        "deny  subscribe all sensors/+/secret\n"
        "allow subscribe all sensors/#\n"
        "allow subscribe all $SYS/broker/#\n");
    CHECK(a.check_subscribe(anon(), "sensors/1/temp").allowed);
    CHECK(a.check_subscribe(anon(), "sensors/+/temp").allowed);
    CHECK(a.check_subscribe(anon(), "sensors").allowed);  // "sensors/#" matches "sensors"
    // Overlaps the deny rule: some topic it can match is denied.
    CHECK_FALSE(a.check_subscribe(anon(), "sensors/#").allowed);
    CHECK_FALSE(a.check_subscribe(anon(), "sensors/+/+").allowed);
    CHECK_FALSE(a.check_subscribe(anon(), "sensors/1/secret").allowed);
    // Wider than every allow rule: the default (deny).
    CHECK_FALSE(a.check_subscribe(anon(), "#").allowed);
    CHECK_FALSE(a.check_subscribe(anon(), "+/1/temp").allowed);
    // '$' topics: "#" never covers them, an explicit "$SYS/..." rule does.
    CHECK(a.check_subscribe(anon(), "$SYS/broker/uptime").allowed);
    CHECK_FALSE(a.check_subscribe(anon(), "$SYS/#").allowed);
    // Shared subscriptions are checked by their inner filter.
    CHECK(a.check_subscribe(anon(), "$share/g/sensors/1/temp").allowed);
    CHECK_FALSE(a.check_subscribe(anon(), "$share/g/sensors/#").allowed);
    CHECK_FALSE(a.check_subscribe(anon(), "$share/g").allowed);

    const acl open = parse("deny subscribe all secret/#\ndefault allow\n");
    CHECK_FALSE(open.check_subscribe(anon(), "#").allowed);
    CHECK_FALSE(open.check_subscribe(anon(), "+/x").allowed);
    CHECK(open.check_subscribe(anon(), "public/#").allowed);
    CHECK(open.check_subscribe(anon(), "$SYS/#").allowed);
}

TEST_CASE("acl: kafka topics follow kafka: rules only", "[auth][acl]") {
    const acl a = parse(
        "allow publish   all        telemetry/#\n"
        "allow publish   user=alice kafka:telemetry\n"
        "allow subscribe all        kafka:+\n"
        "deny  readwrite all        kafka:audit\n"
        "allow readwrite all        kafka:%u\n");
    CHECK(a.check_kafka(user("alice"), kafka_operation::produce, "telemetry").allowed);
    CHECK_FALSE(a.check_kafka(user("bob"), kafka_operation::produce, "telemetry").allowed);
    CHECK(a.check_kafka(user("bob"), kafka_operation::consume, "telemetry").allowed);
    CHECK(a.check_kafka(user("bob"), kafka_operation::consume, "orders.v1").allowed);
    // The kafka:+ subscribe rule comes first, so consuming audit is allowed; producing is not.
    CHECK_FALSE(a.check_kafka(user("audit"), kafka_operation::produce, "audit").allowed);
    CHECK(a.check_kafka(user("bob"), kafka_operation::produce, "bob").allowed);
    // MQTT rules do not apply to Kafka topics and kafka: rules not to MQTT topics.
    CHECK_FALSE(a.check_kafka(user("bob"), kafka_operation::produce, "x").allowed);
    CHECK_FALSE(a.check_publish(user("bob"), "bob").allowed);
    CHECK_FALSE(a.check_subscribe(user("bob"), "orders").allowed);
    CHECK(a.check_publish(user("alice"), "telemetry/1").allowed);
    // Invalid Kafka names are refused.
    CHECK_FALSE(a.check_kafka(user("bob"), kafka_operation::consume, "a/b").allowed);
    CHECK_FALSE(a.check_kafka(user("bob"), kafka_operation::consume, "..").allowed);
    CHECK_FALSE(a.check_kafka(user("bob"), kafka_operation::consume, "").allowed);
    CHECK_FALSE(
        a.check_kafka(user("bob"), kafka_operation::consume, std::string(250, 'a')).allowed);
    CHECK(valid_kafka_topic_name("Orders_v1.eu-west"));
    CHECK_FALSE(valid_kafka_topic_name("a b"));
}

TEST_CASE("acl: load from a file", "[auth][acl]") {
    sluice::auth::test::temp_dir dir;
    std::ofstream(dir / "acl") << "default allow\ndeny publish all x\n";
    const auto r = acl::load(dir / "acl");
    REQUIRE(r.rules);
    CHECK_FALSE(r.rules->check_publish(anon(), "x").allowed);
    CHECK(r.rules->check_publish(anon(), "y").allowed);
    const auto missing = acl::load(dir / "none");
    CHECK_FALSE(missing.rules);
    CHECK(missing.error.starts_with(dir / "none: cannot open"));
}

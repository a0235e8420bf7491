#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>
#include <string>

#include "ingest/ingest_rules.hpp"
#include "mqtt/topic.hpp"

using namespace sluice::ingest;
using nlohmann::json;

namespace {

ingest_rules parse_ok(const json& j) {
    std::string error;
    auto rules = ingest_rules::parse(j, error);
    INFO(error);
    REQUIRE(rules);
    CHECK(error.empty());
    return *rules;
}

std::string parse_error(const json& j) {
    std::string error;
    auto rules = ingest_rules::parse(j, error);
    CHECK_FALSE(rules);
    return error;
}

}  // namespace

TEST_CASE("ingest rules: a full rule list parses with every key") {
    auto rules = parse_ok(json::parse(R"([
        {"filter": "sensors/+/temp", "log_topic": "telemetry", "partitions": 8,
         "key": "level:1", "durability": "interval", "flush_interval_ms": 250},
        {"filter": "debug/#", "log": false},
        {"filter": "cmd/#", "log_topic": "commands", "key": "client_id", "durability": "never"},
        {"filter": "#", "log": true, "log_topic": "mqtt", "partitions": 2, "key": "topic",
         "durability": "always"}
    ])"));
    REQUIRE(rules.rules().size() == 4);
    const ingest_rule& t = rules.rules()[0];
    CHECK(t.filter == "sensors/+/temp");
    CHECK(t.logged);
    CHECK(t.log_topic == "telemetry");
    CHECK(t.partitions == 8);
    CHECK(t.key == partition_key_spec{key_source::topic_level, 1});
    CHECK(t.flush == sluice::store::durability::interval);
    CHECK(t.flush_interval_ms == 250);
    CHECK(log_config_for(t).flush == sluice::store::durability::interval);
    CHECK(log_config_for(t).flush_interval_ms == 250);
    CHECK_FALSE(rules.rules()[1].logged);
    const ingest_rule& c = rules.rules()[2];
    CHECK(c.partitions == 1);  // default
    CHECK(c.key.source == key_source::client_id);
    CHECK(c.flush == sluice::store::durability::never);
    CHECK(rules.rules()[3].key.source == key_source::topic);

    auto topics = rules.log_topics();
    REQUIRE(topics.size() == 3);
    CHECK(topics[0].name == "telemetry");
    CHECK(topics[0].partitions == 8);
    CHECK(topics[1].name == "commands");
    CHECK(topics[2].name == "mqtt");
    CHECK(topics[2].config.flush == sluice::store::durability::always);
}

TEST_CASE("ingest rules: defaults when none are configured") {
    for (const json& j : {json(nullptr), json::array()}) {
        auto rules = parse_ok(j);
        REQUIRE(rules.rules().size() == 1);
        const ingest_rule& r = rules.rules()[0];
        CHECK(r.filter == "#");
        CHECK(r.log_topic == "mqtt");
        CHECK(r.partitions == 4);
        CHECK(r.key.source == key_source::topic);
        CHECK(r.flush == sluice::store::durability::always);
        CHECK(rules.logging_rule("a/b") == &rules.rules()[0]);
        CHECK(rules.logging_rule("$SYS/broker/uptime") == nullptr);
        CHECK(rules.logging_rule("$other/x") == nullptr);  // '#' does not match '$' topics
    }
    CHECK(ingest_rules::defaults().rules() == parse_ok(nullptr).rules());
}

TEST_CASE("ingest rules: every bad key is named with its index") {
    struct bad {
        const char* rules;
        const char* error;
    };
    const bad cases[] = {
        {R"({"filter": "#"})", "ingest_rules: must be an array of objects"},
        {R"(["#"])", "ingest_rules[0]: must be an object"},
        {R"([{"log_topic": "t"}])", "ingest_rules[0].filter: required"},
        {R"([{"filter": 7, "log_topic": "t"}])", "ingest_rules[0].filter: must be a string"},
        {R"([{"filter": "a/#/b", "log_topic": "t"}])",
         "ingest_rules[0].filter: not a valid MQTT topic filter"},
        {R"([{"filter": "", "log_topic": "t"}])",
         "ingest_rules[0].filter: not a valid MQTT topic filter"},
        {R"([{"filter": "a+", "log_topic": "t"}])",
         "ingest_rules[0].filter: not a valid MQTT topic filter"},
        {R"([{"filter": "$share/g/a", "log_topic": "t"}])",
         "ingest_rules[0].filter: a shared subscription is not a topic filter"},
        {R"([{"filter": "$SYS/#", "log_topic": "t"}])",
         "ingest_rules[0].filter: $SYS topics are never logged"},
        {R"([{"filter": "a", "log_topic": "t"}, {"filter": "b", "log": "no"}])",
         "ingest_rules[1].log: must be true or false"},
        {R"([{"filter": "a", "log": false, "log_topic": "t"}])",
         "ingest_rules[0].log_topic: not allowed with \"log\": false"},
        {R"([{"filter": "a", "log": false, "partitions": 2}])",
         "ingest_rules[0].partitions: not allowed with \"log\": false"},
        {R"([{"filter": "a"}])", "ingest_rules[0].log_topic: required"},
        {R"([{"filter": "a", "log_topic": ["t"]}])", "ingest_rules[0].log_topic: must be a string"},
        {R"([{"filter": "a", "log_topic": "a/b"}])",
         "ingest_rules[0].log_topic: must be 1..249 of [a-zA-Z0-9._-], not \".\" or \"..\", not "
         "starting with \"__\""},
        {R"([{"filter": "a", "log_topic": "__retained"}])",
         "ingest_rules[0].log_topic: must be 1..249 of [a-zA-Z0-9._-], not \".\" or \"..\", not "
         "starting with \"__\""},
        {R"([{"filter": "a", "log_topic": ".."}])",
         "ingest_rules[0].log_topic: must be 1..249 of [a-zA-Z0-9._-], not \".\" or \"..\", not "
         "starting with \"__\""},
        {R"([{"filter": "a", "log_topic": "t"}, {"filter": "b", "log_topic": "t"},
             {"filter": "c", "log_topic": "u", "partitions": 0}])",
         "ingest_rules[2].partitions: must be >= 1"},
        {R"([{"filter": "a", "log_topic": "t", "partitions": -3}])",
         "ingest_rules[0].partitions: must be >= 1"},
        {R"([{"filter": "a", "log_topic": "t", "partitions": 10001}])",
         "ingest_rules[0].partitions: must be <= 10000"},
        {R"([{"filter": "a", "log_topic": "t", "partitions": 2.5}])",
         "ingest_rules[0].partitions: must be an integer"},
        {R"([{"filter": "a", "log_topic": "t", "partitions": "4"}])",
         "ingest_rules[0].partitions: must be an integer"},
        {R"([{"filter": "a", "log_topic": "t", "partitions": 18446744073709551615}])",
         "ingest_rules[0].partitions: out of range"},
        {R"([{"filter": "a", "log_topic": "t", "key": "level"}])",
         "ingest_rules[0].key: must be \"client_id\", \"topic\" or \"level:N\""},
        {R"([{"filter": "a", "log_topic": "t", "key": "level:-1"}])",
         "ingest_rules[0].key: must be \"client_id\", \"topic\" or \"level:N\""},
        {R"([{"filter": "a", "log_topic": "t", "key": "level:65536"}])",
         "ingest_rules[0].key: must be \"client_id\", \"topic\" or \"level:N\""},
        {R"([{"filter": "a", "log_topic": "t", "key": "level:01"}])",
         "ingest_rules[0].key: must be \"client_id\", \"topic\" or \"level:N\""},
        {R"([{"filter": "a", "log_topic": "t", "key": "username"}])",
         "ingest_rules[0].key: must be \"client_id\", \"topic\" or \"level:N\""},
        {R"([{"filter": "a", "log_topic": "t", "key": 1}])",
         "ingest_rules[0].key: must be a string"},
        {R"([{"filter": "a", "log_topic": "t", "durability": "sometimes"}])",
         "ingest_rules[0].durability: must be \"always\", \"interval\" or \"never\""},
        {R"([{"filter": "a", "log_topic": "t", "durability": true}])",
         "ingest_rules[0].durability: must be a string"},
        {R"([{"filter": "a", "log_topic": "t", "flush_interval_ms": 100}])",
         "ingest_rules[0].flush_interval_ms: only with \"durability\": \"interval\""},
        {R"([{"filter": "a", "log_topic": "t", "durability": "interval", "flush_interval_ms": 0}])",
         "ingest_rules[0].flush_interval_ms: must be 1..86400000"},
        {R"([{"filter": "a", "log_topic": "t", "durability": "interval", "flush_interval_ms": "5"}])",
         "ingest_rules[0].flush_interval_ms: must be an integer"},
        {R"([{"filter": "a", "log_topic": "t", "partiton": 3}])",
         "ingest_rules[0].partiton: unknown key"},
        {R"([{"filter": "a", "log_topic": "t", "partitions": 4},
             {"filter": "b", "log_topic": "t", "partitions": 2}])",
         "ingest_rules[1].partitions: log topic \"t\" has 4 partitions in ingest_rules[0]"},
        {R"([{"filter": "a", "log_topic": "t"},
             {"filter": "b", "log_topic": "t", "durability": "never"}])",
         "ingest_rules[1].durability: log topic \"t\" has another durability in ingest_rules[0]"},
    };
    for (const auto& c : cases) {
        INFO(c.rules);
        CHECK(parse_error(json::parse(c.rules)) == c.error);
    }
}

TEST_CASE("ingest rules: first match wins, in order") {
    auto rules = parse_ok(json::parse(R"([
        {"filter": "a/b", "log_topic": "exact"},
        {"filter": "a/+", "log_topic": "single"},
        {"filter": "a/#", "log_topic": "multi"},
        {"filter": "+/x/#", "log_topic": "deep"}
    ])"));
    auto topic_of = [&](const char* t) -> std::string {
        const ingest_rule* r = rules.match(t);
        return r ? r->log_topic : "(none)";
    };
    CHECK(topic_of("a/b") == "exact");
    CHECK(topic_of("a/c") == "single");
    CHECK(topic_of("a/") == "single");  // an empty level is a level
    CHECK(topic_of("a") == "multi");    // "a/#" matches its parent
    CHECK(topic_of("a/b/c") == "multi");
    CHECK(topic_of("q/x") == "deep");
    CHECK(topic_of("q/x/y/z") == "deep");
    CHECK(topic_of("q/y") == "(none)");
    CHECK(topic_of("b") == "(none)");
    CHECK(topic_of("$q/x") == "(none)");  // a leading wildcard does not match '$' topics

    // Reordered, the catch-all shadows the rest.
    auto shadowed = parse_ok(json::parse(R"([
        {"filter": "#", "log_topic": "all"}, {"filter": "a/b", "log_topic": "exact"}])"));
    CHECK(shadowed.match("a/b")->log_topic == "all");
}

TEST_CASE("ingest rules: log false stops at the first match, $SYS is never logged") {
    auto rules = parse_ok(json::parse(R"([
        {"filter": "private/#", "log": false},
        {"filter": "#", "log_topic": "all"},
        {"filter": "$aws/#", "log_topic": "aws"}
    ])"));
    const ingest_rule* r = rules.match("private/x");
    REQUIRE(r);
    CHECK_FALSE(r->logged);
    CHECK(rules.logging_rule("private/x") == nullptr);
    CHECK(rules.logging_rule("private") == nullptr);
    CHECK(rules.logging_rule("public/x")->log_topic == "all");
    CHECK(rules.logging_rule("$aws/things")->log_topic == "aws");
    CHECK(rules.match("$SYS") == nullptr);
    CHECK(rules.match("$SYS/broker/clients") == nullptr);
    auto sys = parse_ok(json::parse(R"([{"filter": "+/#", "log_topic": "x"},
                                        {"filter": "$SYSTEM/#", "log_topic": "y"}])"));
    CHECK(sys.match("$SYS/broker") == nullptr);
    CHECK(sys.match("$SYSTEM/a")->log_topic == "y");  // only the "$SYS" level is reserved
}

TEST_CASE("ingest rules: compiled filters agree with mqtt::topic_matches") {
    const char* filters[] = {"#",     "+", "a",  "a/#",  "a/+",  "+/+",   "a/+/c",
                             "+/b/#", "/", "/+", "a//b", "$x/#", "$x/+/y"};
    const char* topics[] = {"a",   "a/b",   "a/b/c", "/",    "/a",     "a/", "a//b",
                            "b/b", "b/b/c", "$x",    "$x/y", "$x/q/y", "x/b"};
    for (const char* f : filters) {
        compiled_filter c(f);
        for (const char* t : topics) {
            INFO(f << " vs " << t);
            CHECK(c.matches(t) == sluice::mqtt::topic_matches(f, t));
        }
    }
}

TEST_CASE("ingest rules: partition keys") {
    using spec = partition_key_spec;
    CHECK(partition_key(spec{key_source::topic, 0}, "a/b/c", "dev") == "a/b/c");
    CHECK(partition_key(spec{key_source::client_id, 0}, "a/b/c", "dev") == "dev");
    CHECK(partition_key(spec{key_source::topic_level, 0}, "a/b/c", "dev") == "a");
    CHECK(partition_key(spec{key_source::topic_level, 1}, "a/b/c", "dev") == "b");
    CHECK(partition_key(spec{key_source::topic_level, 2}, "a/b/c", "dev") == "c");
    CHECK(partition_key(spec{key_source::topic_level, 1}, "a//c", "dev") == "");
    // A topic with fewer levels is keyed by the whole topic.
    CHECK(partition_key(spec{key_source::topic_level, 3}, "a/b/c", "dev") == "a/b/c");
    CHECK(parse_partition_key("level:0") == spec{key_source::topic_level, 0});
    CHECK(parse_partition_key("level:65535") == spec{key_source::topic_level, 65535});
    CHECK_FALSE(parse_partition_key("level:"));
    CHECK_FALSE(parse_partition_key("level:+1"));
    CHECK_FALSE(parse_partition_key("level:1x"));
    CHECK(to_string(spec{key_source::topic_level, 7}) == "level:7");
    CHECK(to_string(spec{key_source::client_id, 0}) == "client_id");

    ingest_rule r;
    r.partitions = 4;
    r.key = {key_source::topic_level, 1};
    CHECK(partition_for(r, "x/foobar/y", "c") == 2);  // kafka_partition("foobar", 4)
    r.key = {key_source::client_id, 0};
    CHECK(partition_for(r, "x/foobar/y", "abc") == 3);
}

TEST_CASE("ingest rules: matching cost (printed, not asserted)") {
    json list = json::array();
    for (int i = 0; i < 20; ++i)
        list.push_back({{"filter", "site/" + std::to_string(i) + "/+/temp"},
                        {"log_topic", "site" + std::to_string(i)}});
    list.push_back({{"filter", "#"}, {"log_topic", "rest"}});
    auto rules = parse_ok(list);
    const std::string topics[] = {"site/3/dev-17/temp", "site/19/dev-2/temp",
                                  "other/dev-1/humidity", "$SYS/broker/load"};
    constexpr int rounds = 20'000;
    std::size_t logged = 0;
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < rounds; ++i)
        for (const auto& t : topics) logged += rules.logging_rule(t) != nullptr;
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                        std::chrono::steady_clock::now() - start)
                        .count();
    std::printf("ingest rules: %d topics against 21 rules: %.1f ns per match\n", rounds * 4,
                static_cast<double>(ns) / (rounds * 4));
    CHECK(logged == static_cast<std::size_t>(rounds) * 3);
}

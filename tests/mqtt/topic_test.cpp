#include <catch2/catch.hpp>

#include <string>

#include "mqtt/topic.hpp"

using namespace sluice::mqtt;

TEST_CASE("topic: topic names", "[mqtt][topic]") {
    struct row {
        std::string name;
        bool valid;
    };
    const row rows[] = {
        {"a", true},
        {"a/b/c", true},
        {"/", true},
        {"a//b", true},
        {"/leading", true},
        {"trailing/", true},
        {"$SYS/x", true},
        {"caf\xC3\xA9", true},
        {"", false},
        {"a/+", false},
        {"#", false},
        {"a/#", false},
        {"a+b", false},
        {"a\xC0\x80", false},
        {std::string("a\0b", 3), false},
        {std::string(65'535, 'x'), true},
        {std::string(65'536, 'x'), false},
    };
    for (const auto& r : rows) {
        INFO("topic name: " << r.name.substr(0, 20));
        CHECK(valid_topic_name(r.name) == r.valid);
    }
}

TEST_CASE("topic: topic filters and shared subscriptions", "[mqtt][topic]") {
    struct row {
        std::string filter;
        bool valid;
    };
    const row rows[] = {
        {"#", true},
        {"+", true},
        {"a/+/c", true},
        {"a/#", true},
        {"+/+", true},
        {"/+", true},
        {"a/b", true},
        {"$SYS/#", true},
        {"", false},
        {"a#", false},
        {"a/#/b", false},
        {"a/b#", false},
        {"a+", false},
        {"a/+b", false},
        {"++", false},
        {"#/", false},
        {"$share/g/a/#", true},
        {"$share/g/+", true},
        {"$share/g//", true},
        {"$share/g", false},
        {"$share/", false},
        {"$share//a", false},
        {"$share/g+/a", false},
        {"$share/g#/a", false},
        {"$share/g/", false},
        {"$share/g/a#", false},
        {"$sharex/g/a", true},  // not a share prefix: an ordinary filter
    };
    for (const auto& r : rows) {
        INFO("filter: " << r.filter);
        CHECK(valid_topic_filter(r.filter) == r.valid);
    }

    auto shared = parse_topic_filter("$share/group-1/sensors/+/temp");
    REQUIRE(shared);
    CHECK(shared->shared);
    CHECK(shared->group == "group-1");
    CHECK(shared->filter == "sensors/+/temp");

    auto plain = parse_topic_filter("sensors/#");
    REQUIRE(plain);
    CHECK_FALSE(plain->shared);
    CHECK(plain->group.empty());
    CHECK(plain->filter == "sensors/#");

    CHECK_FALSE(parse_topic_filter("a/#/b"));
}

TEST_CASE("topic: matching, including the $ rule", "[mqtt][topic]") {
    struct row {
        const char* filter;
        const char* topic;
        bool matches;
    };
    const row rows[] = {
        {"a/b", "a/b", true},
        {"a/b", "a/c", false},
        {"a/b", "a/b/c", false},
        {"a/b/c", "a/b", false},
        {"a/+", "a/b", true},
        {"a/+", "a/b/c", false},
        {"a/+", "a", false},
        {"a/+", "a/", true},  // '+' matches an empty level
        {"+/+", "/x", true},
        {"+", "/x", false},
        {"/+", "/x", true},
        {"+/b/+", "a/b/c", true},
        {"#", "a", true},
        {"#", "a/b/c", true},
        {"#", "/", true},
        {"a/#", "a", true},  // '#' includes the parent level
        {"a/#", "a/b/c", true},
        {"a/#", "ab", false},
        {"a/b/#", "a/b", true},
        {"+/#", "a", true},
        {"sport/+/player1", "sport/tennis/player1", true},
        {"#", "$SYS/broker", false},  // [MQTT-4.7.2-1]
        {"+/broker", "$SYS/broker", false},
        {"$SYS/#", "$SYS/broker", true},
        {"$SYS/+", "$SYS/broker", true},
        {"$SYS", "$SYS", true},
        {"a/$b", "a/$b", true},
        {"+/$b", "a/$b", true},  // the rule is about the first level only
        {"A/b", "a/b", false},   // case sensitive
        {"a/b", "a/b/", false},
    };
    for (const auto& r : rows) {
        INFO(r.filter << " vs " << r.topic);
        CHECK(topic_matches(r.filter, r.topic) == r.matches);
    }
}

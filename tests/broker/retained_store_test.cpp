#include <catch2/catch.hpp>

#include <algorithm>
#include <random>
#include <set>
#include <string>

#include "broker/retained_store.hpp"
#include "mqtt/topic.hpp"

using namespace sluice::broker;
namespace mqtt = sluice::mqtt;

namespace {

message_ptr retained(const std::string& topic, std::string_view payload = "x",
                     std::optional<std::uint32_t> expiry = std::nullopt,
                     steady_clock::time_point now = steady_clock::now()) {
    mqtt::publish p;
    p.topic = topic;
    p.retain = true;
    p.payload = mqtt::shared_bytes(payload);
    p.props.message_expiry_interval = expiry;
    return make_message(std::move(p), nullptr, now);
}

std::set<std::string> topics(retained_store& store, std::string_view filter,
                             steady_clock::time_point now = steady_clock::now()) {
    std::vector<message_ptr> out;
    store.collect(filter, now, out);
    std::set<std::string> got;
    for (const auto& m : out) got.insert(std::string(m->topic()));
    REQUIRE(got.size() == out.size());  // each topic at most once
    return got;
}

using names = std::set<std::string>;

}  // namespace

TEST_CASE("retained: exact topics, replace and clear") {
    retained_store store;
    store.put(retained("a/b", "1"));
    auto second = retained("a/b", "2");
    store.put(second);  // replaces
    store.put(retained("a"));
    CHECK(store.size() == 2);
    std::vector<message_ptr> out;
    store.collect("a/b", steady_clock::now(), out);
    REQUIRE(out.size() == 1);
    CHECK(out[0] == second);
    store.put(retained("a/b", ""));  // an empty payload clears the topic
    CHECK(store.size() == 1);
    CHECK(topics(store, "a/b").empty());
    CHECK(topics(store, "#") == names{"a"});
    store.put(retained("x/y/z", ""));  // clearing an absent topic changes nothing
    store.put(retained("a/b/c", ""));
    CHECK(store.size() == 1);
    store.put(retained("a", ""));
    CHECK(store.size() == 0);
    CHECK(topics(store, "#").empty());
}

TEST_CASE("retained: + and # match one level and a subtree, # includes the parent") {
    retained_store store;
    for (const char* t : {"sport", "sport/tennis", "sport/tennis/p1", "sport/golf/p1", "news/x"})
        store.put(retained(t));
    CHECK(topics(store, "sport/+") == names{"sport/tennis"});
    CHECK(topics(store, "sport/+/p1") == names{"sport/tennis/p1", "sport/golf/p1"});
    CHECK(topics(store, "sport/#") ==
          names{"sport", "sport/tennis", "sport/tennis/p1", "sport/golf/p1"});
    CHECK(topics(store, "sport/tennis/#") == names{"sport/tennis", "sport/tennis/p1"});
    CHECK(topics(store, "+") == names{"sport"});
    CHECK(topics(store, "+/#").size() == 5);
    CHECK(topics(store, "#").size() == 5);
    CHECK(topics(store, "+/+/+/+").empty());
    CHECK(topics(store, "nothing/#").empty());
}

TEST_CASE("retained: wildcards in the first level do not match $ topics") {
    retained_store store;
    store.put(retained("$SYS/broker/uptime"));
    store.put(retained("$SYS"));
    store.put(retained("a/$b"));
    CHECK(topics(store, "#") == names{"a/$b"});
    CHECK(topics(store, "+/broker/uptime").empty());
    CHECK(topics(store, "+/+") == names{"a/$b"});  // '$' matters in the first level only
    CHECK(topics(store, "$SYS/#") == names{"$SYS", "$SYS/broker/uptime"});
    CHECK(topics(store, "$SYS/+/uptime") == names{"$SYS/broker/uptime"});
    CHECK(topics(store, "$SYS") == names{"$SYS"});
}

TEST_CASE("retained: empty levels are levels") {
    retained_store store;
    store.put(retained("a//b"));
    store.put(retained("/a"));
    store.put(retained("a/"));
    CHECK(topics(store, "a//b") == names{"a//b"});
    CHECK(topics(store, "a/+/b") == names{"a//b"});
    CHECK(topics(store, "+/a") == names{"/a"});
    CHECK(topics(store, "a/+") == names{"a/"});
    CHECK(topics(store, "a/#") == names{"a//b", "a/"});
    CHECK(topics(store, "a/b").empty());
    store.put(retained("a//b", ""));
    CHECK(topics(store, "a/#") == names{"a/"});
    CHECK(store.size() == 2);
}

TEST_CASE("retained: expired messages are not returned and are dropped") {
    retained_store store;
    const auto t0 = steady_clock::now();
    store.put(retained("e/short", "x", 1, t0));
    store.put(retained("e/long", "x", 100, t0));
    store.put(retained("e/never", "x", std::nullopt, t0));
    CHECK(topics(store, "e/#", t0).size() == 3);
    const auto later = t0 + std::chrono::seconds(2);
    CHECK(topics(store, "e/+", later) == names{"e/long", "e/never"});
    CHECK(store.size() == 2);
    const auto much_later = t0 + std::chrono::seconds(200);
    CHECK(topics(store, "e/long", much_later).empty());
    CHECK(store.size() == 1);
    CHECK(topics(store, "#", much_later) == names{"e/never"});
}

TEST_CASE("retained: the tree agrees with topic_matches on random topics and filters") {
    std::mt19937 rng(7);
    const std::vector<std::string> words{"a", "b", "", "$x", "c"};
    auto random_topic = [&] {
        std::string t;
        const int n = 1 + static_cast<int>(rng() % 4);
        for (int i = 0; i < n; ++i) {
            if (i) t += '/';
            t += words[rng() % words.size()];
        }
        return t;
    };
    auto random_filter = [&] {
        std::string f;
        while (f.empty()) {  // a single empty level is not a valid filter
            const int n = 1 + static_cast<int>(rng() % 4);
            for (int i = 0; i < n; ++i) {
                if (i) f += '/';
                const auto r = rng() % 8;
                if (r == 0 && i == n - 1)
                    f += '#';
                else if (r <= 2)
                    f += '+';
                else
                    f += words[rng() % words.size()];
            }
        }
        return f;
    };
    retained_store store;
    std::set<std::string> all;
    for (int i = 0; i < 300; ++i) {
        auto t = random_topic();
        if (t.empty()) continue;  // not a valid topic name
        if (rng() % 5 == 0) {
            store.put(retained(t, ""));
            all.erase(t);
        } else {
            store.put(retained(t));
            all.insert(t);
        }
    }
    CHECK(store.size() == all.size());
    for (int i = 0; i < 300; ++i) {
        auto f = random_filter();
        REQUIRE(mqtt::parse_topic_filter(f));
        names want;
        for (const auto& t : all)
            if (mqtt::topic_matches(f, t)) want.insert(t);
        INFO("filter " << f);
        CHECK(topics(store, f) == want);
    }
}

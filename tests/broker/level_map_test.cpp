#include "broker/level_map.hpp"

#include <catch2/catch.hpp>
#include <string>

using sluice::broker::level_map;

namespace {
struct child {
    int value = 0;
};
}  // namespace

TEST_CASE("level_map finds, adds and erases levels, small and large", "[level_map]") {
    level_map<child> m;
    CHECK(m.empty());
    CHECK(m.find("a") == nullptr);

    // Past the short list's size it becomes a hash table; every level stays findable.
    for (int i = 0; i < 20; ++i) {
        auto& slot = m.slot("level" + std::to_string(i));
        REQUIRE(slot == nullptr);
        slot = std::make_unique<child>(child{i});
        for (int j = 0; j <= i; ++j) {
            const child* c = m.find("level" + std::to_string(j));
            REQUIRE(c != nullptr);
            CHECK(c->value == j);
        }
        CHECK(m.size() == static_cast<std::size_t>(i + 1));
    }
    // slot() on an existing level returns it, never a second one.
    CHECK(m.slot("level3")->value == 3);
    CHECK(m.size() == 20);
    CHECK(m.find("level") == nullptr);
    CHECK(m.find("level200") == nullptr);

    for (int i = 0; i < 20; i += 2) m.erase("level" + std::to_string(i));
    m.erase("missing");
    CHECK(m.size() == 10);
    for (int i = 0; i < 20; ++i) CHECK((m.find("level" + std::to_string(i)) != nullptr) == (i % 2 == 1));
    for (int i = 1; i < 20; i += 2) m.erase("level" + std::to_string(i));
    CHECK(m.empty());
}

TEST_CASE("level_map compares whole levels, not prefixes", "[level_map]") {
    level_map<child> m;
    m.slot("ab") = std::make_unique<child>(child{1});
    m.slot("a") = std::make_unique<child>(child{2});
    m.slot("") = std::make_unique<child>(child{3});
    CHECK(m.find("ab")->value == 1);
    CHECK(m.find("a")->value == 2);
    CHECK(m.find("")->value == 3);
    CHECK(m.find("abc") == nullptr);
    m.erase("a");
    CHECK(m.find("a") == nullptr);
    CHECK(m.find("ab")->value == 1);
}

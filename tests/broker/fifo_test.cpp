#include <catch2/catch.hpp>

#include <string>

#include "broker/fifo.hpp"

using sluice::broker::fifo;

TEST_CASE("fifo keeps order through pops, compaction and erase") {
    fifo<std::string> q;
    CHECK(q.empty());
    for (int i = 0; i < 100; ++i) q.push_back(std::to_string(i));
    for (int i = 0; i < 60; ++i) {
        REQUIRE(q.front() == std::to_string(i));
        q.pop_front();
    }
    CHECK(q.size() == 40);
    q.erase(q.begin() + 5);  // "65"
    q.erase(q.begin());      // "60"
    std::vector<std::string> rest(q.begin(), q.end());
    REQUIRE(rest.size() == 38);
    CHECK(rest.front() == "61");
    CHECK(rest[3] == "64");
    CHECK(rest[4] == "66");
    while (!q.empty()) q.pop_front();
    q.push_back("again");
    CHECK(q.front() == "again");
    q.clear();
    CHECK(q.size() == 0);
}

TEST_CASE("an empty fifo iterates nothing, before and after use") {
    fifo<int> q;
    CHECK(q.begin() == q.end());
    CHECK(q.size() == 0);
    q.push_back(1);
    q.push_back(2);
    q.erase(q.begin() + 1);
    q.pop_front();
    CHECK(q.empty());
    CHECK(q.begin() == q.end());
    q.clear();
    CHECK(q.empty());
    q.push_back(3);
    CHECK(q.size() == 1);
    CHECK(q.front() == 3);
}

TEST_CASE("a drained fifo keeps its buffer for the next burst until released") {
    fifo<int> q;
    CHECK_FALSE(q.holds_buffer());
    for (int i = 0; i < 200; ++i) q.push_back(i);
    while (!q.empty()) q.pop_front();
    CHECK(q.holds_buffer());  // drained, not given back: the next burst reuses it
    q.push_back(7);
    CHECK_FALSE(q.release());  // not empty: kept
    q.pop_front();
    CHECK(q.release());
    CHECK_FALSE(q.holds_buffer());
    // A very large burst's buffer goes back as soon as it drains.
    for (std::size_t i = 0; i < 4 * fifo<int>::keep_when_drained; ++i) q.push_back(1);
    while (!q.empty()) q.pop_front();
    CHECK_FALSE(q.holds_buffer());
}

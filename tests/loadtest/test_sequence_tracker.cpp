#include <catch2/catch.hpp>

#include "loadtest/mqtt/sequence_tracker.hpp"

using sluice::bench::sequence_tracker;

TEST_CASE("sequence tracker: in-order messages are all unique and in order") {
    sequence_tracker t;
    for (std::uint64_t s = 0; s < 1000; ++s) CHECK(t.on_message(0, 0, 7, s));
    const auto c = t.per_publisher().at(7);
    CHECK(c.unique == 1000);
    CHECK(c.duplicates == 0);
    CHECK(c.reordered == 0);
    CHECK(t.total_unique() == 1000);
}

TEST_CASE("sequence tracker: a repeated sequence number is a duplicate, not a reorder") {
    sequence_tracker t;
    t.on_message(0, 0, 1, 0);
    t.on_message(0, 0, 1, 1);
    CHECK_FALSE(t.on_message(0, 0, 1, 0));
    const auto c = t.per_publisher().at(1);
    CHECK(c.unique == 2);
    CHECK(c.duplicates == 1);
    CHECK(c.reordered == 0);
}

TEST_CASE("sequence tracker: a late message is counted as reordered") {
    sequence_tracker t;
    t.on_message(0, 0, 1, 0);
    t.on_message(0, 0, 1, 2);
    t.on_message(0, 0, 1, 1);  // arrives after 2
    t.on_message(0, 0, 1, 3);
    const auto c = t.per_publisher().at(1);
    CHECK(c.unique == 4);
    CHECK(c.reordered == 1);
}

TEST_CASE("sequence tracker: gaps leave messages missing from the unique count") {
    sequence_tracker t;
    for (std::uint64_t s = 0; s < 100; s += 2) t.on_message(3, 3, 9, s);
    CHECK(t.per_publisher().at(9).unique == 50);
}

TEST_CASE("sequence tracker: members of one shared group split the stream without duplicates") {
    sequence_tracker t;
    // Unit 10 is a $share group with members on connections 0 and 1.
    for (std::uint64_t s = 0; s < 100; ++s) CHECK(t.on_message(10, s % 2, 4, s));
    // Each member sees its own half in order, so nothing is reordered.
    const auto c = t.per_publisher().at(4);
    CHECK(c.unique == 100);
    CHECK(c.duplicates == 0);
    CHECK(c.reordered == 0);
    // The broker giving the same message to a second member is a duplicate for the group.
    CHECK_FALSE(t.on_message(10, 1, 4, 50));
    CHECK(t.per_publisher().at(4).duplicates == 1);
}

TEST_CASE("sequence tracker: each plain subscriber counts separately") {
    sequence_tracker t;
    for (std::uint32_t sub = 0; sub < 3; ++sub)
        for (std::uint64_t s = 0; s < 10; ++s) t.on_message(sub, sub, 0, s);
    CHECK(t.per_publisher().at(0).unique == 30);
    CHECK(t.per_publisher().at(0).duplicates == 0);
}

// broker/topic_summary.hpp: a chunk is passed over only when no filter can match a record in
// it (checked against mqtt::topic_matches over random topics and filters), and only over
// offsets the summary saw.
#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <vector>

#include "broker/topic_summary.hpp"
#include "mqtt/topic.hpp"

using sluice::broker::topic_summary;

namespace {

std::string random_topic(std::mt19937& rng) {
    static const char* words[] = {"a", "b", "c", "dev", "t", "", "x1", "long-level"};
    const int levels = 1 + static_cast<int>(rng() % 10);  // past max_levels too
    std::string t;
    for (int i = 0; i < levels; ++i) {
        if (i) t += '/';
        t += words[rng() % 8];
    }
    return t;
}

std::string random_filter(std::mt19937& rng) {
    std::string f = random_topic(rng);
    std::string out;
    std::size_t start = 0;
    bool first = true;
    while (true) {
        const auto slash = f.find('/', start);
        std::string level = f.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
        if (rng() % 4 == 0) level = "+";
        if (!first) out += '/';
        first = false;
        if (rng() % 8 == 0) return out + "#";
        out += level;
        if (slash == std::string::npos) return out;
        start = slash + 1;
    }
}

}  // namespace

TEST_CASE("topic summary: never passes over a record a filter matches") {
    std::mt19937 rng(7);
    for (int round = 0; round < 20; ++round) {
        topic_summary s(16, 1000);  // small chunks: many of them
        std::vector<std::string> topics;
        for (int i = 0; i < 400; ++i) {
            topics.push_back(random_topic(rng));
            s.add(i, topic_summary::of_topic(topics.back()));
        }
        for (int q = 0; q < 50; ++q) {
            std::vector<std::string> filters;
            std::vector<topic_summary::tokens> tokens;
            const int nf = static_cast<int>(rng() % 3);  // 0: matches nothing
            for (int k = 0; k < nf; ++k) {
                filters.push_back(random_filter(rng));
                tokens.push_back(topic_summary::of_filter(filters.back()));
            }
            const std::int64_t from = static_cast<std::int64_t>(rng() % 400);
            const auto sk = s.skip(from, 400, tokens);
            const std::int64_t to = sk.next;
            // A read stops where a chunk no filter can match begins, never inside a match.
            REQUIRE(sk.read_until >= to);
            REQUIRE(sk.read_until <= 400);
            if (sk.read_until < 400) {
                const auto after = s.skip(sk.read_until, 400, tokens);
                CHECK(after.next > sk.read_until);
            }
            INFO("from " << from << " to " << to);
            REQUIRE(to >= from);
            REQUIRE(to <= 400);
            for (std::int64_t o = from; o < to; ++o)
                for (const auto& f : filters) {
                    INFO("offset " << o << " topic " << topics[o] << " filter " << f);
                    CHECK_FALSE(sluice::mqtt::topic_matches(f, topics[o]));
                }
        }
    }
}

TEST_CASE("topic summary: passes over chunks of other topics, stops at a possible match") {
    topic_summary s(100, 1000);
    for (int i = 0; i < 1000; ++i) s.add(i, topic_summary::of_topic("dev/" + std::to_string(i % 50) + "/t"));
    s.add(1000, topic_summary::of_topic("rare/one"));
    const std::vector<topic_summary::tokens> rare{topic_summary::of_filter("rare/+")};
    // The chunks before the one holding offset 1000 are passed over: that one starts at 1000.
    CHECK(s.skip(0, 2000, rare).next == 1000);
    CHECK(s.skip(0, 2000, rare).read_until == 2000);  // the last chunk: unknown beyond it
    CHECK(s.skip(0, 500, rare).next == 500);  // never past `until`
    // `#`, `+/+/+` and dev/+/t may match anywhere: nothing is passed over.
    for (const char* f : {"#", "+/+/+", "dev/+/t", "dev/7/#"})
        CHECK(s.skip(0, 2000, {topic_summary::of_filter(f)}).next == 0);
    // No filter matches nothing: everything the summary saw is passed over.
    CHECK(s.skip(0, 2000, {}).next == 1001);
    // dev/7/t is in every chunk up to 1000, not in the last: a read from 0 stops at 1000.
    CHECK(s.skip(0, 2000, {topic_summary::of_filter("dev/7/t")}).read_until == 1000);
}

TEST_CASE("topic summary: offsets it did not see are never passed over") {
    topic_summary s(10, 3);
    for (int i = 100; i < 110; ++i) s.add(i, topic_summary::of_topic("a"));
    // A gap (offsets 110..119 written by someone else), then more.
    for (int i = 120; i < 150; ++i) s.add(i, topic_summary::of_topic("a"));
    const std::vector<topic_summary::tokens> b{topic_summary::of_filter("b")};
    CHECK(s.chunks() == 3);  // at most 3: the first (100..109) was dropped
    CHECK(s.skip(0, 1000, b).next == 0);      // before every chunk
    CHECK(s.skip(105, 1000, b).next == 105);  // in the dropped chunk
    CHECK(s.skip(115, 1000, b).next == 115);  // in the gap
    CHECK(s.skip(120, 1000, b).next == 150);  // the kept chunks, up to the last record seen
    CHECK(s.skip(150, 1000, b).next == 150);  // past it: not seen yet
    // A record added out of order still lands in the chunk that covers it.
    s.add(125, topic_summary::of_topic("b"));
    CHECK(s.skip(120, 1000, b).next == 120);
    CHECK(s.skip(120, 1000, b).read_until == 130);  // the chunk after 120..129 cannot match
}

#include <catch2/catch.hpp>

#include "loadtest/mqtt/layout.hpp"
#include "loadtest/mqtt/topic_plan.hpp"

using sluice::bench::options;
using sluice::bench::topic_plan;

TEST_CASE("topic plan: fan-in to one wildcard subscriber expects one copy per message") {
    options o;
    o.publishers = 5;
    o.subscribers = 1;
    o.pub_topic = "dev/{i}/t";
    o.sub_topic = "dev/+/t";
    topic_plan p(o);
    CHECK(p.publisher_topic(3) == "dev/3/t");
    CHECK(p.subscriber_filter(0) == "dev/+/t");
    for (unsigned i = 0; i < 5; ++i) CHECK(p.receivers_of(i) == 1);
}

TEST_CASE("topic plan: fan-out counts every matching subscriber") {
    options o;
    o.publishers = 1;
    o.subscribers = 50;
    o.pub_topic = "news/all";
    o.sub_topic = "news/all";
    CHECK(topic_plan(o).receivers_of(0) == 50);
}

TEST_CASE("topic plan: point-to-point pairs match one subscriber each") {
    options o;
    o.publishers = 3;
    o.subscribers = 4;
    o.pub_topic = "p2p/{i}";
    o.sub_topic = "p2p/{i}";
    topic_plan p(o);
    CHECK(p.receivers_of(0) == 1);
    CHECK(p.receivers_of(2) == 1);
    CHECK(p.subscriber_unit(3) == 3);
}

TEST_CASE("topic plan: a $share group is one receiving unit") {
    options o;
    o.publishers = 2;
    o.subscribers = 6;
    o.share_groups = 2;
    o.pub_topic = "jobs/{i}";
    o.sub_topic = "jobs/#";
    topic_plan p(o);
    CHECK(p.subscriber_filter(0) == "$share/g0/jobs/#");
    CHECK(p.subscriber_filter(3) == "$share/g1/jobs/#");
    CHECK(p.subscriber_unit(0) == p.subscriber_unit(2));
    CHECK(p.subscriber_unit(0) != p.subscriber_unit(1));
    CHECK(p.receivers_of(0) == 2);  // one copy per group
}

TEST_CASE("topic plan: a topic no filter matches expects no deliveries") {
    options o;
    o.publishers = 2;
    o.subscribers = 1;
    o.pub_topic = "a/{i}";
    o.sub_topic = "a/0";
    topic_plan p(o);
    CHECK(p.receivers_of(0) == 1);
    CHECK(p.receivers_of(1) == 0);
}

TEST_CASE("layout: subscribers get worker 0 to themselves, publishers the others") {
    options o;
    o.publishers = 10;
    o.subscribers = 3;
    o.per_worker = 4;
    const unsigned w = sluice::bench::traffic_workers(o);
    REQUIRE(w == 4);  // 3 subscribers; 10 publishers over 3 workers of at most 4
    unsigned pubs = 0;
    for (unsigned i = 0; i < w; ++i) {
        const auto s = sluice::bench::traffic_share(o, w, i);
        CHECK(s.subscribers.size() == (i == 0 ? 3u : 0u));
        if (i == 0) CHECK(s.publishers.empty());
        CHECK(s.subscribers.size() + s.publishers.size() <= o.per_worker);
        pubs += static_cast<unsigned>(s.publishers.size());
    }
    CHECK(pubs == 10);
    o.subscribers = 7;
    CHECK(sluice::bench::traffic_workers(o) == 0);  // subscribers alone exceed one worker
}

TEST_CASE("layout: one forced worker runs everything, and publishers alone fill every worker") {
    options o;
    o.publishers = 5;
    o.subscribers = 2;
    o.workers = 1;
    const auto all = sluice::bench::traffic_share(o, 1, 0);
    CHECK(all.subscribers.size() == 2);
    CHECK(all.publishers.size() == 5);
    options p;
    p.publishers = 9;
    p.subscribers = 0;
    p.per_worker = 3;
    REQUIRE(sluice::bench::traffic_workers(p) == 3);
    for (unsigned i = 0; i < 3; ++i) CHECK(sluice::bench::traffic_share(p, 3, i).publishers.size() == 3);
}

TEST_CASE("layout: source addresses stay in 127.100.0.0/16 and cycle") {
    options o;
    o.source_ips = 300;
    CHECK(sluice::bench::source_address(o, 0).to_string() == "127.100.0.1");
    CHECK(sluice::bench::source_address(o, 251).to_string() == "127.100.1.2");
    CHECK(sluice::bench::source_address(o, 300).to_string() == "127.100.0.1");
}

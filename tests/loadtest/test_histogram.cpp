#include <catch2/catch.hpp>

#include <cstdint>
#include <random>
#include <vector>

#include "loadtest/mqtt/histogram.hpp"

using sluice::bench::histogram;

TEST_CASE("histogram: values below 2048 us are counted exactly") {
    histogram h;
    for (std::uint64_t v = 1; v <= 1000; ++v) h.record(v);
    CHECK(h.count() == 1000);
    CHECK(h.min() == 1);
    CHECK(h.max() == 1000);
    CHECK(h.value_at_percentile(50) == 500);
    CHECK(h.value_at_percentile(90) == 900);
    CHECK(h.value_at_percentile(99) == 990);
    CHECK(h.value_at_percentile(99.9) == 999);
    CHECK(h.value_at_percentile(100) == 1000);
    CHECK(h.mean() == Approx(500.5));
}

TEST_CASE("histogram: every bucket holds a range within 0.1% of its values") {
    std::mt19937_64 rng(42);
    for (int i = 0; i < 200000; ++i) {
        const std::uint64_t v = rng() % histogram::max_trackable;
        const auto b = histogram::bucket_of(v);
        REQUIRE(b < histogram::bucket_count());
        const auto lo = histogram::lowest_in(b);
        const auto hi = histogram::highest_in(b);
        REQUIRE(lo <= v);
        REQUIRE(v <= hi);
        REQUIRE(hi - lo + 1 <= std::max<std::uint64_t>(1, v / 1024));
    }
    // Buckets tile the value range without gaps or overlaps.
    for (std::size_t b = 1; b < histogram::bucket_count(); ++b)
        REQUIRE(histogram::lowest_in(b) == histogram::highest_in(b - 1) + 1);
    CHECK(histogram::highest_in(histogram::bucket_count() - 1) == histogram::max_trackable);
}

TEST_CASE("histogram: large values report their bucket's top, capped at the max recorded") {
    histogram h;
    h.record(1'000'000);
    h.record(1'000'000);
    h.record(2'000'000);
    const auto p50 = h.value_at_percentile(50);
    CHECK(p50 >= 1'000'000);
    CHECK(p50 <= 1'001'000);
    CHECK(h.value_at_percentile(100) == 2'000'000);
    CHECK(h.max() == 2'000'000);
}

TEST_CASE("histogram: values beyond the trackable range are clamped, not lost") {
    histogram h;
    h.record(~std::uint64_t{0});
    CHECK(h.count() == 1);
    CHECK(h.max() == histogram::max_trackable);
}

TEST_CASE("histogram: an empty histogram reports zeros") {
    histogram h;
    CHECK(h.count() == 0);
    CHECK(h.value_at_percentile(99) == 0);
    CHECK(h.min() == 0);
    CHECK(h.max() == 0);
    CHECK(h.mean() == 0);
}

TEST_CASE("histogram: merging equals recording everything in one") {
    std::mt19937_64 rng(7);
    histogram all, a, b;
    for (int i = 0; i < 10000; ++i) {
        const std::uint64_t v = rng() % 5'000'000;
        all.record(v);
        (i % 3 ? a : b).record(v);
    }
    a.merge(b);
    CHECK(a.count() == all.count());
    CHECK(a.min() == all.min());
    CHECK(a.max() == all.max());
    for (double p : {0.0, 50.0, 90.0, 99.0, 99.9, 100.0})
        CHECK(a.value_at_percentile(p) == all.value_at_percentile(p));
}

TEST_CASE("histogram: survives the JSON trip between processes") {
    histogram h;
    for (std::uint64_t v : {3u, 3u, 70u, 5000u, 123456u}) h.record(v);
    histogram back;
    REQUIRE(back.from_json(nlohmann::json::parse(h.to_json().dump())));
    CHECK(back.count() == 5);
    CHECK(back.min() == 3);
    CHECK(back.max() == 123456);
    CHECK(back.value_at_percentile(50) == h.value_at_percentile(50));
    CHECK(back.mean() == Approx(h.mean()));
}

TEST_CASE("histogram: malformed JSON is rejected and leaves the histogram unchanged") {
    histogram h;
    h.record(10);
    CHECK_FALSE(h.from_json(nlohmann::json::parse(R"({"buckets": [[99999999, 1]], "min": 1, "max": 1, "sum": 1})")));
    CHECK_FALSE(h.from_json(nlohmann::json::parse(R"({"buckets": [[1]], "min": 1, "max": 1, "sum": 1})")));
    CHECK_FALSE(h.from_json(nlohmann::json::parse(R"({"buckets": [["a", 1]]})")));
    CHECK_FALSE(h.from_json(nlohmann::json::parse(R"([1, 2])")));
    CHECK(h.count() == 1);
    CHECK(h.max() == 10);
}

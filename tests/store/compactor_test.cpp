#include <catch2/catch.hpp>

#include <map>
#include <thread>

#include "store/compactor.hpp"
#include "store/partition.hpp"
#include "tests/store/test_util.hpp"

using namespace sluice::store;
using namespace sluice::store::test;

namespace {

log_config compacted() {
    log_config c;
    c.segment_bytes = 2048;
    c.cleanup = cleanup_policy::compact;
    c.delete_retention_ms = 1000;
    return c;
}

}  // namespace

TEST_CASE("compaction: keeps the latest value per key and the offsets of what it keeps") {
    temp_dir dir;
    std::int64_t now = 100'000;
    writer_pool pool(1);
    errc e = errc::ok;
    auto p = partition::open(dir.path(), compacted(), pool, fixed_clock(&now), e);
    REQUIRE(p);
    // 20 keys written 10 times each; key i's last value is "i-9". Key 3 is deleted at the end
    // with an old tombstone, key 4 with a recent one.
    std::map<std::string, std::int64_t> last_offset;
    for (int round = 0; round < 10; ++round)
        for (int k = 0; k < 20; ++k) {
            auto r = p->append(make_keyed({{"key" + std::to_string(k),
                                            std::to_string(k) + "-" + std::to_string(round)}},
                                          now))
                         .get();
            REQUIRE(r.error == errc::ok);
            last_offset["key" + std::to_string(k)] = r.base_offset.value;
        }
    auto t3 = p->append(make_keyed({{"key3", std::nullopt}}, now - 5000)).get();
    auto t4 = p->append(make_keyed({{"key4", std::nullopt}}, now)).get();
    // Enough filler to close the segments holding the tombstones.
    for (int i = 0; i < 40; ++i) p->append(make_keyed({{"filler", std::to_string(i)}}, now)).get();
    auto end = p->log_end_offset();
    REQUIRE(p->segments().size() > 3);

    errc ce = errc::ok;
    std::size_t removed = p->compact(now, ce);
    REQUIRE(ce == errc::ok);
    CHECK(removed > 180);
    CHECK(p->log_end_offset() == end);

    std::vector<record> all;
    REQUIRE(p->for_each_record(offset{0}, [&](const record& r) {
        all.push_back(r);
        return true;
    }) == errc::ok);
    std::map<std::string, std::vector<record>> by_key;
    for (auto& r : all) by_key[*r.key].push_back(r);
    for (int k = 0; k < 20; ++k) {
        std::string key = "key" + std::to_string(k);
        if (k == 3) {
            CHECK(by_key.count(key) == 0);  // old tombstone gone with everything before it
            continue;
        }
        if (k == 4) {
            REQUIRE(by_key[key].size() == 1);  // recent tombstone kept
            CHECK(by_key[key][0].offset == t4.base_offset.value);
            CHECK_FALSE(by_key[key][0].value);
            continue;
        }
        REQUIRE(by_key[key].size() == 1);
        CHECK(by_key[key][0].offset == last_offset[key]);
        CHECK(by_key[key][0].value == std::optional<std::string>(std::to_string(k) + "-9"));
    }
    (void)t3;
    // Offsets still increase, and the log reopens cleanly.
    for (std::size_t i = 1; i < all.size(); ++i) CHECK(all[i].offset > all[i - 1].offset);
    REQUIRE(p->close() == errc::ok);
    p.reset();
    auto again = partition::open(dir.path(), compacted(), pool, fixed_clock(&now), e);
    REQUIRE(again);
    CHECK(again->log_end_offset() == end);
    CHECK(again->recovery().problems.empty());
    again->close();
}

TEST_CASE("compaction: appends keep completing while it runs") {
    temp_dir dir;
    std::int64_t now = 100'000;
    writer_pool pool(1);
    errc e = errc::ok;
    auto p = partition::open(dir.path(), compacted(), pool, fixed_clock(&now), e);
    REQUIRE(p);
    auto key = [](std::int64_t i) {
        std::string k = "k";
        k += std::to_string(i % 7);
        return k;
    };
    for (int i = 0; i < 300; ++i)
        p->append(make_keyed({{key(i), std::string(50, 'x')}}, now)).get();
    std::atomic<bool> done{false};
    std::atomic<int> failures{0};  // Catch2 assertions are for the test's own thread only
    std::thread compactor([&] {
        for (int i = 0; i < 5; ++i) {
            errc ce = errc::ok;
            p->compact(now, ce);
            if (ce != errc::ok) ++failures;
        }
        done = true;
    });
    std::int64_t appended = 0;
    while (!done || appended < 50) {
        auto r = p->append(make_keyed({{key(appended), "new"}}, now)).get();
        REQUIRE(r.error == errc::ok);
        ++appended;
    }
    compactor.join();
    CHECK(failures == 0);
    CHECK(p->log_end_offset() == offset{300 + appended});
    p->close();
}

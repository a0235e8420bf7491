#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "store/store.hpp"
#include "tests/store/test_util.hpp"

using namespace sluice::store;
using namespace sluice::store::test;

TEST_CASE("store: topics with partitions persist with their config") {
    temp_dir dir;
    std::vector<std::string> logged;
    store_options opts;
    opts.data_dir = dir.path();
    opts.maintenance_interval_ms = 0;
    opts.log = [&](const std::string& s) { logged.push_back(s); };
    {
        errc e = errc::ok;
        auto s = store::open(opts, e);
        REQUIRE(s);
        log_config c;
        c.flush = durability::interval;
        c.retention_bytes = 12345;
        CHECK(s->create_topic("events", 3, c) == errc::ok);
        CHECK(s->create_topic("events", 3, c) == errc::topic_exists);
        CHECK(s->create_topic("../escape", 1, c) == errc::invalid_argument);
        CHECK(s->create_topic("zero", 0, c) == errc::invalid_argument);
        CHECK(s->partition_count("events") == 3);
        CHECK_FALSE(s->get("events", 3));
        CHECK_FALSE(s->get("nope", 0));
        for (int i = 0; i < 3; ++i)
            CHECK(s->get("events", i)->append(make_batch(i + 1, "x")).get().error == errc::ok);
        CHECK(s->close() == errc::ok);
    }
    std::filesystem::create_directory(dir / "stray-folder");
    errc e = errc::ok;
    auto s = store::open(opts, e);
    REQUIRE(s);
    CHECK(s->topics() == std::vector<std::string>{"events"});
    auto c = s->topic_config("events");
    REQUIRE(c);
    CHECK(c->flush == durability::interval);
    CHECK(c->retention_bytes == 12345);
    for (int i = 0; i < 3; ++i) CHECK(s->get("events", i)->log_end_offset() == offset{i + 1});
    bool reported = false;
    for (const auto& line : logged) reported |= line.find("stray-folder") != std::string::npos;
    CHECK(reported);
}

TEST_CASE("store: maintenance applies retention and compaction per topic") {
    temp_dir dir;
    std::int64_t now = 1'000'000;
    store_options opts;
    opts.data_dir = dir.path();
    opts.maintenance_interval_ms = 0;
    opts.clock = fixed_clock(&now);
    opts.log = [](const std::string&) {};
    errc e = errc::ok;
    auto s = store::open(opts, e);
    REQUIRE(s);
    log_config del;
    del.segment_bytes = 2048;
    del.retention_bytes = 0;
    log_config compact = del;
    compact.cleanup = cleanup_policy::compact;
    REQUIRE(s->create_topic("logs", 1, del) == errc::ok);
    REQUIRE(s->create_topic("state", 1, compact) == errc::ok);
    for (int i = 0; i < 100; ++i) {
        s->get("logs", 0)->append(make_batch(2, std::to_string(i))).get();
        s->get("state", 0)->append(make_keyed({{"same-key", std::to_string(i)}}, now)).get();
    }
    auto stats = s->run_maintenance(now);
    CHECK(stats.segments_deleted > 0);
    CHECK(stats.records_compacted > 0);
    CHECK(stats.errors == 0);
    CHECK(s->get("logs", 0)->segments().size() == 1);
    CHECK(s->get("state", 0)->log_start_offset() == offset{0});
}

TEST_CASE("store: unknown topic config and unknown store format are refused") {
    temp_dir dir;
    {
        std::ofstream out(dir / "store.format");
        out << "sluice-store-format 7\n";
    }
    store_options opts;
    opts.data_dir = dir.path();
    opts.log = [](const std::string&) {};
    errc e = errc::ok;
    CHECK_FALSE(store::open(opts, e));
    CHECK(e == errc::invalid_argument);
    CHECK_FALSE(parse_log_config("sluice-topic-config 2\n"));
    CHECK_FALSE(parse_log_config("sluice-topic-config 1\nflush sometimes\n"));
    CHECK_FALSE(parse_log_config("sluice-topic-config 1\nsegment_bytes lots\n"));
    auto c = parse_log_config(serialize(log_config{}));
    REQUIRE(c);
    CHECK(c->segment_bytes == log_config{}.segment_bytes);
}

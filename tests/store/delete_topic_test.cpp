#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "store/file_util.hpp"
#include "store/store.hpp"
#include "tests/store/test_util.hpp"

using namespace sluice::store;
using namespace sluice::store::test;

namespace {

store_options quiet_options(const temp_dir& dir, std::vector<std::string>* logged = nullptr) {
    store_options opts;
    opts.data_dir = dir.path();
    opts.maintenance_interval_ms = 0;
    opts.log = [logged](const std::string& s) {
        if (logged) logged->push_back(s);
    };
    return opts;
}

// Every entry of the data folder whose name ends in ".deleted".
std::vector<std::string> deleted_leftovers(const temp_dir& dir) {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
        auto name = e.path().filename().string();
        if (name.size() > 8 && name.substr(name.size() - 8) == ".deleted") out.push_back(name);
    }
    return out;
}

}  // namespace

TEST_CASE("store: a deleted topic is gone from memory and disk, also after a restart") {
    temp_dir dir;
    auto opts = quiet_options(dir);
    {
        errc e = errc::ok;
        auto s = store::open(opts, e);
        REQUIRE(s);
        REQUIRE(s->create_topic("events", 2, log_config{}) == errc::ok);
        REQUIRE(s->create_topic("kept", 1, log_config{}) == errc::ok);
        for (int i = 0; i < 2; ++i)
            REQUIRE(s->get("events", i)->append(make_batch(3, "x")).get().error == errc::ok);
        CHECK(s->delete_topic("events") == errc::ok);
        CHECK(s->partition_count("events") == 0);
        CHECK_FALSE(s->get("events", 0));
        CHECK_FALSE(s->topic_config("events"));
        CHECK(s->topics() == std::vector<std::string>{"kept"});
        CHECK_FALSE(std::filesystem::exists(dir / "events"));
        CHECK(deleted_leftovers(dir).empty());
        CHECK(s->delete_topic("events") == errc::unknown_topic);
        CHECK(s->delete_topic("never") == errc::unknown_topic);
        CHECK(s->close() == errc::ok);
        CHECK(s->delete_topic("kept") == errc::closed);
    }
    errc e = errc::ok;
    auto s = store::open(opts, e);
    REQUIRE(s);
    CHECK(s->topics() == std::vector<std::string>{"kept"});
}

TEST_CASE("store: a topic created again after its deletion starts empty at offset 0") {
    temp_dir dir;
    auto opts = quiet_options(dir);
    errc e = errc::ok;
    auto s = store::open(opts, e);
    REQUIRE(s);
    log_config compact;
    compact.cleanup = cleanup_policy::compact;
    REQUIRE(s->create_topic("events", 3, compact) == errc::ok);
    REQUIRE(s->get("events", 0)->append(make_batch(5, "old")).get().error == errc::ok);
    REQUIRE(s->delete_topic("events") == errc::ok);

    REQUIRE(s->create_topic("events", 1, log_config{}) == errc::ok);
    CHECK(s->partition_count("events") == 1);
    CHECK(s->topic_config("events")->cleanup == cleanup_policy::remove);
    auto p = s->get("events", 0);
    CHECK(p->log_start_offset() == offset{0});
    CHECK(p->log_end_offset() == offset{0});
    auto r = p->append(make_batch(2, "new")).get();
    CHECK(r.error == errc::ok);
    CHECK(r.base_offset == offset{0});
    REQUIRE(s->close() == errc::ok);

    // The recreated topic survives a restart as itself, without the old data.
    s = store::open(opts, e);
    REQUIRE(s);
    CHECK(s->partition_count("events") == 1);
    CHECK(s->get("events", 0)->log_end_offset() == offset{2});
}

TEST_CASE("store: readers holding a deleted topic's partition finish their reads") {
    temp_dir dir;
    auto opts = quiet_options(dir);
    errc e = errc::ok;
    auto s = store::open(opts, e);
    REQUIRE(s);
    REQUIRE(s->create_topic("events", 1, log_config{}) == errc::ok);
    auto p = s->get("events", 0);
    REQUIRE(p->append(make_batch(4, "x")).get().error == errc::ok);
    // A Fetch took its file ranges (to sendfile them) before the deletion.
    auto ranges = p->read(offset{0}, 1 << 20);
    REQUIRE(ranges.error == errc::ok);
    REQUIRE(ranges.bytes > 0);

    REQUIRE(s->delete_topic("events") == errc::ok);
    CHECK_FALSE(std::filesystem::exists(dir / "events"));

    // The ranges still name open files with the bytes they had.
    std::uint64_t read = 0;
    for (const auto& fr : ranges.ranges) {
        std::vector<char> buf(fr.length);
        auto n = pread_full(fr.fd(), buf.data(), buf.size(), static_cast<off_t>(fr.position));
        CHECK(n == static_cast<ssize_t>(fr.length));
        read += static_cast<std::uint64_t>(n);
    }
    CHECK(read == ranges.bytes);
    // A reader that holds the partition itself can still read what was committed...
    byte_buffer copy;
    offset next{0};
    CHECK(p->read_copy(offset{0}, 1 << 20, copy, next) == errc::ok);
    CHECK(next == offset{4});
    // ...but nothing more is appended to a deleted topic.
    CHECK(p->append(make_batch(1, "late")).get().error == errc::closed);
}

TEST_CASE("store: a deletion interrupted between rename and removal is finished at open") {
    temp_dir dir;
    std::vector<std::string> logged;
    auto opts = quiet_options(dir, &logged);
    {
        errc e = errc::ok;
        auto s = store::open(opts, e);
        REQUIRE(s);
        REQUIRE(s->create_topic("events", 2, log_config{}) == errc::ok);
        REQUIRE(s->create_topic("kept", 1, log_config{}) == errc::ok);
        REQUIRE(s->get("events", 1)->append(make_batch(3, "x")).get().error == errc::ok);
        REQUIRE(s->close() == errc::ok);
    }
    // What a crash right after delete_topic's durable rename leaves behind.
    const std::string renamed = store::deleted_dir_name("events", 1);
    REQUIRE(std::rename((dir / "events").c_str(), (dir / renamed).c_str()) == 0);
    REQUIRE(fsync_dir(dir.path()));

    errc e = errc::ok;
    auto s = store::open(opts, e);
    REQUIRE(s);
    CHECK(s->topics() == std::vector<std::string>{"kept"});
    CHECK_FALSE(std::filesystem::exists(dir / renamed));
    CHECK(deleted_leftovers(dir).empty());
    bool reported = false;
    for (const auto& line : logged) reported |= line.find(renamed) != std::string::npos;
    CHECK(reported);
    // The name is free again.
    REQUIRE(s->create_topic("events", 1, log_config{}) == errc::ok);
    CHECK(s->get("events", 0)->log_end_offset() == offset{0});
}

TEST_CASE("store: a topic whose own name ends in .deleted is a topic like any other") {
    temp_dir dir;
    auto opts = quiet_options(dir);
    {
        errc e = errc::ok;
        auto s = store::open(opts, e);
        REQUIRE(s);
        REQUIRE(s->create_topic("old.deleted", 1, log_config{}) == errc::ok);
        REQUIRE(s->get("old.deleted", 0)->append(make_batch(1, "x")).get().error == errc::ok);
        REQUIRE(s->close() == errc::ok);
    }
    CHECK_FALSE(store::valid_topic_name(store::deleted_dir_name("events", 1)));
    errc e = errc::ok;
    auto s = store::open(opts, e);
    REQUIRE(s);
    CHECK(s->partition_count("old.deleted") == 1);
    CHECK(s->get("old.deleted", 0)->log_end_offset() == offset{1});
}

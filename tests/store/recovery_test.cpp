#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "store/file_util.hpp"
#include "tests/store/test_util.hpp"

using namespace sluice::store;
using namespace sluice::store::test;
namespace fs = std::filesystem;

namespace {

log_config small_segments() {
    log_config c;
    c.segment_bytes = 2048;
    c.index_interval_bytes = 256;
    return c;
}

std::unique_ptr<partition_log> open_log(const std::string& dir, std::int64_t* now,
                                        const log_config& c = small_segments()) {
    errc e = errc::ok;
    auto log = partition_log::open(dir, c, fixed_clock(now), e);
    REQUIRE(e == errc::ok);
    REQUIRE(log);
    return log;
}

// Writes n batches of 3 records: batch i holds values "v<i>-0..2".
void fill(partition_log& log, int n) {
    for (int i = 0; i < n; ++i)
        REQUIRE(append_now(log, make_batch(3, std::to_string(i))).error == errc::ok);
}

void check_prefix(const partition_log& log, std::int64_t end) {
    auto records = read_all(log);
    REQUIRE(static_cast<std::int64_t>(records.size()) == end);
    for (std::int64_t o = 0; o < end; ++o) {
        CHECK(records[static_cast<std::size_t>(o)].offset == o);
        CHECK(
            records[static_cast<std::size_t>(o)].value ==
            std::optional<std::string>("v" + std::to_string(o / 3) + "-" + std::to_string(o % 3)));
    }
}

void truncate_file(const std::string& path, std::uint64_t size) {
    REQUIRE(::truncate(path.c_str(), static_cast<off_t>(size)) == 0);
}

void flip_bit(const std::string& path, std::uint64_t at) {
    unique_fd fd(::open(path.c_str(), O_RDWR));
    REQUIRE(fd);
    std::uint8_t b = 0;
    REQUIRE(pread_full(fd.get(), &b, 1, static_cast<off_t>(at)) == 1);
    b ^= 0x04;
    REQUIRE(pwrite_all(fd.get(), &b, 1, static_cast<off_t>(at)));
}

std::string last_log(const partition_log& log) {
    return log.segments().back()->log_path();
}

}  // namespace

TEST_CASE("recovery: clean shutdown reopens without a CRC scan, same data") {
    temp_dir dir;
    std::int64_t now = 0;
    {
        auto log = open_log(dir.path(), &now);
        fill(*log, 100);
        REQUIRE(log->close_clean() == errc::ok);
        CHECK(fs::exists(dir / "clean-shutdown"));
    }
    auto log = open_log(dir.path(), &now);
    CHECK(log->recovery().clean_start);
    CHECK(log->recovery().segments_checked == 0);
    CHECK(log->recovery().problems.empty());
    CHECK_FALSE(fs::exists(dir / "clean-shutdown"));  // a crash from now on must be noticed
    CHECK(log->log_end_offset() == offset{300});
    check_prefix(*log, 300);
    CHECK(append_now(*log, make_batch(3, "100")).base_offset == offset{300});
    check_prefix(*log, 303);
}

TEST_CASE("recovery: after a crash the segments after the recovery point are CRC-checked") {
    temp_dir dir;
    std::int64_t now = 0;
    {
        auto log = open_log(dir.path(), &now);
        fill(*log, 100);
        // No close: as if the process died.
    }
    auto log = open_log(dir.path(), &now);
    CHECK_FALSE(log->recovery().clean_start);
    CHECK(log->recovery().segments_checked >= 1);
    CHECK(log->recovery().segments_checked < log->segments().size());  // closed ones were synced
    CHECK(log->recovery().bytes_truncated == 0);
    CHECK(log->log_end_offset() == offset{300});
    check_prefix(*log, 300);
}

TEST_CASE("recovery: a torn last batch is cut off, the rest served") {
    temp_dir dir;
    std::int64_t now = 0;
    std::string path;
    std::uint64_t size = 0;
    {
        auto log = open_log(dir.path(), &now);
        fill(*log, 30);
        path = last_log(*log);
        size = log->segments().back()->size();
    }
    truncate_file(path, size - 5);  // the last batch loses its tail
    auto log = open_log(dir.path(), &now);
    CHECK(log->recovery().bytes_truncated > 0);
    CHECK(log->log_end_offset() == offset{87});
    check_prefix(*log, 87);
    CHECK(fs::file_size(path) < size - 5);
    CHECK(append_now(*log, make_batch(3, "29")).base_offset == offset{87});
    check_prefix(*log, 90);
}

TEST_CASE("recovery: garbage after the last batch is cut off") {
    temp_dir dir;
    std::int64_t now = 0;
    std::string path;
    {
        auto log = open_log(dir.path(), &now);
        fill(*log, 10);
        path = last_log(*log);
    }
    {
        std::ofstream out(path, std::ios::app | std::ios::binary);
        out << std::string("\0\0\0\0\0\0\0\x1e\0\0\0\x40garbage that is not a batch", 38);
    }
    auto log = open_log(dir.path(), &now);
    CHECK(log->recovery().bytes_truncated == 38);
    check_prefix(*log, 30);
}

TEST_CASE("recovery: a flipped bit truncates at that batch and drops later segments") {
    temp_dir dir;
    std::int64_t now = 0;
    std::string victim;
    std::int64_t victim_base = 0;
    {
        auto log = open_log(dir.path(), &now);
        fill(*log, 100);
        auto segs = log->segments();
        REQUIRE(segs.size() >= 4);
        victim = segs[1]->log_path();
        victim_base = segs[1]->base_offset().value;
        REQUIRE(log->close_clean() == errc::ok);
    }
    // Damage the third batch of the second segment, and make the next open a crash recovery
    // from the start (as after a crash with a stale recovery point).
    // Position of the third batch, measured in the file.
    auto third = [&] {
        byte_buffer head(61);
        unique_fd fd(::open(victim.c_str(), O_RDONLY));
        std::uint64_t pos = 0;
        for (int i = 0; i < 2; ++i) {
            REQUIRE(pread_full(fd.get(), head.data(), 61, static_cast<off_t>(pos)) == 61);
            pos += parse_batch_header(head.data(), 61)->size_bytes();
        }
        return pos;
    }();
    flip_bit(victim, third + 70);
    fs::remove(dir / "clean-shutdown");
    REQUIRE(write_file_atomic(dir / "recovery-checkpoint",
                              "sluice-checkpoint 1\nrecovery_point 0\nlog_start 0\n"));

    auto log = open_log(dir.path(), &now);
    CHECK(log->recovery().bytes_truncated > 0);
    CHECK(log->recovery().segments_deleted >= 2);
    std::int64_t end = victim_base + 6;
    CHECK(log->log_end_offset() == offset{end});
    check_prefix(*log, end);
    CHECK(log->segments().back()->log_path() == victim);
    CHECK(append_now(*log, make_batch(1, "n")).base_offset == offset{end});
}

TEST_CASE("recovery: a flipped bit in an old segment after a clean stop is never served") {
    temp_dir dir;
    std::int64_t now = 0;
    std::string victim;
    {
        auto log = open_log(dir.path(), &now);
        fill(*log, 100);
        victim = log->segments()[0]->log_path();
        REQUIRE(log->close_clean() == errc::ok);
    }
    flip_bit(victim, 75);  // inside the first batch's records
    auto log = open_log(dir.path(), &now);
    byte_buffer bytes;
    offset next;
    CHECK(log->read_copy(offset{0}, 1 << 20, bytes, next) == errc::corrupt_message);
    CHECK(bytes.empty());
}

TEST_CASE("recovery: missing or garbage indexes are rebuilt, foreign files reported") {
    temp_dir dir;
    std::int64_t now = 0;
    std::vector<std::string> bases;
    {
        auto log = open_log(dir.path(), &now);
        fill(*log, 100);
        for (const auto& s : log->segments())
            bases.push_back(segment_file_name(s->base_offset(), ""));
        REQUIRE(log->close_clean() == errc::ok);
    }
    REQUIRE(bases.size() >= 3);
    fs::remove(dir / (bases[0] + ".index"));
    {
        std::ofstream out(dir / (bases[1] + ".index"), std::ios::binary | std::ios::trunc);
        out << "this is not an index at all, just some bytes";
    }
    {
        std::ofstream out(dir / (bases[2] + ".timeindex"), std::ios::binary | std::ios::trunc);
        out << std::string(16 + 24, '\xff');
    }
    {
        std::ofstream out(dir / "notes.txt");
        out << "left here by someone";
    }
    {
        std::ofstream out(dir / "00000000000000099999.index");
        out << "orphan";
    }
    auto log = open_log(dir.path(), &now);
    const auto& problems = log->recovery().problems;
    auto mentions = [&](const std::string& s) {
        for (const auto& p : problems)
            if (p.find(s) != std::string::npos) return true;
        return false;
    };
    CHECK(mentions("notes.txt"));
    CHECK(mentions(bases[0]));
    CHECK(mentions(bases[1]));
    CHECK(mentions(bases[2]));
    CHECK(mentions("00000000000000099999.index"));
    CHECK(fs::exists(dir / "notes.txt"));  // reported, not deleted
    CHECK_FALSE(fs::exists(dir / "00000000000000099999.index"));
    CHECK(fs::file_size(dir / (bases[0] + ".index")) > 16);
    check_prefix(*log, 300);
    for (std::int64_t o = 0; o < 300; o += 11) {
        auto r = log->read(offset{o}, 1);
        REQUIRE(r.ranges.size() == 1);
        CHECK(r.next_offset.value > o);
    }
    CHECK(log->offset_for_timestamp(1001) == offset{1});
}

TEST_CASE("recovery: a truncated segment with a clean-shutdown marker still recovers") {
    temp_dir dir;
    std::int64_t now = 0;
    std::string path;
    std::uint64_t size = 0;
    {
        auto log = open_log(dir.path(), &now);
        fill(*log, 30);
        path = last_log(*log);
        size = log->segments().back()->size();
        REQUIRE(log->close_clean() == errc::ok);
    }
    truncate_file(path, size - 20);
    auto log = open_log(dir.path(), &now);
    CHECK(log->log_end_offset() == offset{87});
    check_prefix(*log, 87);
}

TEST_CASE("recovery: bad checkpoint files are repaired") {
    temp_dir dir;
    std::int64_t now = 0;
    {
        auto log = open_log(dir.path(), &now);
        fill(*log, 20);
        REQUIRE(log->close_clean() == errc::ok);
    }
    REQUIRE(write_file_atomic(dir / "recovery-checkpoint", "nonsense"));
    REQUIRE(write_file_atomic(dir / "leader-epoch-checkpoint", "0\n5\n1 2"));
    REQUIRE(write_file_atomic(dir / "producer.snapshot", "\x01\x02garbage"));
    auto log = open_log(dir.path(), &now);
    CHECK_FALSE(log->recovery().clean_start);
    CHECK(log->recovery().problems.size() >= 3);
    check_prefix(*log, 60);
    CHECK(log->epochs().entries() == std::vector<epoch_entry>{{0, 0}});
}

TEST_CASE("recovery: an unknown partition format is refused, not guessed") {
    temp_dir dir;
    REQUIRE(write_file_atomic(dir / "partition.format", "sluice-partition-format 99\n"));
    std::int64_t now = 0;
    errc e = errc::ok;
    auto log = partition_log::open(dir.path(), log_config{}, fixed_clock(&now), e);
    CHECK_FALSE(log);
    CHECK(e == errc::invalid_argument);
}

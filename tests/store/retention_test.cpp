#include <catch2/catch.hpp>

#include <fcntl.h>

#include <filesystem>

#include "store/file_util.hpp"
#include "tests/store/test_util.hpp"

using namespace sluice::store;
using namespace sluice::store::test;

namespace {

std::unique_ptr<partition_log> open_log(const std::string& dir, const log_config& c,
                                        std::int64_t* now) {
    errc e = errc::ok;
    auto log = partition_log::open(dir, c, fixed_clock(now), e);
    REQUIRE(log);
    return log;
}

}  // namespace

TEST_CASE("retention: by size deletes whole segments, oldest first, and moves the log start") {
    temp_dir dir;
    std::int64_t now = 0;
    log_config cfg;
    cfg.segment_bytes = 4096;
    cfg.retention_ms = -1;
    cfg.retention_bytes = 10000;
    auto log = open_log(dir.path(), cfg, &now);
    for (int i = 0; i < 200; ++i) append_now(*log, make_batch(3, std::to_string(i)));
    auto before = log->segments();
    REQUIRE(before.size() > 5);
    auto deleted = log->enforce_retention(now);
    auto after = log->segments();
    CHECK(deleted == before.size() - after.size());
    CHECK(deleted > 0);
    std::uint64_t total = 0;
    for (const auto& s : after) total += s->size();
    CHECK(total >= 10000);
    CHECK(total - after.front()->size() < 10000);  // one more deletion would go below
    CHECK(after.front()->base_offset() == before[deleted]->base_offset());
    CHECK(log->log_start_offset() == after.front()->base_offset());
    CHECK_FALSE(std::filesystem::exists(before[0]->log_path()));
    CHECK(log->read(offset{0}, 100).error == errc::offset_out_of_range);
    auto records = read_all(*log, log->log_start_offset());
    CHECK(records.front().offset == log->log_start_offset().value);
    CHECK(records.back().offset == 599);

    // The log start survives a restart.
    REQUIRE(log->close_clean() == errc::ok);
    log.reset();
    auto reopened = open_log(dir.path(), cfg, &now);
    CHECK(reopened->log_start_offset() == after.front()->base_offset());
}

TEST_CASE("retention: by age uses each segment's largest timestamp and never the active segment") {
    temp_dir dir;
    std::int64_t now = 0;
    log_config cfg;
    cfg.segment_bytes = 2048;
    cfg.retention_ms = 1000;
    auto log = open_log(dir.path(), cfg, &now);
    for (int i = 0; i < 100; ++i) append_now(*log, make_batch(3, std::to_string(i), 10 * i));
    auto segs = log->segments();
    REQUIRE(segs.size() > 3);
    // Everything up to the second segment is older than now - 1000.
    std::int64_t now_ms = segs[1]->max_timestamp() + 1001;
    CHECK(log->enforce_retention(now_ms) == 2);
    CHECK(log->log_start_offset() == segs[2]->base_offset());
    // Far in the future: all but the active segment go.
    log->enforce_retention(1'000'000'000);
    CHECK(log->segments().size() == 1);
    CHECK(log->segments().front() == segs.back());
}

TEST_CASE("retention: a file range stays readable after its segment is deleted") {
    temp_dir dir;
    std::int64_t now = 0;
    log_config cfg;
    cfg.segment_bytes = 4096;
    cfg.retention_bytes = 0;
    auto log = open_log(dir.path(), cfg, &now);
    for (int i = 0; i < 100; ++i) append_now(*log, make_batch(3, std::to_string(i)));
    auto r = log->read(offset{0}, 1000);
    REQUIRE(r.ranges.size() == 1);
    byte_buffer before(r.ranges[0].length);
    REQUIRE(pread_full(r.ranges[0].fd(), before.data(), before.size(),
                       static_cast<off_t>(r.ranges[0].position)) ==
            static_cast<ssize_t>(before.size()));
    REQUIRE(log->enforce_retention(now) > 0);
    CHECK_FALSE(std::filesystem::exists(r.ranges[0].file->log_path()));
    byte_buffer after(r.ranges[0].length);
    REQUIRE(pread_full(r.ranges[0].fd(), after.data(), after.size(),
                       static_cast<off_t>(r.ranges[0].position)) ==
            static_cast<ssize_t>(after.size()));
    CHECK(after == before);
    CHECK(validate_batch(byte_span(after).first(
              parse_batch_header(after.data(), after.size())->size_bytes())) == errc::ok);
}

// Zeros written ahead of the active segment's end under `always` (segment::zero_ahead): the
// segment still ends at its last batch for readers, a roll and a clean close cut the zeros,
// and recovery after a crash cuts them without calling it damage, while a torn batch before
// them is still found and cut.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <filesystem>

#include "store/file_util.hpp"
#include "store/partition.hpp"
#include "tests/store/test_util.hpp"

using namespace sluice::store;
using namespace sluice::store::test;
namespace fs = std::filesystem;

namespace {

// The store keeps no zeros ahead on tmpfs or ramfs (partition_log::zero_ahead).
bool memory_fs(const std::string& dir) {
    struct statfs sf;
    return ::statfs(dir.c_str(), &sf) == 0 && (sf.f_type == 0x01021994 || sf.f_type == 0x858458f6);
}
#define SKIP_ON_MEMORY_FS(dir)                                       \
    if (memory_fs(dir.path())) {                                     \
        WARN("TMPDIR is on tmpfs or ramfs: no zeroed tail to test"); \
        return;                                                      \
    }

// n batches of 2 records, each written, synced and zeroed ahead as the partition's writer does.
void fill_synced(partition_log& log, int n, int first = 0) {
    for (int i = first; i < first + n; ++i) {
        REQUIRE(append_now(log, make_batch(2, std::to_string(i))).error == errc::ok);
        REQUIRE(log.sync() == errc::ok);
        log.zero_ahead();
    }
}

void check_values(const partition_log& log, int batches) {
    auto records = read_all(log);
    REQUIRE(records.size() == static_cast<std::size_t>(batches) * 2);
    for (std::size_t o = 0; o < records.size(); ++o) {
        CHECK(records[o].offset == static_cast<std::int64_t>(o));
        CHECK(records[o].value == std::optional<std::string>("v" + std::to_string(o / 2) + "-" +
                                                             std::to_string(o % 2)));
    }
}

// A partition log's folder, clock and settings (`always`, 1 GiB segments unless a test
// changes cfg), reopened as often as a test needs.
struct log_dir {
    temp_dir dir;
    std::int64_t now = 0;
    log_config cfg;
    std::unique_ptr<partition_log> open() {
        errc e = errc::ok;
        auto log = partition_log::open(dir.path(), cfg, fixed_clock(&now), e);
        REQUIRE(e == errc::ok);
        REQUIRE(log);
        return log;
    }
};

}  // namespace

TEST_CASE_METHOD(log_dir,
                 "zeroed tail: the file runs ahead of the segment, readers see only batches") {
    SKIP_ON_MEMORY_FS(dir);
    auto log = open();
    fill_synced(*log, 1);
    auto seg = log->segments().back();
    const std::uint64_t first = seg->size();
    CHECK(fs::file_size(seg->log_path()) == first + partition_log::zero_ahead_bytes);
    fill_synced(*log, 9, 1);
    CHECK(fs::file_size(seg->log_path()) == first + partition_log::zero_ahead_bytes);
    CHECK(seg->zeroed_end() == fs::file_size(seg->log_path()));
    check_values(*log, 10);
    // Appends overwrite the zeros; no new zeros until fewer than half a chunk is left.
    const auto file = fs::file_size(seg->log_path());
    fill_synced(*log, 5, 10);
    CHECK(fs::file_size(seg->log_path()) == file);
    check_values(*log, 15);
}

TEST_CASE("zeroed tail: not written under `interval` or `never`") {
    for (auto policy : {durability::interval, durability::never}) {
        log_dir d;
        SKIP_ON_MEMORY_FS(d.dir);
        d.cfg.flush = policy;
        auto log = d.open();
        fill_synced(*log, 3);
        auto seg = log->segments().back();
        CHECK(fs::file_size(seg->log_path()) == seg->size());
    }
}

TEST_CASE_METHOD(log_dir,
                 "zeroed tail: after a crash recovery cuts the zeros and reports no damage") {
    SKIP_ON_MEMORY_FS(dir);
    std::string path;
    std::uint64_t size = 0;
    std::uint64_t file = 0;
    {
        auto log = open();
        fill_synced(*log, 20);
        path = log->segments().back()->log_path();
        size = log->segments().back()->size();
        file = fs::file_size(path);
        REQUIRE(file > size);
        // No close: as if the process died.
    }
    auto log = open();
    CHECK_FALSE(log->recovery().clean_start);
    CHECK(log->recovery().bytes_truncated == 0);
    CHECK(log->recovery().zeroed_tail_bytes == file - size);
    CHECK(log->recovery().problems.empty());
    CHECK(fs::file_size(path) == size);
    CHECK(log->log_end_offset() == offset{40});
    check_values(*log, 20);
    fill_synced(*log, 1, 20);  // appends continue at the end, zeros ahead again
    check_values(*log, 21);
    CHECK(fs::file_size(path) > log->segments().back()->size());
}

TEST_CASE_METHOD(log_dir, "zeroed tail: a torn batch before the zeros is still cut and reported") {
    SKIP_ON_MEMORY_FS(dir);
    std::string path;
    std::uint64_t size = 0;
    {
        auto log = open();
        fill_synced(*log, 5);
        path = log->segments().back()->log_path();
        size = log->segments().back()->size();
    }
    // Half of a sixth batch landed where the zeros were (the rest of the write was lost).
    auto torn = make_batch(2, "5");
    torn.set_base_offset(offset{10});
    unique_fd fd(::open(path.c_str(), O_RDWR));
    REQUIRE(fd);
    REQUIRE(pwrite_all(fd.get(), torn.buffer().data(), torn.size() / 2, static_cast<off_t>(size)));
    fd.reset();
    auto log = open();
    CHECK(log->recovery().bytes_truncated > 0);
    CHECK(log->log_end_offset() == offset{10});
    CHECK(fs::file_size(path) == size);
    check_values(*log, 5);
}

TEST_CASE_METHOD(
    log_dir, "zeroed tail: a clean close and a roll leave segments that end at their last batch") {
    SKIP_ON_MEMORY_FS(dir);
    cfg.segment_bytes = 4096;  // zeros stop at the segment size
    cfg.index_interval_bytes = 256;
    {
        auto log = open();
        fill_synced(*log, 150);  // several rolls
        auto segs = log->segments();
        REQUIRE(segs.size() > 2);
        for (std::size_t i = 0; i + 1 < segs.size(); ++i)
            CHECK(fs::file_size(segs[i]->log_path()) == segs[i]->size());
        CHECK(fs::file_size(segs.back()->log_path()) <= cfg.segment_bytes);
        REQUIRE(log->close_clean() == errc::ok);
        CHECK(fs::file_size(segs.back()->log_path()) == segs.back()->size());
    }
    auto log = open();
    CHECK(log->recovery().clean_start);
    CHECK(log->recovery().segments_checked == 0);  // the clean open trusted every segment
    CHECK(log->recovery().problems.empty());
    check_values(*log, 150);
}

TEST_CASE_METHOD(log_dir, "zeroed tail: truncation to an earlier offset cuts the zeros too") {
    SKIP_ON_MEMORY_FS(dir);
    auto log = open();
    fill_synced(*log, 10);
    REQUIRE(log->truncate_to(offset{8}) == errc::ok);
    auto seg = log->segments().back();
    CHECK(fs::file_size(seg->log_path()) == seg->size());
    check_values(*log, 4);
    fill_synced(*log, 1, 4);
    check_values(*log, 5);
}

TEST_CASE("zeroed tail: a partition under `always` keeps zeros ahead and recovers after a crash") {
    temp_dir dir;
    SKIP_ON_MEMORY_FS(dir);
    std::int64_t now = 0;
    writer_pool pool(1);
    errc e = errc::ok;
    std::string path;
    std::uint64_t size = 0;
    {
        auto p = partition::open(dir.path(), log_config{}, pool, fixed_clock(&now), e);
        REQUIRE(p);
        for (int i = 0; i < 5; ++i)
            REQUIRE(p->append(make_batch(2, std::to_string(i))).get().error == errc::ok);
        REQUIRE(p->flush().get() == errc::ok);  // after the last round's zeros
        path = p->segments().back()->log_path();
        size = p->segments().back()->size();
        CHECK(fs::file_size(path) > size);
        // Dropped without close(): as after a crash.
    }
    pool.stop();
    writer_pool pool2(1);
    auto p = partition::open(dir.path(), log_config{}, pool2, fixed_clock(&now), e);
    REQUIRE(p);
    CHECK(p->recovery().bytes_truncated == 0);
    CHECK(p->recovery().zeroed_tail_bytes > 0);
    CHECK(p->log_end_offset() == offset{10});
    CHECK(fs::file_size(path) == size);
    CHECK(p->close() == errc::ok);
}

#include <catch2/catch.hpp>

#include <filesystem>

#include "tests/store/test_util.hpp"

using namespace sluice::store;
using namespace sluice::store::test;

namespace {

record_batch idempotent(std::int64_t pid, std::int16_t epoch, std::int32_t seq, int n) {
    batch_builder b;
    b.set_producer(pid, epoch, seq);
    for (int i = 0; i < n; ++i) b.add(1000, std::string_view("k"), "seq" + std::to_string(seq + i));
    return *b.build();
}

std::unique_ptr<partition_log> open_log(const std::string& dir, std::int64_t* now) {
    errc e = errc::ok;
    log_config c;
    c.segment_bytes = 4096;
    auto log = partition_log::open(dir, c, fixed_clock(now), e);
    REQUIRE(log);
    return log;
}

}  // namespace

TEST_CASE("producer: a repeat of one of the last 5 batches returns the original offsets") {
    temp_dir dir;
    std::int64_t now = 0;
    auto log = open_log(dir.path(), &now);
    std::vector<append_result> firsts;
    for (int i = 0; i < 6; ++i) firsts.push_back(append_now(*log, idempotent(42, 0, i * 2, 2)));
    auto end = log->log_end_offset();
    CHECK(end == offset{12});
    for (int i = 1; i < 6; ++i) {
        auto r = append_now(*log, idempotent(42, 0, i * 2, 2));
        CHECK(r.error == errc::ok);
        CHECK(r.duplicate);
        CHECK(r.base_offset == firsts[static_cast<std::size_t>(i)].base_offset);
        CHECK(r.last_offset == firsts[static_cast<std::size_t>(i)].last_offset);
    }
    CHECK(log->log_end_offset() == end);
    // The oldest batch fell out of the window of 5: its repeat is out of order.
    CHECK(append_now(*log, idempotent(42, 0, 0, 2)).error == errc::out_of_order_sequence);
    CHECK(log->log_end_offset() == end);
}

TEST_CASE("producer: gaps are out of order, older epochs are fenced, a new epoch restarts at 0") {
    temp_dir dir;
    std::int64_t now = 0;
    auto log = open_log(dir.path(), &now);
    REQUIRE(append_now(*log, idempotent(7, 3, 0, 1)).error == errc::ok);
    CHECK(append_now(*log, idempotent(7, 3, 2, 1)).error == errc::out_of_order_sequence);
    CHECK(append_now(*log, idempotent(7, 2, 1, 1)).error == errc::invalid_producer_epoch);
    CHECK(append_now(*log, idempotent(7, 4, 5, 1)).error == errc::out_of_order_sequence);
    CHECK(append_now(*log, idempotent(7, 3, 1, 1)).error == errc::ok);
    CHECK(append_now(*log, idempotent(7, 4, 0, 1)).error == errc::ok);
    CHECK(append_now(*log, idempotent(7, 3, 2, 1)).error == errc::invalid_producer_epoch);
    // Producers are independent; batches without a producer id are never deduplicated.
    CHECK(append_now(*log, idempotent(8, 0, 0, 1)).error == errc::ok);
    auto plain = append_now(*log, make_batch(1, "p"));
    auto plain2 = append_now(*log, make_batch(1, "p"));
    CHECK(plain2.base_offset == plain.base_offset + 1);
    CHECK(log->log_end_offset() == offset{6});
}

TEST_CASE("producer: sequences wrap at INT32_MAX") {
    temp_dir dir;
    std::int64_t now = 0;
    auto log = open_log(dir.path(), &now);
    REQUIRE(append_now(*log, idempotent(1, 0, INT32_MAX - 1, 2)).error == errc::ok);
    CHECK(append_now(*log, idempotent(1, 0, 0, 1)).error == errc::ok);
}

TEST_CASE("producer: state is rebuilt after a clean restart and after a crash") {
    temp_dir dir;
    std::int64_t now = 0;
    std::vector<append_result> originals;
    {
        auto log = open_log(dir.path(), &now);
        for (int i = 0; i < 60; ++i) originals.push_back(append_now(*log, idempotent(5, 1, i, 1)));
        REQUIRE(log->close_clean() == errc::ok);
    }
    {
        auto log = open_log(dir.path(), &now);  // snapshot
        auto r = append_now(*log, idempotent(5, 1, 59, 1));
        CHECK(r.duplicate);
        CHECK(r.base_offset == originals[59].base_offset);
        CHECK(append_now(*log, idempotent(5, 1, 61, 1)).error == errc::out_of_order_sequence);
        CHECK(append_now(*log, idempotent(5, 0, 60, 1)).error == errc::invalid_producer_epoch);
        for (int i = 60; i < 70; ++i) originals.push_back(append_now(*log, idempotent(5, 1, i, 1)));
        // no clean close: the snapshot is older than the log
    }
    {
        auto log = open_log(dir.path(), &now);  // snapshot from the last roll + log tail
        auto r = append_now(*log, idempotent(5, 1, 67, 1));
        CHECK(r.duplicate);
        CHECK(r.base_offset == originals[67].base_offset);
        CHECK(append_now(*log, idempotent(5, 1, 70, 1)).error == errc::ok);
    }
    std::filesystem::remove(dir / "producer.snapshot");
    {
        auto log = open_log(dir.path(), &now);  // the whole log
        auto r = append_now(*log, idempotent(5, 1, 70, 1));
        CHECK(r.duplicate);
        CHECK(append_now(*log, idempotent(5, 1, 72, 1)).error == errc::out_of_order_sequence);
    }
}

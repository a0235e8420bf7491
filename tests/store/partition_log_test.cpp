#include <catch2/catch.hpp>

#include <filesystem>

#include "store/batch_scanner.hpp"
#include "store/byte_order.hpp"
#include "store/file_util.hpp"
#include "tests/store/test_util.hpp"

using namespace sluice::store;
using namespace sluice::store::test;

namespace {

log_config small_segments() {
    log_config c;
    c.segment_bytes = 2048;
    c.index_interval_bytes = 256;
    return c;
}

std::unique_ptr<partition_log> open_log(const std::string& dir, const log_config& c,
                                        std::int64_t* now) {
    errc e = errc::ok;
    auto log = partition_log::open(dir, c, fixed_clock(now), e);
    REQUIRE(e == errc::ok);
    REQUIRE(log);
    return log;
}

}  // namespace

TEST_CASE("log: appends get contiguous offsets and read back bit-exact") {
    temp_dir dir;
    std::int64_t now = 0;
    auto log = open_log(dir.path(), log_config{}, &now);
    CHECK(log->log_end_offset() == offset{0});
    auto r1 = append_now(*log, make_batch(3, "a"));
    auto r2 = append_now(*log, make_batch(2, "b", 2000, compression::lz4));
    CHECK(r1.base_offset == offset{0});
    CHECK(r1.last_offset == offset{2});
    CHECK(r2.base_offset == offset{3});
    CHECK(r2.last_offset == offset{4});
    CHECK(log->log_end_offset() == offset{5});
    CHECK(log->high_watermark() == offset{5});
    auto records = read_all(*log);
    REQUIRE(records.size() == 5);
    for (std::size_t i = 0; i < records.size(); ++i)
        CHECK(records[i].offset == static_cast<std::int64_t>(i));
    CHECK(records[1].value == std::optional<std::string>("va-1"));
    CHECK(records[4].value == std::optional<std::string>("vb-1"));
    CHECK(records[4].timestamp == 2001);
}

TEST_CASE("log: for_each_record replays from an offset and stops when asked") {
    temp_dir dir;
    std::int64_t now = 0;
    auto log = open_log(dir.path(), log_config{}, &now);
    for (int i = 0; i < 10; ++i)
        append_now(*log, make_batch(3, std::to_string(i), 1000,
                                    i % 2 ? compression::lz4 : compression::none));
    std::vector<std::int64_t> seen;
    REQUIRE(log->for_each_record(offset{4}, [&](const record& r) {
        seen.push_back(r.offset);
        return r.offset < 20;
    }) == errc::ok);
    REQUIRE(seen.size() == 17);
    CHECK(seen.front() == 4);
    CHECK(seen.back() == 20);
    std::size_t all = 0;
    REQUIRE(log->for_each_record(offset{0}, [&](const record&) { return ++all > 0; }) == errc::ok);
    CHECK(all == 30);
}

TEST_CASE("log: the high watermark bounds reads until commit") {
    temp_dir dir;
    std::int64_t now = 0;
    auto log = open_log(dir.path(), log_config{}, &now);
    auto b = make_batch(2, "x");
    const auto size = b.size();
    auto r = log->append(b, leader_epoch{0});  // takes the bytes
    REQUIRE(r.error == errc::ok);
    REQUIRE(log->flush_writes() == errc::ok);
    CHECK(log->log_end_offset() == offset{2});
    CHECK(log->high_watermark() == offset{0});
    CHECK(log->read(offset{0}, 1 << 20).ranges.empty());
    CHECK(log->read(offset{1}, 1 << 20).error == errc::offset_out_of_range);
    log->commit();
    CHECK(log->read(offset{0}, 1 << 20).bytes == size);
}

TEST_CASE("log: segments roll by size, are named by 20-digit base offset and indexed") {
    temp_dir dir;
    std::int64_t now = 0;
    auto cfg = small_segments();
    auto log = open_log(dir.path(), cfg, &now);
    for (int i = 0; i < 100; ++i)
        REQUIRE(append_now(*log, make_batch(3, std::to_string(i))).error == errc::ok);
    auto segs = log->segments();
    REQUIRE(segs.size() > 3);
    for (const auto& s : segs) {
        CHECK(s->size() <= cfg.segment_bytes);
        std::string name = segment_file_name(s->base_offset(), ".log");
        CHECK(name.size() == 24);
        CHECK(std::filesystem::exists(dir / name));
        CHECK(std::filesystem::exists(dir / segment_file_name(s->base_offset(), ".index")));
        CHECK(std::filesystem::exists(dir / segment_file_name(s->base_offset(), ".timeindex")));
    }
    CHECK(segment_file_name(offset{42}, ".log") == "00000000000000000042.log");
    CHECK(segs[1]->base_offset() == segs[0]->next_offset());

    // The index file: versioned header, then sparse (relative offset, position) entries that
    // each point at the start of the batch holding that offset.
    auto idx = read_small_file(dir / segment_file_name(segs[1]->base_offset(), ".index"));
    REQUIRE(idx);
    REQUIRE(idx->size() > 16);
    auto* p = reinterpret_cast<const std::uint8_t*>(idx->data());
    CHECK(std::string(idx->data(), 4) == "SLOI");
    CHECK(load_be<std::uint16_t>(p + 4) == 1);
    CHECK(load_be<std::uint16_t>(p + 6) == 8);
    CHECK(load_be<std::int64_t>(p + 8) == segs[1]->base_offset().value);
    CHECK((idx->size() - 16) % 8 == 0);
    CHECK((idx->size() - 16) / 8 >= 2);  // sparse: about one per 256 bytes
    for (std::size_t at = 16; at < idx->size(); at += 8) {
        auto rel = load_be<std::uint32_t>(p + at);
        auto pos = load_be<std::uint32_t>(p + at + 4);
        batch_scanner scan(segs[1]->fd(), pos, segs[1]->size(), false);
        REQUIRE(scan.next() == batch_scanner::status::batch);
        CHECK(scan.header().base_offset == segs[1]->base_offset().value + rel);
    }

    // A read from every offset starts with the batch that holds it.
    for (std::int64_t o = 0; o < 300; ++o) {
        auto r = log->read(offset{o}, 1);
        REQUIRE(r.error == errc::ok);
        REQUIRE(r.ranges.size() == 1);
        byte_buffer head(61);
        REQUIRE(pread_full(r.ranges[0].fd(), head.data(), 61,
                           static_cast<off_t>(r.ranges[0].position)) == 61);
        auto h = parse_batch_header(head.data(), head.size());
        REQUIRE(h);
        CHECK(h->base_offset <= o);
        CHECK(h->last_offset().value >= o);
        CHECK(r.next_offset.value == h->last_offset().value + 1);
    }
}

TEST_CASE("log: segments roll by age") {
    temp_dir dir;
    std::int64_t now = 1'000'000;
    log_config cfg;
    cfg.segment_ms = 1000;
    auto log = open_log(dir.path(), cfg, &now);
    append_now(*log, make_batch(1, "a"));
    append_now(*log, make_batch(1, "b"));
    CHECK(log->segments().size() == 1);
    now += 1000;
    append_now(*log, make_batch(1, "c"));
    CHECK(log->segments().size() == 2);
    CHECK(log->segments().back()->base_offset() == offset{2});
}

TEST_CASE("log: reads return whole batches up to max_bytes, at least one") {
    temp_dir dir;
    std::int64_t now = 0;
    auto log = open_log(dir.path(), small_segments(), &now);
    std::vector<std::size_t> sizes;
    for (int i = 0; i < 40; ++i) {
        auto b = make_batch(2, std::to_string(i));
        sizes.push_back(b.size());
        append_now(*log, std::move(b));
    }
    auto r = log->read(offset{0}, 1);
    CHECK(r.bytes == sizes[0]);
    CHECK(r.next_offset == offset{2});
    r = log->read(offset{0}, sizes[0] + sizes[1] + sizes[2] - 1);
    CHECK(r.bytes == sizes[0] + sizes[1]);
    // Spanning segments gives one range per segment, contiguous in offsets.
    r = log->read(offset{0}, 1 << 20);
    CHECK(r.ranges.size() == log->segments().size());
    CHECK(r.next_offset == offset{80});
    byte_buffer copy;
    offset next;
    REQUIRE(log->read_copy(offset{0}, 1 << 20, copy, next) == errc::ok);
    CHECK(copy.size() == r.bytes);
    CHECK(next == offset{80});
    CHECK(log->read(offset{81}, 100).error == errc::offset_out_of_range);
    CHECK(log->read(offset{80}, 100).ranges.empty());
}

TEST_CASE("log: timestamp lookup finds the first offset at or after T") {
    temp_dir dir;
    std::int64_t now = 0;
    auto log = open_log(dir.path(), small_segments(), &now);
    // Batch i holds timestamps 10000 + 10*i .. +2.
    for (int i = 0; i < 100; ++i)
        append_now(*log, make_batch(3, std::to_string(i), 10000 + 10 * i));
    REQUIRE(log->segments().size() > 2);
    CHECK(log->offset_for_timestamp(0) == offset{0});
    CHECK(log->offset_for_timestamp(10000) == offset{0});
    CHECK(log->offset_for_timestamp(10001) == offset{1});
    CHECK(log->offset_for_timestamp(10003) == offset{3});  // next batch's first record
    CHECK(log->offset_for_timestamp(10500) == offset{150});
    CHECK(log->offset_for_timestamp(10992) == offset{299});
    CHECK_FALSE(log->offset_for_timestamp(10993));
    for (int t = 10000; t < 10993; t += 7) {
        auto o = log->offset_for_timestamp(t);
        REQUIRE(o);
        int batch = (t - 10000) / 10;
        int within = (t - 10000) % 10;
        std::int64_t want = within <= 2 ? batch * 3 + within : (batch + 1) * 3;
        CHECK(o->value == want);
    }
}

TEST_CASE("log: leader epochs are stamped, cached and survive truncation correctly") {
    temp_dir dir;
    std::int64_t now = 0;
    auto log = open_log(dir.path(), small_segments(), &now);
    append_now(*log, make_batch(5, "a"), leader_epoch{1});
    append_now(*log, make_batch(5, "b"), leader_epoch{1});
    append_now(*log, make_batch(5, "c"), leader_epoch{3});
    append_now(*log, make_batch(5, "d"), leader_epoch{4});
    CHECK(log->epochs().entries() == std::vector<epoch_entry>{{1, 0}, {3, 10}, {4, 15}});
    auto e = log->epochs().end_offset_for(2, log->log_end_offset());
    REQUIRE(e);
    CHECK(e->first == 1);
    CHECK(e->second == offset{10});
    byte_buffer bytes;
    offset next;
    REQUIRE(log->read_copy(offset{10}, 1, bytes, next) == errc::ok);
    CHECK(parse_batch_header(bytes.data(), bytes.size())->partition_leader_epoch == 3);

    REQUIRE(log->truncate_to(offset{12}) == errc::ok);
    CHECK(log->log_end_offset() == offset{10});  // whole batches: 10..14 is one batch
    CHECK(log->high_watermark() == offset{10});
    CHECK(log->epochs().entries() == std::vector<epoch_entry>{{1, 0}});
    CHECK(read_all(*log).size() == 10);
    // The epoch checkpoint on disk is Kafka's format.
    auto text = read_small_file(dir / "leader-epoch-checkpoint");
    REQUIRE(text);
    CHECK(*text == "0\n1\n1 0\n");
    auto r = append_now(*log, make_batch(1, "e"), leader_epoch{5});
    CHECK(r.base_offset == offset{10});
}

TEST_CASE("log: a follower append keeps the leader's bytes and offsets") {
    temp_dir leader_dir;
    temp_dir follower_dir;
    std::int64_t now = 0;
    auto leader = open_log(leader_dir.path(), log_config{}, &now);
    auto follower = open_log(follower_dir.path(), log_config{}, &now);
    append_now(*leader, make_batch(2, "a"), leader_epoch{7});
    append_now(*leader, make_batch(3, "b", 5000, compression::lz4), leader_epoch{7});
    byte_buffer bytes;
    offset next;
    REQUIRE(leader->read_copy(offset{0}, 1 << 20, bytes, next) == errc::ok);
    std::size_t pos = 0;
    while (pos < bytes.size()) {
        auto h = parse_batch_header(bytes.data() + pos, bytes.size() - pos);
        record_batch b(byte_buffer(bytes.begin() + static_cast<long>(pos),
                                   bytes.begin() + static_cast<long>(pos + h->size_bytes())));
        auto r = follower->append_as_follower(b);
        REQUIRE(r.error == errc::ok);
        pos += h->size_bytes();
    }
    REQUIRE(follower->flush_writes() == errc::ok);
    follower->commit();
    byte_buffer copy;
    REQUIRE(follower->read_copy(offset{0}, 1 << 20, copy, next) == errc::ok);
    CHECK(copy == bytes);
    CHECK(follower->epochs().entries() == std::vector<epoch_entry>{{7, 0}});
    // A batch that does not start at the log end is refused.
    auto wrong = make_batch(1, "z");
    wrong.set_base_offset(offset{99});
    CHECK(follower->append_as_follower(wrong).error == errc::invalid_offset);
}

TEST_CASE("log: invalid batches are refused and leave the log untouched") {
    temp_dir dir;
    std::int64_t now = 0;
    log_config cfg;
    cfg.max_batch_bytes = 2000;
    auto log = open_log(dir.path(), cfg, &now);
    auto bad = make_batch(2, "a");
    bad.buffer()[70] ^= 1;
    CHECK(log->append(bad, leader_epoch{0}).error == errc::corrupt_message);
    record_batch tiny(byte_buffer(10, 0));
    CHECK(log->append(tiny, leader_epoch{0}).error == errc::corrupt_message);
    batch_builder big;
    big.add(0, std::nullopt, std::string(3000, 'x'));
    auto huge = *big.build();
    CHECK(log->append(huge, leader_epoch{0}).error == errc::record_too_large);
    CHECK(log->log_end_offset() == offset{0});
    CHECK(append_now(*log, make_batch(1, "ok")).base_offset == offset{0});
}

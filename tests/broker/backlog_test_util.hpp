#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "broker/session.hpp"
#include "ingest/delivery_id.hpp"
#include "ingest/record_mapping.hpp"
#include "store/batch_builder.hpp"
#include "store/partition.hpp"
#include "store/writer_pool.hpp"
#include "tests/store/test_util.hpp"

// What the tests of cursors, covered groups and shared backlogs build alike: an owner that
// ignores wake-ups, a partition that never syncs, records numbered as the ingest writes them.
namespace sluice::broker::backlog_test {

struct fake_owner final : session_owner {
    void wake() override {}
    void kick(mqtt::reason_code, bool) override {}
};

// A partition that never syncs, on a writer of its own: its tickets are what marks and
// messages are compared by.
struct test_partition {
    store::test::temp_dir dir;
    store::writer_pool pool{1};
    std::int64_t now = 0;
    std::shared_ptr<store::partition> part;
    test_partition() { part = open_again(); }
    ~test_partition() { part->close(); }
    // Another partition object on the same files, as durable_log's reopen after a write
    // failure makes (a test closes the old one first for a clean handover); null on failure.
    std::shared_ptr<store::partition> open_again() {
        store::errc e = store::errc::ok;
        store::log_config cfg;
        cfg.flush = store::durability::never;
        return store::partition::open(dir.path(), cfg, pool, [this] { return now; }, e);
    }
};

// Record `n` on `topic` as the ingest writes it (payload: the number), one per batch.
inline store::record_batch numbered_batch(const char* topic, int n) {
    mqtt::publish p;
    p.topic = topic;
    p.qos_level = mqtt::qos::at_least_once;
    p.payload = mqtt::shared_bytes(std::string_view(std::to_string(n)));
    // A producer of its own per record (sequence 0), so any order of appends is accepted.
    static std::atomic<std::int64_t> next_producer{1};
    const ingest::delivery_id id{next_producer++, 0, 0};
    const auto r = ingest::to_record(p, "pub", 1000, id, std::nullopt);
    return *ingest::build_producer_batch({&r, 1}, id);
}

// The number a numbered record's delivery carries.
inline int number_of(const delivery& d) {
    const auto v = d.msg->packet().payload.view();
    return std::stoi(std::string(reinterpret_cast<const char*>(v.data()), v.size()));
}

}  // namespace sluice::broker::backlog_test

#include <catch2/catch.hpp>

#include "broker/backlog_chunks.hpp"
#include "broker/backlog_replay.hpp"
#include "ingest/delivery_id.hpp"
#include "ingest/record_mapping.hpp"
#include "store/batch_builder.hpp"
#include "store/batch_reader.hpp"
#include "tests/store/test_util.hpp"

using namespace sluice;
using namespace sluice::broker;
using sluice::store::test::temp_dir;

namespace {

constexpr std::int64_t t0 = 1'700'000'000'000;

// A partition of records as the broker's ingest writes them (one record per batch).
struct log_fixture {
    temp_dir dir;
    store::writer_pool pool{1};
    std::int64_t now = t0;
    std::shared_ptr<store::partition> p;

    explicit log_fixture(store::log_config cfg = {}) {
        cfg.flush = store::durability::never;
        store::errc e = store::errc::ok;
        p = store::partition::open(dir.path(), cfg, pool, [this] { return now; }, e);
        REQUIRE(p);
    }
    ~log_fixture() { p->close(); }

    void publish(const std::string& topic, const std::string& payload, mqtt::qos q,
                 const std::string& client = "pub", bool retain = false,
                 std::int64_t ts = t0) {
        mqtt::publish pub;
        pub.topic = topic;
        pub.payload = mqtt::shared_bytes(std::string_view(payload));
        pub.qos_level = q;
        pub.retain = retain;
        const ingest::delivery_id id{1, 0, seq_++};
        const auto r = ingest::to_record(pub, client, ts, id, std::string_view(topic));
        REQUIRE(p->append(*ingest::build_producer_batch({&r, 1}, id)).get().error ==
                store::errc::ok);
    }

    std::int32_t seq_ = 0;
};

subscription_record sub(mqtt::qos max, std::uint32_t id = 0, bool no_local = false,
                        bool rap = false) {
    subscription_record r;
    r.options.max_qos = max;
    r.options.no_local = no_local;
    r.options.retain_as_published = rap;
    r.subscription_id = id;
    return r;
}

std::string payload_of(const delivery& d) {
    const auto v = d.msg->packet().payload.view();
    return std::string(reinterpret_cast<const char*>(v.data()), v.size());
}

replay_request everything(std::int64_t from = 0) {
    replay_request req;
    req.from = from;
    req.until = 1'000'000;
    req.room = 1000;
    req.now_ms = t0;
    return req;
}

}  // namespace

TEST_CASE("backlog replay: matches the session's subscriptions with their options, in log order") {
    log_fixture log;
    log.publish("home/a/temp", "1", mqtt::qos::exactly_once);
    log.publish("office/x", "2", mqtt::qos::at_least_once);               // not subscribed
    log.publish("home/b/temp", "3", mqtt::qos::at_least_once, "me");      // No Local
    log.publish("home/c/temp", "4", mqtt::qos::at_most_once);             // QoS 0: not kept
    log.publish("alerts/fire", "5", mqtt::qos::exactly_once, "pub", true);
    log.publish("home/d/temp", "6", mqtt::qos::exactly_once);

    backlog_subscriber s;
    s.client_id = "me";
    s.subscriptions = {{"home/+/temp", sub(mqtt::qos::at_least_once, 7, true)},
                       {"alerts/#", sub(mqtt::qos::exactly_once, 9, false, true)},
                       {"$share/g/office/#", sub(mqtt::qos::exactly_once, 3)}};  // not its own

    backlog_usage used;
    auto step = replay_backlog(*log.p, everything(), s, {}, used);
    REQUIRE(step.error == store::errc::ok);
    CHECK(step.next == 6);  // the high watermark: `until` is further, so not done
    CHECK(!step.done);
    REQUIRE(step.deliveries.size() == 3);
    CHECK(step.deliveries[0].first == 0);
    CHECK(payload_of(step.deliveries[0].second) == "1");
    CHECK(step.deliveries[0].second.qos_level == mqtt::qos::at_least_once);  // granted QoS
    CHECK(step.deliveries[0].second.subscription_ids == std::vector<std::uint32_t>{7});
    CHECK(step.deliveries[1].first == 4);
    CHECK(payload_of(step.deliveries[1].second) == "5");
    CHECK(step.deliveries[1].second.qos_level == mqtt::qos::exactly_once);
    CHECK(step.deliveries[1].second.retain);  // Retain As Published
    CHECK(step.deliveries[1].second.subscription_ids == std::vector<std::uint32_t>{9});
    CHECK(step.deliveries[2].first == 5);
    CHECK(payload_of(step.deliveries[2].second) == "6");
}

TEST_CASE("backlog replay: a subscription made during the catch-up does not match older records") {
    log_fixture log;
    log.publish("a/1", "old a", mqtt::qos::at_least_once, "pub", false, t0 + 10);
    log.publish("b/1", "old b", mqtt::qos::at_least_once, "pub", false, t0 + 10);
    log.publish("a/2", "new a", mqtt::qos::at_least_once, "pub", false, t0 + 20);

    backlog_subscriber s;
    s.client_id = "me";
    auto later = sub(mqtt::qos::at_least_once);
    later.since_ms = t0 + 20;  // subscribed after the first two records were received
    s.subscriptions = {{"a/#", later}, {"b/#", sub(mqtt::qos::at_least_once)}};

    backlog_usage used;
    auto step = replay_backlog(*log.p, everything(), s, {}, used);
    REQUIRE(step.error == store::errc::ok);
    REQUIRE(step.deliveries.size() == 2);
    CHECK(payload_of(step.deliveries[0].second) == "old b");
    CHECK(payload_of(step.deliveries[1].second) == "new a");
}

TEST_CASE("backlog replay: paced by the room the session has, and bounded by `until`") {
    log_fixture log;
    for (int i = 0; i < 10; ++i)
        log.publish(i % 2 ? "a/odd" : "a/even", std::to_string(i), mqtt::qos::at_least_once);
    backlog_subscriber s;
    s.client_id = "me";
    s.subscriptions = {{"a/even", sub(mqtt::qos::exactly_once)}};

    // Steps of two deliveries, stopping at offset 8 (a marker's log end, say).
    std::vector<std::string> got;
    backlog_usage used;
    replay_request req = everything();
    req.until = 8;
    req.room = 2;
    int steps = 0;
    while (true) {
        auto step = replay_backlog(*log.p, req, s, {}, used);
        REQUIRE(step.error == store::errc::ok);
        CHECK(step.deliveries.size() <= 2);
        for (auto& [off, d] : step.deliveries) {
            CHECK(off < 8);
            got.push_back(payload_of(d));
        }
        req.from = step.next;
        REQUIRE(++steps < 20);
        if (step.done) break;
    }
    CHECK(req.from == 8);
    CHECK(got == std::vector<std::string>{"0", "2", "4", "6"});

    // No room: nothing is read and the cursor stays.
    req.from = 0;
    req.room = 0;
    auto idle = replay_backlog(*log.p, req, s, {}, used);
    CHECK(idle.deliveries.empty());
    CHECK(idle.next == 0);
    CHECK(!idle.done);
}

TEST_CASE("backlog replay: what retention removed first is counted, then the rest is replayed") {
    store::log_config cfg;
    cfg.segment_bytes = 600;  // a few records per segment
    cfg.retention_bytes = 1200;
    log_fixture log(cfg);
    for (int i = 0; i < 40; ++i) log.publish("t", std::to_string(i), mqtt::qos::at_least_once);
    REQUIRE(log.p->enforce_retention(t0).get() > 0);
    const std::int64_t start = log.p->log_start_offset().value;
    REQUIRE(start > 0);

    backlog_subscriber s;
    s.subscriptions = {{"t", sub(mqtt::qos::at_least_once)}};
    backlog_usage used;
    auto step = replay_backlog(*log.p, everything(0), s, {}, used);
    CHECK(step.lost_to_retention == static_cast<std::uint64_t>(start));
    REQUIRE(!step.deliveries.empty());
    CHECK(step.deliveries.front().first == start);
    CHECK(payload_of(step.deliveries.front().second) == std::to_string(start));
}

TEST_CASE("backlog replay: count, byte and age limits skip and count what is over them") {
    log_fixture log;
    log.publish("t", "old", mqtt::qos::at_least_once, "pub", false, t0 - 120'000);
    for (int i = 0; i < 5; ++i) log.publish("t", "abcd", mqtt::qos::at_least_once);
    backlog_subscriber s;
    s.subscriptions = {{"t", sub(mqtt::qos::at_least_once)}};

    backlog_limits by_count;
    by_count.max_messages = 2;
    by_count.max_age_ms = 60'000;
    backlog_usage used;
    auto step = replay_backlog(*log.p, everything(), s, by_count, used);
    CHECK(step.deliveries.size() == 2);
    CHECK(payload_of(step.deliveries[0].second) == "abcd");
    CHECK(step.over_limits == 4);  // the old one and three over the count

    backlog_limits by_bytes;
    by_bytes.max_bytes = 10;  // two payloads of four bytes fit, not three
    backlog_usage used2;
    auto step2 = replay_backlog(*log.p, everything(), s, by_bytes, used2);
    CHECK(step2.deliveries.size() == 2);
    CHECK(step2.over_limits == 4);
}

TEST_CASE("backlog replay: a chunk read once serves any cursor in it as a read from that cursor would") {
    log_fixture log;
    for (int i = 0; i < 12; ++i)
        log.publish(i % 3 ? "a/x" : "a/y", std::to_string(i), mqtt::qos::at_least_once);
    backlog_subscriber s;
    s.subscriptions = {{"a/y", sub(mqtt::qos::exactly_once)}};
    const auto chunk = read_backlog_chunk(*log.p, 0, log.p->high_watermark().value, 1 << 20, t0);
    REQUIRE(chunk.error == store::errc::ok);
    CHECK(chunk.from == 0);
    CHECK(chunk.next == 12);
    CHECK(chunk.records.size() == 12);
    for (std::int64_t from = 0; from < 12; ++from)
        for (std::size_t room : {std::size_t{1}, std::size_t{2}, std::size_t{100}})
            for (std::int64_t until : {std::int64_t{7}, std::int64_t{1'000'000}}) {
                replay_request req = everything(from);
                req.room = room;
                req.until = until;
                backlog_usage u1, u2;
                const auto own = replay_backlog(*log.p, req, s, {}, u1);
                const auto shared = select_backlog(chunk, req, s, {}, u2);
                CAPTURE(from, room, until);
                CHECK(shared.next == own.next);
                CHECK(shared.done == own.done);
                REQUIRE(shared.deliveries.size() == own.deliveries.size());
                for (std::size_t i = 0; i < own.deliveries.size(); ++i) {
                    CHECK(shared.deliveries[i].first == own.deliveries[i].first);
                    CHECK(payload_of(shared.deliveries[i].second) ==
                          payload_of(own.deliveries[i].second));
                }
                CHECK(u1.messages == u2.messages);
            }
    // A cursor the chunk does not cover: nothing, and the cursor stays.
    auto part = read_backlog_chunk(*log.p, 4, 8, 1 << 20, t0);
    backlog_usage u;
    auto none = select_backlog(part, everything(9), s, {}, u);
    CHECK(none.deliveries.empty());
    CHECK(none.next == 9);
}

TEST_CASE("backlog chunks: cursors in one stretch share one read, which starts at the lowest") {
    log_fixture log;
    for (int i = 0; i < 10; ++i) log.publish("t", std::to_string(i), mqtt::qos::at_least_once);
    const std::int64_t hw = log.p->high_watermark().value;
    backlog_chunks chunks(1 << 20, 16 << 20);
    for (std::int64_t c : {7, 0, 3, 7}) chunks.expect(log.p, c);
    store::errc e = store::errc::ok;
    // The session at 7 comes first; the read starts at 0 for the others of the pass.
    auto at7 = chunks.find(log.p, 7, hw, t0, e);
    REQUIRE(at7);
    CHECK(at7->from == 0);
    for (std::int64_t c : {0, 3, 7}) CHECK(chunks.find(log.p, c, hw, t0, e) == at7);
    CHECK(chunks.reads() == 1);
    CHECK(chunks.records_decoded() == 10);
    CHECK(chunks.bytes_read() > 0);
    chunks.end_pass();
    // Kept for a later pass (a session back from its durability wait).
    CHECK(chunks.find(log.p, 5, hw, t0, e) == at7);
    CHECK(chunks.reads() == 1);
    // New records: a read of what is past the kept chunk only.
    for (int i = 10; i < 15; ++i) log.publish("t", std::to_string(i), mqtt::qos::at_least_once);
    auto tail = chunks.find(log.p, 10, log.p->high_watermark().value, t0, e);
    REQUIRE(tail);
    CHECK(tail->from == 10);
    CHECK(chunks.records_decoded() == 15);
    chunks.clear();
    CHECK(chunks.chunks_kept() == 0);
}

TEST_CASE("backlog chunks: a cursor far behind gets a read of its own, and no record is decoded twice") {
    log_fixture log;
    for (int i = 0; i < 10; ++i) log.publish("t", std::to_string(i), mqtt::qos::at_least_once);
    const std::int64_t hw = log.p->high_watermark().value;
    // One batch per read: the session at 0 is too far behind to share with the one at 8.
    backlog_chunks chunks(1, 16 << 20);
    chunks.expect(log.p, 0);
    chunks.expect(log.p, 8);
    store::errc e = store::errc::ok;
    auto ahead = chunks.find(log.p, 8, hw, t0, e);
    REQUIRE(ahead);
    CHECK(ahead->covers(8));  // served now, not after the one behind has caught up
    CHECK(chunks.reads() == 2);
    auto behind = chunks.find(log.p, 0, hw, t0, e);
    REQUIRE(behind);
    CHECK(behind->covers(0));
    CHECK(chunks.reads() == 2);  // read for it already, in the same pass
    chunks.end_pass();

    // A read in a gap stops where the next kept chunk starts.
    backlog_chunks wide(1 << 20, 16 << 20);
    REQUIRE(wide.find(log.p, 6, hw, t0, e));
    auto low = wide.find(log.p, 2, hw, t0, e);
    REQUIRE(low);
    CHECK(low->from == 2);
    CHECK(low->next == 6);
    CHECK(wide.records_decoded() == 8);  // [6, 10) and [2, 6)
}

TEST_CASE("backlog chunks: kept within the budget, least recently used out first") {
    log_fixture log;
    for (int i = 0; i < 10; ++i) log.publish("t", std::to_string(i), mqtt::qos::at_least_once);
    const std::int64_t hw = log.p->high_watermark().value;
    backlog_chunks chunks(1, 1);  // room for the chunk in use only
    store::errc e = store::errc::ok;
    auto a = chunks.find(log.p, 0, hw, t0, e);
    REQUIRE(a);
    CHECK(chunks.chunks_kept() == 1);
    auto b = chunks.find(log.p, 5, hw, t0, e);
    REQUIRE(b);
    CHECK(chunks.chunks_kept() == 1);
    CHECK(a->covers(0));  // still valid for whoever holds it
    CHECK(chunks.find(log.p, 0, hw, t0, e) != a);  // read again
    CHECK(chunks.reads() == 3);
}

TEST_CASE("backlog chunks: not kept while nobody could share them") {
    log_fixture log;
    for (int i = 0; i < 10; ++i) log.publish("t", std::to_string(i), mqtt::qos::at_least_once);
    const std::int64_t hw = log.p->high_watermark().value;
    backlog_chunks chunks(1 << 20, 16 << 20);
    store::errc e = store::errc::ok;
    REQUIRE(chunks.find(log.p, 0, hw, t0, e));
    CHECK(chunks.chunks_kept() == 1);
    chunks.keep(false);  // one session left: the kept chunk goes, and the next read is not kept
    CHECK(chunks.chunks_kept() == 0);
    auto c = chunks.find(log.p, 0, hw, t0, e);
    REQUIRE(c);
    CHECK(c->covers(9));
    CHECK(chunks.chunks_kept() == 0);
    CHECK(chunks.reads() == 2);
}

TEST_CASE("backlog replay: records a Kafka producer wrote are skipped, whatever their headers") {
    // The live path routes only MQTT publishes; a Kafka producer's record with an mqtt.topic
    // header reaches MQTT through an egress rule only, so the replay must not deliver it.
    log_fixture log;
    log.publish("home/a", "mqtt 1", mqtt::qos::at_least_once);  // producer 1, sequence 0

    mqtt::publish pub;
    pub.topic = "home/a";
    pub.payload = mqtt::shared_bytes(std::string_view("kafka"));
    pub.qos_level = mqtt::qos::at_least_once;
    // What kcat -P -H mqtt.topic=home/a -H mqtt.qos=1 writes: no producer id.
    {
        const auto r = ingest::to_record(pub, "pub", t0, ingest::delivery_id{1, 0, 1}, std::nullopt);
        store::batch_builder b;
        b.add(r.timestamp, r.key, r.value, r.headers);
        REQUIRE(log.p->append(*b.build()).get().error == store::errc::ok);
    }
    // An idempotent Kafka producer (a producer id of its own) with a delivery id header
    // copied from an MQTT record: it names producer 1, not this batch's producer.
    {
        const auto r = ingest::to_record(pub, "pub", t0, ingest::delivery_id{1, 0, 0}, std::nullopt);
        store::batch_builder b;
        b.set_producer(77, 0, 0);
        b.add(r.timestamp, r.key, r.value, r.headers);
        REQUIRE(log.p->append(*b.build()).get().error == store::errc::ok);
    }
    // Its own producer id and epoch but another sequence than the record's in the batch.
    {
        const auto r = ingest::to_record(pub, "pub", t0, ingest::delivery_id{88, 0, 5}, std::nullopt);
        store::batch_builder b;
        b.set_producer(88, 0, 0);
        b.add(r.timestamp, r.key, r.value, r.headers);
        REQUIRE(log.p->append(*b.build()).get().error == store::errc::ok);
    }
    // No delivery id header at all, with a producer id.
    {
        auto r = ingest::to_record(pub, "pub", t0, ingest::delivery_id{99, 0, 0}, std::nullopt);
        std::erase_if(r.headers, [](const auto& h) { return h.key == "mqtt.delivery_id"; });
        store::batch_builder b;
        b.set_producer(99, 0, 0);
        b.add(r.timestamp, r.key, r.value, r.headers);
        REQUIRE(log.p->append(*b.build()).get().error == store::errc::ok);
    }
    log.publish("home/a", "mqtt 2", mqtt::qos::at_least_once);  // producer 1, sequence 1

    backlog_subscriber s;
    s.client_id = "me";
    s.subscriptions = {{"home/#", sub(mqtt::qos::at_least_once)}};
    backlog_usage used;
    auto step = replay_backlog(*log.p, everything(), s, {}, used);
    REQUIRE(step.error == store::errc::ok);
    CHECK(step.next == 6);
    REQUIRE(step.deliveries.size() == 2);
    CHECK(payload_of(step.deliveries[0].second) == "mqtt 1");
    CHECK(step.deliveries[0].first == 0);
    CHECK(payload_of(step.deliveries[1].second) == "mqtt 2");
    CHECK(step.deliveries[1].first == 5);
    CHECK(step.not_ingested == 4);
    CHECK(step.unreadable == 0);

    // The shared reads skip and count them the same way.
    backlog_chunks chunks(1 << 20, 16 << 20);
    store::errc e = store::errc::ok;
    auto c = chunks.find(log.p, 0, log.p->high_watermark().value, t0, e);
    REQUIRE(c);
    CHECK(c->records.size() == 2);
    CHECK(chunks.records_not_ingested() == 4);
    backlog_usage used2;
    auto sel = select_backlog(*c, everything(), s, {}, used2);
    CHECK(sel.deliveries.size() == 2);
    CHECK(sel.next == 6);
}

TEST_CASE("written_by_mqtt_ingest: a batch of several records, sequences wrapping") {
    mqtt::publish pub;
    pub.topic = "t";
    pub.qos_level = mqtt::qos::at_least_once;
    const ingest::delivery_id first{5, 3, 0x7FFFFFFF};  // the next sequence wraps to 0
    std::vector<store::record> rs;
    for (int i = 0; i < 3; ++i) rs.push_back(ingest::to_record(pub, "c", t0, first.plus(i), std::nullopt));
    auto batch = ingest::build_producer_batch(rs, first);
    REQUIRE(batch);
    store::decoded_batch d;
    REQUIRE(store::decode_batch(batch->bytes(), d) == store::errc::ok);
    REQUIRE(d.records.size() == 3);
    for (const auto& r : d.records) CHECK(ingest::written_by_mqtt_ingest(d.header, r));
    // The same records in a batch of another epoch: not this producer's writing.
    store::batch_builder b;
    b.set_producer(5, 4, 0x7FFFFFFF);
    for (const auto& r : rs) b.add(r.timestamp, r.key, r.value, r.headers);
    store::decoded_batch other;
    REQUIRE(store::decode_batch(b.build()->bytes(), other) == store::errc::ok);
    for (const auto& r : other.records) CHECK(!ingest::written_by_mqtt_ingest(other.header, r));
}

#include <catch2/catch.hpp>

#include <limits>
#include <string>

#include "ingest/delivery_id.hpp"
#include "ingest/headers.hpp"
#include "ingest/ingest_rules.hpp"
#include "ingest/record_mapping.hpp"
#include "store/store.hpp"
#include "tests/store/test_util.hpp"

using namespace sluice;
using namespace sluice::ingest;

namespace {

constexpr std::int32_t int32_max = std::numeric_limits<std::int32_t>::max();

mqtt::publish make_publish(const std::string& topic, const std::string& payload) {
    mqtt::publish p;
    p.qos_level = mqtt::qos::at_least_once;
    p.packet_id = 1;
    p.topic = topic;
    p.payload = mqtt::shared_bytes(std::string_view(payload));
    return p;
}

// What the broker does per publish: rule, key, partition, delivery id, record, batch.
struct prepared {
    int partition;
    delivery_id id;
    store::record_batch batch;
};

prepared prepare(const ingest_rule& rule, session_producer& producer, const mqtt::publish& p,
                 std::string_view client_id, std::int64_t now) {
    const std::string_view key = partition_key(rule.key, p.topic, client_id);
    const int partition = partition_for(rule, p.topic, client_id);
    const delivery_id id = producer.assign(rule.log_topic, partition);
    const store::record r = to_record(p, client_id, now, id, key);
    auto batch = build_producer_batch({&r, 1}, id);
    REQUIRE(batch);
    return {partition, id, std::move(*batch)};
}

std::vector<store::record> read_all(const store::partition& p) {
    std::vector<store::record> out;
    REQUIRE(p.for_each_record(store::offset{0}, [&](const store::record& r) {
        out.push_back(r);
        return true;
    }) == store::errc::ok);
    return out;
}

std::string header_value(const store::record& r, std::string_view key) {
    for (const auto& h : r.headers)
        if (h.key == key) return h.value.value_or("(null)");
    return "(absent)";
}

std::unique_ptr<store::store> open_store(const std::string& dir) {
    store::store_options options;
    options.data_dir = dir;
    options.writer_threads = 1;
    options.maintenance_interval_ms = 0;
    options.clock = [] { return std::int64_t{1'000'000}; };
    options.log = [](const std::string&) {};
    store::errc e = store::errc::ok;
    auto s = store::store::open(options, e);
    REQUIRE(s);
    for (const auto& t : ingest_rules::defaults().log_topics())
        REQUIRE(s->create_topic(t.name, t.partitions, t.config) == store::errc::ok);
    return s;
}

}  // namespace

TEST_CASE("delivery id: text form is producer:epoch:sequence in decimal") {
    CHECK(delivery_id{42, 0, 17}.to_string() == "42:0:17");
    CHECK(delivery_id{0, 0, 0}.to_string() == "0:0:0");
    const delivery_id max{std::numeric_limits<std::int64_t>::max(), 32767, int32_max};
    CHECK(max.to_string() == "9223372036854775807:32767:2147483647");
    CHECK(delivery_id::parse(max.to_string()) == max);
    CHECK(delivery_id::parse("42:0:17") == delivery_id{42, 0, 17});
    for (auto bad :
         {"", "42", "42:0", "42:0:17:1", "-1:0:0", "+1:0:0", "1:-1:0", "01:0:0", "1:0:", ":0:0",
          "1:32768:0", "1:0:2147483648", "9223372036854775808:0:0", "1 :0:0", "1:0:0 ", "a:b:c"}) {
        INFO(bad);
        CHECK_FALSE(delivery_id::parse(bad));
    }
}

TEST_CASE("delivery id: sequences wrap from INT32_MAX to 0 as Kafka's") {
    CHECK(increment_sequence(0, 1) == 1);
    CHECK(increment_sequence(int32_max - 1, 1) == int32_max);
    CHECK(increment_sequence(int32_max, 1) == 0);
    CHECK(increment_sequence(int32_max - 1, 3) == 1);
    CHECK(delivery_id{5, 2, int32_max}.plus(2) == delivery_id{5, 2, 1});
}

TEST_CASE("delivery id: session producer counts per partition, epoch bump restarts at 0") {
    session_producer s(9);
    CHECK(s.producer_id() == 9);
    CHECK(s.epoch() == 0);
    CHECK(s.assign("t", 0) == delivery_id{9, 0, 0});
    CHECK(s.assign("t", 0) == delivery_id{9, 0, 1});
    CHECK(s.assign("t", 1) == delivery_id{9, 0, 0});  // another partition: its own sequence
    CHECK(s.assign("u", 0) == delivery_id{9, 0, 0});  // another topic too
    CHECK(s.assign("t", 0, 3) == delivery_id{9, 0, 2});
    CHECK(s.next_sequence("t", 0) == 5);
    CHECK(s.next_sequence("t", 7) == 0);

    REQUIRE(s.bump_epoch());
    CHECK(s.epoch() == 1);
    CHECK(s.next_sequence("t", 0) == 0);
    CHECK(s.assign("t", 0) == delivery_id{9, 1, 0});

    session_producer last(3, std::numeric_limits<std::int16_t>::max());
    last.assign("t", 0);
    CHECK_FALSE(last.bump_epoch());  // exhausted: unchanged, needs a new producer id
    CHECK(last.epoch() == 32767);
    CHECK(last.next_sequence("t", 0) == 1);
    last.renew(4);
    CHECK(last.assign("t", 0) == delivery_id{4, 0, 0});
}

TEST_CASE("delivery id: the batch carries producer id, epoch and base sequence") {
    std::vector<store::record> records;
    const delivery_id first{77, 2, int32_max - 1};
    for (int i = 0; i < 3; ++i)
        records.push_back(to_record(make_publish("a/" + std::to_string(i), "v"), "c", 1000 + i,
                                    first.plus(i), std::nullopt));
    auto batch = build_producer_batch(records, first, store::compression::lz4);
    REQUIRE(batch);
    const store::batch_header h = batch->header();
    CHECK(h.producer_id == 77);
    CHECK(h.producer_epoch == 2);
    CHECK(h.base_sequence == int32_max - 1);
    CHECK(h.last_sequence() == 0);
    CHECK(h.record_count == 3);
    CHECK(h.codec() == store::compression::lz4);
    store::decoded_batch decoded;
    REQUIRE(store::decode_batch(batch->bytes(), decoded) == store::errc::ok);
    REQUIRE(decoded.records.size() == 3);
    CHECK(header_value(decoded.records[0], header::delivery_id) == "77:2:2147483646");
    CHECK(header_value(decoded.records[1], header::delivery_id) == "77:2:2147483647");
    CHECK(header_value(decoded.records[2], header::delivery_id) == "77:2:0");
    CHECK(decoded.records[2].timestamp == 1002);
    CHECK_FALSE(build_producer_batch({}, first));
}

TEST_CASE("delivery id: a retransmitted publish is stored once (real store, temp dir)") {
    store::test::temp_dir dir;
    auto s = open_store(dir.path());
    const ingest_rules rules = ingest_rules::defaults();
    session_producer producer(1001);

    const mqtt::publish p = make_publish("site/1/temp", "21.5");
    const ingest_rule* rule = rules.logging_rule(p.topic);
    REQUIRE(rule);
    prepared first = prepare(*rule, producer, p, "dev-1", 5000);
    auto part = s->get(rule->log_topic, first.partition);
    REQUIRE(part);
    auto r1 = part->append(first.batch).get();
    REQUIRE(r1.error == store::errc::ok);
    CHECK_FALSE(r1.duplicate);

    // The device did not get its PUBACK and sends the PUBLISH again (DUP): the broker rebuilds
    // the record with the delivery id it assigned the first time.
    mqtt::publish again = p;
    again.dup = true;
    const store::record r =
        to_record(again, "dev-1", 6000, first.id, partition_key(rule->key, again.topic, "dev-1"));
    auto retry = build_producer_batch({&r, 1}, first.id);
    REQUIRE(retry);
    auto r2 = part->append(std::move(*retry)).get();
    CHECK(r2.error == store::errc::ok);
    CHECK(r2.duplicate);
    CHECK(r2.base_offset == r1.base_offset);

    // The next publish to the same partition continues the sequence and is stored.
    prepared second = prepare(*rule, producer, p, "dev-1", 7000);
    CHECK(second.id == delivery_id{1001, 0, 1});
    auto r3 = part->append(second.batch).get();
    CHECK(r3.error == store::errc::ok);
    CHECK_FALSE(r3.duplicate);

    auto records = read_all(*part);
    REQUIRE(records.size() == 2);
    CHECK(header_value(records[0], header::delivery_id) == "1001:0:0");
    CHECK(header_value(records[1], header::delivery_id) == "1001:0:1");
    CHECK(records[0].key == "site/1/temp");
    CHECK(records[0].timestamp == 5000);
    CHECK(s->close() == store::errc::ok);
}

TEST_CASE("delivery id: many partitions, N-record batches, epochs fence the old session") {
    store::test::temp_dir dir;
    auto s = open_store(dir.path());
    const ingest_rules rules = ingest_rules::defaults();
    const ingest_rule& rule = rules.rules()[0];
    session_producer producer(7);

    // Publishes spread over the partitions: each partition sees a contiguous sequence.
    std::vector<prepared> sent;
    for (int i = 0; i < 24; ++i) {
        prepared x = prepare(rule, producer, make_publish("dev/" + std::to_string(i), "v"), "dev-7",
                             1000 + i);
        auto res = s->get(rule.log_topic, x.partition)->append(x.batch).get();
        INFO("publish " << i << " partition " << x.partition);
        REQUIRE(res.error == store::errc::ok);
        CHECK_FALSE(res.duplicate);
        sent.push_back(std::move(x));
    }
    // The last one to each partition again: duplicates, nothing written.
    std::size_t total = 0;
    for (int p = 0; p < rule.partitions; ++p) total += read_all(*s->get(rule.log_topic, p)).size();
    CHECK(total == 24);
    for (int i = 20; i < 24; ++i) {
        auto res = s->get(rule.log_topic, sent[static_cast<std::size_t>(i)].partition)
                       ->append(sent[static_cast<std::size_t>(i)].batch)
                       .get();
        CHECK(res.duplicate);
    }

    // A two-record batch to one partition, sent twice.
    const int p0 = sent[0].partition;
    auto part = s->get(rule.log_topic, p0);
    const delivery_id base = producer.assign(rule.log_topic, p0, 2);
    std::vector<store::record> two = {
        to_record(make_publish("x", "1"), "dev-7", 2000, base, std::string_view("x")),
        to_record(make_publish("x", "2"), "dev-7", 2001, base.plus(1), std::string_view("x"))};
    const auto before = part->log_end_offset();
    auto once = part->append(*build_producer_batch(two, base)).get();
    REQUIRE(once.error == store::errc::ok);
    auto twice = part->append(*build_producer_batch(two, base)).get();
    CHECK(twice.duplicate);
    CHECK(twice.base_offset == once.base_offset);
    CHECK(part->log_end_offset() == before + 2);

    // Takeover: the new owner bumps the epoch; the old owner's late retry is fenced.
    session_producer taken = producer;
    REQUIRE(taken.bump_epoch());
    prepared fresh = prepare(rule, taken, make_publish("x", "3"), "dev-7", 3000);
    auto fresh_part = s->get(rule.log_topic, fresh.partition);
    CHECK(fresh_part->append(fresh.batch).get().error == store::errc::ok);
    const delivery_id stale = producer.assign(rule.log_topic, fresh.partition);
    const store::record late =
        to_record(make_publish("x", "old"), "dev-7", 3001, stale, std::string_view("x"));
    CHECK(fresh_part->append(*build_producer_batch({&late, 1}, stale)).get().error ==
          store::errc::invalid_producer_epoch);
    CHECK(s->close() == store::errc::ok);
}

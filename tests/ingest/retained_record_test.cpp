#include <catch2/catch.hpp>

#include <map>
#include <string>

#include "ingest/retained_record.hpp"
#include "store/store.hpp"
#include "tests/store/test_util.hpp"

using namespace sluice;
using namespace sluice::ingest;

TEST_CASE("retained: a retained message is a record keyed by its topic") {
    mqtt::publish p;
    p.topic = "home/lamp/state";
    p.retain = true;
    p.qos_level = mqtt::qos::at_least_once;
    p.payload = mqtt::shared_bytes(std::string_view("on"));
    p.props.content_type = "text/plain";
    p.props.message_expiry_interval = 100;
    p.props.user_properties = {{"room", "hall"}};
    store::record r = retained_to_record(p, "lamp-1", 50'000);
    CHECK(r.key == "home/lamp/state");
    CHECK(r.value == "on");
    CHECK(r.timestamp == 50'000);
    CHECK(r.headers == std::vector<store::record_header>{
                           {"mqtt.topic", "home/lamp/state"},
                           {"mqtt.qos", "1"},
                           {"mqtt.retain", "1"},
                           {"mqtt.client_id", "lamp-1"},
                           {"mqtt.message_expiry", "100"},
                           {"mqtt.content_type", "text/plain"},
                           {"mqtt.user.room", "hall"},
                       });

    auto back = retained_from_record(r, 60'000);
    REQUIRE(back.ok());
    CHECK(back.entry.topic == "home/lamp/state");
    REQUIRE(back.entry.message);
    mqtt::publish expected = p;
    expected.props.message_expiry_interval = 90;
    CHECK(*back.entry.message == expected);

    auto late = retained_from_record(r, 150'000);
    CHECK(late.error == mapping_error::expired);
    CHECK(late.entry.topic == "home/lamp/state");
}

TEST_CASE("retained: an empty payload is a tombstone that deletes the topic's message") {
    mqtt::publish p;
    p.topic = "home/lamp/state";
    p.retain = true;
    p.props.content_type = "ignored";
    store::record r = retained_to_record(p, "lamp-1", 1);
    CHECK(r.key == "home/lamp/state");
    CHECK_FALSE(r.value);  // null: compaction removes the key
    CHECK(r.headers.empty());
    auto back = retained_from_record(r, 2);
    REQUIRE(back.ok());
    CHECK(back.entry.topic == "home/lamp/state");
    CHECK_FALSE(back.entry.message);
}

TEST_CASE("retained: bad records and the topic's settings") {
    store::record no_key;
    no_key.value = "x";
    CHECK(retained_from_record(no_key, 0).error == mapping_error::missing_topic);
    store::record wildcard;
    wildcard.key = "a/#";
    wildcard.value = "x";
    CHECK(retained_from_record(wildcard, 0).error == mapping_error::invalid_topic);
    store::record bad_qos;
    bad_qos.key = "a";
    bad_qos.value = "x";
    bad_qos.headers = {{"mqtt.qos", "5"}};
    CHECK(retained_from_record(bad_qos, 0).error == mapping_error::invalid_header);

    const store::log_config c = retained_log_config();
    CHECK(c.cleanup == store::cleanup_policy::compact);
    CHECK(c.retention_ms == -1);
    CHECK(c.flush == store::durability::always);
    CHECK(retained_topic == "__retained");
}

TEST_CASE("retained: replay from a compacted __retained topic (real store, temp dir)") {
    store::test::temp_dir dir;
    store::store_options options;
    options.data_dir = dir.path();
    options.writer_threads = 1;
    options.maintenance_interval_ms = 0;
    options.log = [](const std::string&) {};
    store::errc e = store::errc::ok;
    auto s = store::store::open(options, e);
    REQUIRE(s);
    store::log_config config = retained_log_config();
    config.segment_bytes = 1024;  // small segments, so compaction has closed ones to rewrite
    REQUIRE(s->create_topic(std::string(retained_topic), retained_partitions, config) ==
            store::errc::ok);
    auto part = s->get(std::string(retained_topic), 0);
    REQUIRE(part);

    auto retain = [&](const std::string& topic, const std::string& payload, std::int64_t at) {
        mqtt::publish p;
        p.topic = topic;
        p.retain = true;
        p.payload = mqtt::shared_bytes(std::string_view(payload));
        store::batch_builder b;
        const store::record r = retained_to_record(p, "c", at);
        b.add(r.timestamp, r.key,
              r.value ? std::optional<std::string_view>(*r.value) : std::nullopt, r.headers);
        REQUIRE(part->append(*b.build()).get().error == store::errc::ok);
    };
    for (int round = 0; round < 20; ++round) {
        retain("lamp/" + std::to_string(round % 4), "state-" + std::to_string(round), 1000);
        retain("door", "open-" + std::to_string(round), 1000);
    }
    retain("lamp/3", "", 1000);  // cleared: a tombstone

    // Replay as the broker does at start-up: the last record per key wins, tombstones delete.
    auto replay = [&] {
        std::map<std::string, std::string> retained;
        REQUIRE(part->for_each_record(store::offset{0}, [&](const store::record& r) {
            auto result = retained_from_record(r, 2000);
            REQUIRE(result.ok());
            if (result.entry.message)
                retained[result.entry.topic] = result.entry.message->payload.to_string();
            else
                retained.erase(result.entry.topic);
            return true;
        }) == store::errc::ok);
        return retained;
    };
    const std::map<std::string, std::string> expected = {{"door", "open-19"},
                                                         {"lamp/0", "state-16"},
                                                         {"lamp/1", "state-17"},
                                                         {"lamp/2", "state-18"}};
    CHECK(replay() == expected);

    // Compaction (tombstones past delete_retention_ms) keeps what replay needs.
    const auto before = part->log_end_offset();
    const auto stats = s->run_maintenance(1000 + config.delete_retention_ms + 1);
    CHECK(stats.errors == 0);
    CHECK(stats.records_compacted > 0);
    CHECK(part->log_end_offset() == before);
    CHECK(replay() == expected);
    CHECK(s->close() == store::errc::ok);
}

// The Kafka listener's handler logic against a real store in a temporary folder, without
// sockets: Metadata, ListOffsets, CreateTopics, DeleteTopics, DescribeConfigs, the Produce
// batch splitter, Fetch reads within the byte limits, and the commit hook that wakes waiting
// Fetches (docs/kafka-protocol.md, "The listener").
#include <atomic>
#include <filesystem>
#include <random>

#include <catch2/catch.hpp>

#include "broker/durable_log.hpp"
#include "broker/kafka_admin_handlers.hpp"
#include "broker/kafka_fetch.hpp"
#include "broker/kafka_produce.hpp"
#include "broker/topic_deletion.hpp"
#include "store/batch_builder.hpp"

using namespace sluice;
using namespace sluice::broker;
using kafka::error_code;

namespace {

struct temp_store {
    std::filesystem::path path;
    std::unique_ptr<store::store> s;
    temp_store() {
        std::random_device rd;
        path = std::filesystem::temp_directory_path() /
               ("sluice-kafka-handlers-" + std::to_string(rd()) + std::to_string(rd()));
        store::store_options o;
        o.data_dir = path.string();
        o.maintenance_interval_ms = 0;
        o.log = [](const std::string&) {};
        store::errc e = store::errc::ok;
        s = store::store::open(o, e);
        REQUIRE(s);
    }
    ~temp_store() {
        s->close();
        s.reset();
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
};

store::record_batch make_batch(std::vector<std::string> values, std::int64_t ts = 1000) {
    store::batch_builder b;
    for (const auto& v : values) b.add(ts++, std::nullopt, v);
    return *b.build();
}

void append(store::store& s, const std::string& topic, int p, store::record_batch b) {
    REQUIRE(s.get(topic, p)->append(std::move(b)).get().error == store::errc::ok);
}

}  // namespace

TEST_CASE("kafka metadata lists topics, marks internal ones, refuses unknown ones") {
    temp_store t;
    REQUIRE(t.s->create_topic("events", 3, {}) == store::errc::ok);
    REQUIRE(t.s->create_topic("__internal", 1, {}) == store::errc::ok);
    auto all = metadata_answer({}, *t.s, {"127.0.0.1", 9092});
    REQUIRE(all.brokers.size() == 1);
    CHECK(all.brokers[0].node_id == 0);
    CHECK(all.brokers[0].port == 9092);
    REQUIRE(all.topics.size() == 2);
    for (const auto& topic : all.topics) {
        if (topic.name == "events") {
            CHECK_FALSE(topic.is_internal);
            REQUIRE(topic.partitions.size() == 3);
            CHECK(topic.partitions[2].index == 2);
            CHECK(topic.partitions[2].leader_id == 0);
            CHECK(topic.partitions[2].isr_nodes == std::vector<std::int32_t>{0});
        } else {
            CHECK(topic.name == "__internal");
            CHECK(topic.is_internal);
        }
    }
    kafka::metadata_request one;
    one.topics = std::vector<std::string>{"missing"};
    auto r = metadata_answer(one, *t.s, {"h", 1});
    REQUIRE(r.topics.size() == 1);
    CHECK(r.topics[0].error == error_code::unknown_topic_or_partition);
    CHECK(r.topics[0].partitions.empty());
}

TEST_CASE("kafka list offsets: earliest, latest, by timestamp, unknown partition") {
    temp_store t;
    REQUIRE(t.s->create_topic("t", 1, {}) == store::errc::ok);
    append(*t.s, "t", 0, make_batch({"a", "b"}, 1000));    // offsets 0-1, ts 1000-1001
    append(*t.s, "t", 0, make_batch({"c", "d"}, 5000));    // offsets 2-3, ts 5000-5001
    kafka::list_offsets_request req;
    req.topics.push_back({"t", {{0, -1, -2, 1}, {0, -1, -1, 1}, {0, -1, 5001, 1}, {0, -1, 9999, 1},
                                {4, -1, -1, 1}}});
    auto r = list_offsets_answer(req, 1, *t.s);
    const auto& p = r.topics[0].partitions;
    REQUIRE(p.size() == 5);
    CHECK(p[0].offset == 0);
    CHECK(p[1].offset == 4);
    CHECK(p[2].offset == 3);
    CHECK(p[2].timestamp == 5001);
    CHECK(p[3].offset == -1);
    CHECK(p[4].error == error_code::unknown_topic_or_partition);
    auto v0 = list_offsets_answer(req, 0, *t.s);
    CHECK(v0.topics[0].partitions[1].old_style_offsets == std::vector<std::int64_t>{4});
}

TEST_CASE("kafka create topics: configs, refusals, validate only") {
    temp_store t;
    kafka::create_topics_request req;
    req.topics.push_back({"made", 2, 1, {}, {{"cleanup.policy", "compact"}, {"flush.ms", "250"}}});
    req.topics.push_back({"__mine", 1, 1, {}, {}});
    req.topics.push_back({"bad name!", 1, 1, {}, {}});
    req.topics.push_back({"three-copies", 1, 3, {}, {}});
    req.topics.push_back({"zero", 0, 1, {}, {}});
    req.topics.push_back({"bad-config", 1, 1, {}, {{"retention.ms", "soon"}}});
    req.topics.push_back({"unknown-config", 1, 1, {}, {{"no.such", "1"}}});
    req.topics.push_back({"default-count", -1, -1, {}, {}});
    auto r = create_topics_answer(req, *t.s);
    REQUIRE(r.topics.size() == 8);
    CHECK(r.topics[0].error == error_code::none);
    CHECK(r.topics[1].error == error_code::invalid_topic_exception);
    CHECK(r.topics[2].error == error_code::invalid_topic_exception);
    CHECK(r.topics[3].error == error_code::invalid_replication_factor);
    CHECK(r.topics[4].error == error_code::invalid_partitions);
    CHECK(static_cast<int>(r.topics[5].error) == 40);  // INVALID_CONFIG
    CHECK(static_cast<int>(r.topics[6].error) == 40);
    CHECK(r.topics[7].error == error_code::none);
    CHECK(t.s->partition_count("made") == 2);
    CHECK(t.s->partition_count("default-count") == 1);
    auto cfg = t.s->topic_config("made");
    REQUIRE(cfg);
    CHECK(cfg->cleanup == store::cleanup_policy::compact);
    CHECK(cfg->flush == store::durability::interval);
    CHECK(cfg->flush_interval_ms == 250);

    kafka::create_topics_request again;
    again.topics.push_back({"made", 1, 1, {}, {}});
    again.topics.push_back({"checked", 1, 1, {}, {}});
    again.validate_only = true;
    auto r2 = create_topics_answer(again, *t.s);
    CHECK(r2.topics[0].error == error_code::topic_already_exists);
    CHECK(r2.topics[1].error == error_code::none);
    CHECK(t.s->partition_count("checked") == 0);
}

TEST_CASE("kafka delete topics deletes, and refuses internal, ingest-rule and egress-rule topics") {
    auto dir = std::filesystem::temp_directory_path() /
               ("sluice-kafka-delete-" + std::to_string(std::random_device{}()));
    durable_log::options o;
    o.data_dir = dir.string();
    o.rules = std::make_shared<const ingest::ingest_rules>(ingest::ingest_rules::defaults());
    std::string error;
    bool config_problem = false;
    auto log = durable_log::open(o, error, config_problem);
    REQUIRE(log);
    auto st = log->store_handle();
    REQUIRE(st->create_topic("t", 2, {}) == store::errc::ok);
    REQUIRE(st->create_topic("__x", 1, {}) == store::errc::ok);
    REQUIRE(st->create_topic("commands", 1, {}) == store::errc::ok);
    append(*st, "t", 1, make_batch({"a", "b"}));
    std::string parse_error;
    auto egress = ingest::egress_rules::parse(
        nlohmann::json::parse(R"([{"log_topic": "commands", "mqtt_topic": "devices/{key}"}])"),
        parse_error);
    REQUIRE(egress);
    kafka::delete_topics_request req;
    req.topic_names = {"t", "__x", "mqtt", "none", "commands"};
    auto r = delete_topics_answer(req, *log, *egress);
    REQUIRE(r.responses.size() == 5);
    CHECK(r.responses[0].name == "t");
    CHECK(r.responses[0].error == error_code::none);
    CHECK(r.responses[1].error == error_code::invalid_topic_exception);
    CHECK(static_cast<int>(r.responses[2].error) == 44);  // POLICY_VIOLATION: a rule writes it
    CHECK(r.responses[3].error == error_code::unknown_topic_or_partition);
    CHECK(static_cast<int>(r.responses[4].error) == 44);  // POLICY_VIOLATION: egress reads it
    CHECK(st->partition_count("commands") == 1);
    // The operator's message names the rule.
    auto why = delete_log_topic(*log, *egress, "commands", "a test");
    CHECK(why.outcome == topic_deletion::egress_rule);
    CHECK(why.message.find("egress_rules[0]") != std::string::npos);
    CHECK(why.message.find("devices/{key}") != std::string::npos);
    CHECK(st->partition_count("t") == 0);
    CHECK(st->partition_count("__x") == 1);
    CHECK(st->partition_count("mqtt") > 0);
    // Created again, it is empty.
    REQUIRE(st->create_topic("t", 1, {}) == store::errc::ok);
    CHECK(st->get("t", 0)->log_end_offset() == store::offset{0});
    st.reset();
    log->close();
    log.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
}

TEST_CASE("kafka describe configs reports topic settings under Kafka names") {
    temp_store t;
    store::log_config c;
    c.retention_ms = 3600000;
    REQUIRE(t.s->create_topic("t", 1, c) == store::errc::ok);
    kafka::describe_configs_request req;
    req.resources.push_back({2, "t", std::nullopt});
    req.resources.push_back({2, "t", std::vector<std::string>{"retention.ms"}});
    req.resources.push_back({2, "missing", std::nullopt});
    auto r = describe_configs_answer(req, 1, *t.s);
    REQUIRE(r.results.size() == 3);
    bool found = false;
    for (const auto& e : r.results[0].configs) {
        if (e.name == "retention.ms") {
            found = true;
            CHECK(e.value == "3600000");
            CHECK(e.config_source == 1);
        }
        if (e.name == "cleanup.policy") CHECK(e.value == "delete");
    }
    CHECK(found);
    REQUIRE(r.results[1].configs.size() == 1);
    CHECK(r.results[2].error == error_code::unknown_topic_or_partition);
}

TEST_CASE("kafka produce splits records into whole batches") {
    auto a = make_batch({"x"});
    auto b = make_batch({"y", "z"});
    store::byte_buffer both(a.bytes().begin(), a.bytes().end());
    both.insert(both.end(), b.bytes().begin(), b.bytes().end());
    auto split = split_batches(both);
    REQUIRE(split);
    REQUIRE(split->size() == 2);
    CHECK(split->at(1).size() == b.size());
    both.pop_back();
    CHECK_FALSE(split_batches(both));
    CHECK_FALSE(split_batches({}));
    CHECK_FALSE(split_batches(store::byte_buffer(20, 0)));
}

TEST_CASE("kafka fetch reads whole batches within the byte limits") {
    temp_store t;
    REQUIRE(t.s->create_topic("t", 2, {}) == store::errc::ok);
    for (int i = 0; i < 3; ++i) append(*t.s, "t", 0, make_batch({std::string(100, 'a' + i)}));
    append(*t.s, "t", 1, make_batch({std::string(100, 'z')}));
    const auto one = t.s->get("t", 0)->read(store::offset{0}, 1).bytes;  // one batch's size
    auto target = [&](int p, std::int64_t off, std::int32_t max) {
        return fetch_target{0, p, t.s->get("t", p), off, max};
    };
    SECTION("everything") {
        auto r = read_fetch({target(0, 0, 1 << 20), target(1, 0, 1 << 20)}, {"t"}, 1 << 20);
        CHECK(r.bytes == 4 * one);
        CHECK(r.resp.topics[0].partitions[0].high_watermark == 3);
        CHECK(r.resp.topics[0].partitions[0].last_stable_offset == 3);
        CHECK(r.resp.topics[0].partitions[1].records.size() == one);
        CHECK_FALSE(r.errors);
    }
    SECTION("per partition limit; the first batch is sent even when larger") {
        auto r = read_fetch({target(0, 0, 10), target(1, 0, 10)}, {"t"}, 1 << 20);
        CHECK(r.resp.topics[0].partitions[0].records.size() == one);
        CHECK(r.resp.topics[0].partitions[1].records.size() == 0);
    }
    SECTION("response limit") {
        auto r = read_fetch({target(0, 0, 1 << 20), target(1, 0, 1 << 20)}, {"t"},
                            static_cast<std::int32_t>(2 * one));
        CHECK(r.resp.topics[0].partitions[0].records.size() == 2 * one);
        CHECK(r.resp.topics[0].partitions[1].records.size() == 0);
        CHECK(r.resp.topics[0].partitions[1].high_watermark == 1);
    }
    SECTION("out of range and unknown") {
        fetch_target unknown{0, 9, nullptr, 0, 100};
        auto r = read_fetch({target(0, 4, 100), unknown}, {"t"}, 1 << 20);
        CHECK(r.errors);
        CHECK(r.resp.topics[0].partitions[0].error == error_code::offset_out_of_range);
        CHECK(r.resp.topics[0].partitions[0].high_watermark == 3);
        CHECK(r.resp.topics[0].partitions[1].error == error_code::unknown_topic_or_partition);
    }
    SECTION("at the end: empty, no error") {
        auto r = read_fetch({target(0, 3, 100)}, {"t"}, 1 << 20);
        CHECK(r.bytes == 0);
        CHECK_FALSE(r.errors);
    }
}

TEST_CASE("the store's commit hook names the partition an append made readable") {
    temp_store t;
    REQUIRE(t.s->create_topic("t", 2, {}) == store::errc::ok);
    std::atomic<const store::partition*> seen{nullptr};
    std::atomic<int> calls{0};
    t.s->set_commit_observer([&](const store::partition& p) {
        seen = &p;
        ++calls;
    });
    append(*t.s, "t", 1, make_batch({"v"}));
    CHECK(calls.load() == 1);
    CHECK(seen.load() == t.s->get("t", 1).get());
    t.s->set_commit_observer(nullptr);
    append(*t.s, "t", 1, make_batch({"w"}));
    CHECK(calls.load() == 1);
}

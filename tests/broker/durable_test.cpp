// Durable ingest without a socket (docs/mqtt.md, "Durable ingest"): the session as a producer,
// the inbound outcomes that make a retransmission find its first append, the config keys, and
// the protocol object writing to a real store in a temporary folder, its acknowledgements
// completed by the store's writer thread through posted work.
#include <catch2/catch.hpp>

#include <condition_variable>
#include <deque>
#include <filesystem>
#include <functional>
#include <mutex>
#include <random>

#include "broker/append_outcome.hpp"
#include "broker/broker_core.hpp"
#include "broker/durable_log.hpp"
#include "broker/mqtt_protocol.hpp"
#include "tests/broker/test_connection.hpp"
#include "broker/session.hpp"
#include "mqtt/decoder.hpp"
#include "mqtt/encoder.hpp"

using namespace sluice::broker;
namespace mqtt = sluice::mqtt;
namespace store = sluice::store;
using mqtt::reason_code;

namespace {

struct fake_owner final : session_owner {
    void wake() override {}
    void kick(mqtt::reason_code, bool) override {}
};

struct temp_dir {
    std::filesystem::path path;
    temp_dir() {
        std::random_device rd;
        path = std::filesystem::temp_directory_path() /
               ("sluice-durable-test-" + std::to_string(rd()) + std::to_string(rd()));
        std::filesystem::create_directories(path);
    }
    ~temp_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
};

// Work posted to "the connection's thread" from any thread (the store's writer posts here).
struct post_queue {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<std::function<void()>> q;

    void push(std::function<void()> fn) {
        {
            std::lock_guard lock(mu);
            q.push_back(std::move(fn));
        }
        cv.notify_all();
    }
    // Runs posted work until `done` holds (it may also become true on another thread, so it
    // is checked again at least every 50 ms); false if it does not within 20 s.
    bool run_until(const std::function<bool()>& done) {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        while (!done()) {
            if (std::chrono::steady_clock::now() > deadline) return false;
            std::function<void()> fn;
            {
                std::unique_lock lock(mu);
                if (!cv.wait_for(lock, std::chrono::milliseconds(50), [&] { return !q.empty(); }))
                    continue;
                fn = std::move(q.front());
                q.pop_front();
            }
            fn();
        }
        return true;
    }
    void clear() {
        std::lock_guard lock(mu);
        q.clear();
    }
};

post_queue posted;

class test_connection final : public testing::test_connection_base {
  public:
    explicit test_connection(listener_state& l)
        : test_connection_base(l, [](std::function<void()> fn) { posted.push(std::move(fn)); }) {}

    // What wait_packets collected, then every packet written since.
    std::vector<mqtt::packet> received() {
        for (auto& p : test_connection_base::received()) got.push_back(std::move(p));
        return std::move(got);
    }
    // Runs posted work until `n` packets were written (false after 20 s without work).
    bool wait_packets(std::size_t n) {
        return posted.run_until([&] {
            auto more = received();
            got = std::move(more);
            return got.size() >= n;
        });
    }

    std::vector<mqtt::packet> got;
};

struct fixture {
    temp_dir dir;
    config cfg;
    io_pool pool{1};
    std::unique_ptr<durable_log> log;
    std::unique_ptr<broker_core> core;
    std::unique_ptr<listener_state> listener;

    fixture() {
        cfg.mqtt_opts.sys_interval_s = 0;
        cfg.data_dir = dir.path.string();
        std::string rules = R"([{"filter": "nolog/#", "log": false},
                                {"filter": "#", "log_topic": "mqtt", "partitions": 2}])";
        std::string error;
        cfg.ingest = std::make_shared<const sluice::ingest::ingest_rules>(
            *sluice::ingest::ingest_rules::parse(nlohmann::json::parse(rules), error));
        posted.clear();
    }
    ~fixture() {
        if (log) log->close();  // completes what is queued (posting to the queue below)
        posted.clear();
        listener.reset();
    }
    listener_state& get_listener() {
        if (!core) {
            std::string error;
            bool config_problem = false;
            log = durable_log::open({cfg.data_dir, cfg.store_opts, cfg.ingest}, error,
                                    config_problem);
            REQUIRE(log);
            core = std::make_unique<broker_core>(cfg, pool);
            core->set_log(log.get());
            listener = std::make_unique<listener_state>(
                listener_settings{"mqtt", listener_kind::mqtt_tcp, {"127.0.0.1", 0}}, *core);
        }
        return *listener;
    }
    std::shared_ptr<test_connection> connect(
        const std::string& id, bool clean = true,
        mqtt::protocol_version v = mqtt::protocol_version::v5) {
        auto c = std::make_shared<test_connection>(get_listener());
        c->version = v;
        mqtt::connect p;
        p.version = v;
        p.client_id = id;
        p.clean_start = clean;
        if (v == mqtt::protocol_version::v5) p.props.session_expiry_interval = 300;
        c->send(p);
        auto got = c->received();
        REQUIRE(got.size() == 1);
        REQUIRE(std::get<mqtt::connack>(got[0]).reason == reason_code::success);
        return c;
    }
    // Every record of log topic "mqtt", after closing the log (clean shutdown).
    std::vector<store::record> records() {
        log->close();
        store::store_options o;
        o.data_dir = cfg.data_dir;
        o.maintenance_interval_ms = 0;
        store::errc e = store::errc::ok;
        auto s = store::store::open(o, e);
        REQUIRE(s);
        std::vector<store::record> out;
        for (int p = 0; p < s->partition_count("mqtt"); ++p) {
            auto part = s->get("mqtt", p);
            part->for_each_record(part->log_start_offset(), [&](const store::record& r) {
                out.push_back(r);
                return true;
            });
        }
        return out;
    }
};

mqtt::publish make_publish(const std::string& topic, mqtt::qos q, std::uint16_t id,
                           const std::string& payload, bool dup = false) {
    mqtt::publish p;
    p.topic = topic;
    p.qos_level = q;
    p.packet_id = id;
    p.dup = dup;
    p.payload = mqtt::shared_bytes(std::string_view(payload));
    return p;
}

std::size_t count_value(const std::vector<store::record>& rs, const std::string& v) {
    std::size_t n = 0;
    for (const auto& r : rs) n += r.value == v;
    return n;
}

}  // namespace

TEST_CASE(
    "durable: a session is a producer; attach bumps the epoch, a failure of the current "
    "epoch too") {
    session s("c");
    fake_owner a, b;
    s.attach(&a, false, 0);
    CHECK_FALSE(s.has_producer());
    CHECK_FALSE(s.assign_delivery(&a, "mqtt", 0, std::nullopt));  // no id to be had
    auto first = s.assign_delivery(&a, "mqtt", 0, 42);
    REQUIRE(first);
    CHECK(*first == sluice::ingest::delivery_id{42, 0, 0});
    auto second = s.assign_delivery(&a, "mqtt", 0, 99);  // keeps its producer id
    CHECK(*second == sluice::ingest::delivery_id{42, 0, 1});
    CHECK(s.assign_delivery(&a, "mqtt", 1, std::nullopt)->sequence == 0);  // per partition
    CHECK_FALSE(s.assign_delivery(&b, "mqtt", 0, 7));                      // not the owner

    s.kick_owner(reason_code::session_taken_over, true);
    s.attach(&b, true, 0);  // takeover: the old owner's queued appends are fenced
    CHECK(*s.assign_delivery(&b, "mqtt", 0, std::nullopt) == sluice::ingest::delivery_id{42, 1, 0});

    s.producer_failed({42, 0, 1});  // an old epoch's failure changes nothing
    CHECK(s.assign_delivery(&b, "mqtt", 0, std::nullopt)->epoch == 1);
    s.producer_failed({42, 1, 1});  // the current epoch's: its sequence is lost
    CHECK(*s.assign_delivery(&b, "mqtt", 0, std::nullopt) == sluice::ingest::delivery_id{42, 2, 0});
}

TEST_CASE("durable: inbound outcomes by packet id; finished ones beyond the window go") {
    session s("c");
    fake_owner a;
    s.attach(&a, false, 0);
    auto o1 = std::make_shared<append_outcome>();
    auto o2 = std::make_shared<append_outcome>();
    s.remember_inbound(&a, 1, o1, 2);
    s.remember_inbound(&a, 2, o2, 2);
    CHECK(s.find_inbound(&a, 1) == o1);
    auto o1b = std::make_shared<append_outcome>();
    s.remember_inbound(&a, 1, o1b, 2);  // the id reused for a new message replaces it
    CHECK(s.find_inbound(&a, 1) == o1b);
    CHECK(s.inbound_remembered() == 2);
    s.remember_inbound(&a, 3, std::make_shared<append_outcome>(), 2);
    CHECK(s.inbound_remembered() == 3);  // o2 (oldest) still waits for its append: kept
    o2->finish(reason_code::success);
    s.remember_inbound(&a, 4, std::make_shared<append_outcome>(), 2);
    CHECK(s.find_inbound(&a, 2) == nullptr);
    CHECK(s.inbound_remembered() == 3);
}

TEST_CASE("durable: an outcome runs its waiters once, at once when already finished") {
    append_outcome o;
    std::vector<reason_code> seen;
    o.wait([&](reason_code rc) { seen.push_back(rc); });
    CHECK(seen.empty());
    CHECK_FALSE(o.finished());
    o.finish(reason_code::unspecified_error);
    o.finish(reason_code::success);  // ignored
    o.wait([&](reason_code rc) { seen.push_back(rc); });
    CHECK(seen ==
          std::vector<reason_code>{reason_code::unspecified_error, reason_code::unspecified_error});
    CHECK(o.failed());
    CHECK(failure_reason(store::errc::io_error) == reason_code::unspecified_error);
    CHECK(failure_reason(store::errc::record_too_large) == reason_code::quota_exceeded);
}

TEST_CASE("durable: ingest_rules and store keys in the config; errors name the key") {
    config cfg;
    REQUIRE(cfg.ingest);
    CHECK(cfg.ingest->rules().size() == 1);
    CHECK(cfg.ingest->rules()[0].log_topic == "mqtt");
    apply_config_json(cfg,
                      R"({"ingest_rules": [{"filter": "a/#", "log_topic": "t", "partitions": 3}],
                             "store": {"writer_threads": 4, "pending_bytes_budget": 4096,
                                       "reopen_interval_ms": 0, "parallel_syncs": 8,
                                       "sync_round_gap_us": 0}})");
    CHECK(cfg.ingest->rules()[0].partitions == 3);
    CHECK(cfg.store_opts.writer_threads == 4);
    CHECK(cfg.store_opts.pending_bytes_budget == 4096);
    CHECK(cfg.store_opts.reopen_interval_ms == 0);
    CHECK(cfg.store_opts.parallel_syncs == 8);
    CHECK(cfg.store_opts.sync_round_gap_us == 0);
    CHECK(config{}.store_opts.sync_round_gap_us == 1000);
    CHECK_THROWS_AS(apply_config_json(cfg, R"({"store": {"sync_round_gap_us": 100001}})"),
                    config_error);
    CHECK_THROWS_AS(apply_config_json(cfg, R"({"store": {"parallel_syncs": 0}})"), config_error);
    try {
        apply_config_json(
            cfg, R"({"ingest_rules": [{"filter": "a/#", "log_topic": "t", "partitions": 0}]})");
        FAIL("no error");
    } catch (const config_error& e) {
        CHECK(e.message == "config key ingest_rules[0].partitions: must be >= 1");
    }
    CHECK_THROWS_AS(apply_config_json(cfg, R"({"store": {"writers": 1}})"), config_error);
}

TEST_CASE("durable: a log topic that exists with another partition count is a config error") {
    temp_dir dir;
    std::string error;
    bool config_problem = false;
    config cfg;
    auto log =
        durable_log::open({dir.path.string(), cfg.store_opts, cfg.ingest}, error, config_problem);
    REQUIRE(log);
    log->close();
    log.reset();
    std::string bad_error;
    auto rules =
        std::make_shared<const sluice::ingest::ingest_rules>(*sluice::ingest::ingest_rules::parse(
            nlohmann::json::parse(R"([{"filter": "#", "log_topic": "mqtt", "partitions": 2}])"),
            bad_error));
    CHECK_FALSE(
        durable_log::open({dir.path.string(), cfg.store_opts, rules}, error, config_problem));
    CHECK(config_problem);
    CHECK(error.find("\"mqtt\" exists with 4 partitions") != std::string::npos);
}

TEST_CASE("durable: producer ids are never handed out twice across restarts") {
    temp_dir dir;
    store::store_options o;
    o.data_dir = dir.path.string();
    o.maintenance_interval_ms = 0;
    std::int64_t last = -1;
    for (int round = 0; round < 3; ++round) {
        store::errc e = store::errc::ok;
        auto s = store::store::open(o, e);
        REQUIRE(s);
        std::string error;
        auto ids = producer_ids::open(*s, error);
        REQUIRE(ids);
        auto a = ids->next();
        REQUIRE(a);
        CHECK(*a > last);
        last = *ids->next();
        s->close();
    }
    CHECK(last == 2 * producer_ids::block_size + 1);
}

TEST_CASE(
    "durable: QoS 1/2 acknowledged after the append, in order; QoS 0 and unlogged "
    "topics") {
    fixture f;
    auto c = f.connect("pub");
    c->send(make_publish("a/1", mqtt::qos::at_least_once, 1, "one"));
    c->send(make_publish("nolog/x", mqtt::qos::at_least_once, 2, "unlogged"));
    c->send(make_publish("a/2", mqtt::qos::exactly_once, 3, "two"));
    c->send(make_publish("a/3", mqtt::qos::at_most_once, 0, "zero"));
    CHECK(c->received().empty());  // nothing acknowledged before the log has it
    REQUIRE(c->wait_packets(3));
    REQUIRE(c->got.size() == 3);
    CHECK(std::get<mqtt::puback>(c->got[0]).packet_id == 1);
    CHECK(std::get<mqtt::puback>(c->got[0]).reason == reason_code::no_matching_subscribers);
    CHECK(std::get<mqtt::puback>(c->got[1]).packet_id == 2);
    CHECK(std::get<mqtt::pubrec>(c->got[2]).packet_id == 3);
    c->send(mqtt::disconnect{});
    auto rs = f.records();
    CHECK(count_value(rs, "one") == 1);
    CHECK(count_value(rs, "two") == 1);
    CHECK(count_value(rs, "zero") == 1);
    CHECK(count_value(rs, "unlogged") == 0);
}

TEST_CASE("durable: DUP after a resume and a repeated QoS 2 id write one record") {
    fixture f;
    auto c = f.connect("dup", false);
    c->send(make_publish("a/1", mqtt::qos::at_least_once, 5, "once"));
    c->send(make_publish("a/2", mqtt::qos::exactly_once, 6, "exactly"));
    REQUIRE(c->wait_packets(2));
    auto again = f.connect("dup", false);  // takeover; the old connection is kicked
    again->send(make_publish("a/1", mqtt::qos::at_least_once, 5, "once", true));
    again->send(make_publish("a/2", mqtt::qos::exactly_once, 6, "exactly", true));
    REQUIRE(again->wait_packets(2));
    CHECK(std::get<mqtt::puback>(again->got[0]).reason == reason_code::success);
    CHECK(std::get<mqtt::pubrec>(again->got[1]).reason == reason_code::success);
    again->send(mqtt::pubrel{6, reason_code::success, {}});
    again->send(make_publish("a/1", mqtt::qos::at_least_once, 5, "new message"));  // no DUP
    REQUIRE(again->wait_packets(4));
    again->send(mqtt::disconnect{});
    auto rs = f.records();
    CHECK(count_value(rs, "once") == 1);
    CHECK(count_value(rs, "exactly") == 1);
    CHECK(count_value(rs, "new message") == 1);
}

TEST_CASE("durable: a closed log refuses: 0x80 on 5.0, the connection closed on 3.1.1") {
    fixture f;
    auto v5 = f.connect("v5");
    auto v3 = f.connect("v3", true, mqtt::protocol_version::v3_1_1);
    f.log->close();
    v5->send(make_publish("a/1", mqtt::qos::at_least_once, 1, "refused"));
    v5->send(make_publish("a/2", mqtt::qos::exactly_once, 2, "refused too"));
    REQUIRE(v5->wait_packets(2));
    CHECK(std::get<mqtt::puback>(v5->got[0]).reason == reason_code::unspecified_error);
    CHECK(std::get<mqtt::pubrec>(v5->got[1]).reason == reason_code::unspecified_error);
    CHECK_FALSE(v5->closed);
    v3->send(make_publish("a/1", mqtt::qos::at_least_once, 1, "refused"));
    REQUIRE(posted.run_until([&] { return v3->closed; }));
    CHECK(v3->received().empty());
}

TEST_CASE("durable: reading stops at the Receive Maximum of outstanding appends") {
    fixture f;
    f.cfg.mqtt_opts.receive_maximum = 2;
    auto c = f.connect("pub", true, mqtt::protocol_version::v3_1_1);
    // Three in one read: the third waits in the decoder until an append completes.
    std::vector<std::uint8_t> bytes;
    for (std::uint16_t id = 1; id <= 3; ++id)
        REQUIRE(mqtt::encode(make_publish("a/b", mqtt::qos::at_least_once, id, "m"),
                             mqtt::protocol_version::v3_1_1, bytes));
    CHECK_FALSE(c->on_bytes(bytes));  // paused: do not read more
    CHECK_FALSE(c->may_read());
    REQUIRE(c->wait_packets(3));
    CHECK(c->may_read());
    CHECK_FALSE(c->closed);
}

TEST_CASE("durable: past the pending-bytes budget a connection waits for its own appends") {
    fixture f;
    f.cfg.store_opts.pending_bytes_budget = 1024;
    auto c = f.connect("pub");
    const std::string big(4096, 'x');
    std::vector<std::uint8_t> bytes;
    for (int i = 0; i < 3; ++i)
        REQUIRE(mqtt::encode(make_publish("a/b", mqtt::qos::at_most_once, 0, big + char('0' + i)),
                             mqtt::protocol_version::v5, bytes));
    c->on_bytes(bytes);
    // Whether the first append completed before the budget was checked or not, reading
    // resumes once this connection's appends are written, and every message is logged.
    REQUIRE(posted.run_until([&] { return c->may_read() && f.log->pending_bytes() == 0; }));
    c->send(mqtt::disconnect{});
    auto rs = f.records();
    for (int i = 0; i < 3; ++i) CHECK(count_value(rs, big + char('0' + i)) == 1);
}

// The group service with a real io_context on its own thread and a real store in a temporary
// folder (docs/kafka-protocol.md, "Consumer groups and offsets"): committed offsets are
// durable and survive a restart of the service and the log, two members join and sync
// through the service's completions, the timer expires a silent member, commits are checked
// against the group's generation and members.
#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <future>
#include <random>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "broker/consumer_offsets.hpp"
#include "broker/durable_log.hpp"
#include "broker/kafka_group_service.hpp"
#include "store/batch_builder.hpp"

using namespace sluice::broker;
namespace kafka = sluice::kafka;
namespace store = sluice::store;
using kafka::error_code;

namespace {

struct temp_dir {
    std::filesystem::path path;
    temp_dir() {
        std::random_device rd;
        path = std::filesystem::temp_directory_path() /
               ("sluice-group-test-" + std::to_string(rd()) + std::to_string(rd()));
        std::filesystem::create_directories(path);
    }
    ~temp_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
};

// The log on `dir` and the service on an io_context run by its own thread, as in the broker.
struct node {
    std::unique_ptr<durable_log> log;
    boost::asio::io_context home;
    std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work;
    std::thread thread;
    std::unique_ptr<kafka_group_service> service;
    std::int32_t next_correlation = 1;

    explicit node(const std::string& dir, kafka::group_config cfg = fast_groups()) {
        std::string error;
        bool config_problem = false;
        log = durable_log::open({dir, store_settings{},
                                 std::make_shared<const sluice::ingest::ingest_rules>(
                                     sluice::ingest::ingest_rules::defaults())},
                                error, config_problem);
        REQUIRE(log);
        auto st = log->store_handle();
        if (st->partition_count("t") == 0) {
            store::log_config c;
            REQUIRE(st->create_topic("t", 3, c) == store::errc::ok);
        }
        work.emplace(home.get_executor());
        thread = std::thread([this] { home.run(); });
        service = std::make_unique<kafka_group_service>(home, *log, cfg);
        service->start();
    }
    ~node() {
        service->stop();
        work.reset();
        home.stop();
        thread.join();
        service.reset();
        log->close();
    }

    static kafka::group_config fast_groups() {
        kafka::group_config c;
        c.min_session_timeout_ms = 100;
        c.initial_rebalance_delay_ms = 50;
        return c;
    }

    // Sends a request; the future is ready when the service answers.
    template <class Body>
    std::future<kafka::response_body> send(Body body, std::int16_t version,
                                           const std::string& client = "c") {
        auto p = std::make_shared<std::promise<kafka::response_body>>();
        auto f = p->get_future();
        kafka::request req;
        req.header.key = kafka::api_key::join_group;  // the codec's business, not the service's
        req.header.api_version = version;
        req.header.correlation_id = next_correlation++;
        req.header.client_id = client;
        req.body = std::move(body);
        kafka_group_service::context ctx{client, "/127.0.0.1", "127.0.0.1", 9092};
        service->handle(std::move(req), ctx,
                        [p](kafka::response_body r) { p->set_value(std::move(r)); });
        return f;
    }
    template <class Response, class Body>
    Response call(Body body, std::int16_t version, const std::string& client = "c") {
        return get<Response>(send(std::move(body), version, client));
    }
    template <class Response>
    static Response get(std::future<kafka::response_body> f) {
        REQUIRE(f.wait_for(std::chrono::seconds(20)) == std::future_status::ready);
        auto r = f.get();
        REQUIRE(std::holds_alternative<Response>(r));
        return std::get<Response>(std::move(r));
    }
    group_snapshot snapshot() {
        std::promise<group_snapshot> p;
        auto f = p.get_future();
        service->snapshot([&p](group_snapshot s) { p.set_value(std::move(s)); });
        REQUIRE(f.wait_for(std::chrono::seconds(20)) == std::future_status::ready);
        return f.get();
    }
};

kafka::offset_commit_request commit_of(const std::string& group, std::int32_t generation,
                                       const std::string& member,
                                       std::vector<std::pair<std::int32_t, std::int64_t>> offsets,
                                       const std::string& topic = "t") {
    kafka::offset_commit_request r;
    r.group_id = group;
    r.generation_id = generation;
    r.member_id = member;
    auto& t = r.topics.emplace_back();
    t.name = topic;
    for (auto [p, o] : offsets) {
        kafka::offset_commit_request::partition x;
        x.index = p;
        x.committed_offset = o;
        x.committed_metadata = "m" + std::to_string(o);
        t.partitions.push_back(x);
    }
    return r;
}

std::vector<error_code> errors_of(const kafka::offset_commit_response& r) {
    std::vector<error_code> out;
    for (const auto& t : r.topics)
        for (const auto& p : t.partitions) out.push_back(p.error);
    return out;
}

kafka::offset_fetch_request fetch_of(const std::string& group, std::vector<std::int32_t> parts) {
    kafka::offset_fetch_request r;
    r.group_id = group;
    r.topics = std::vector<kafka::offset_fetch_request::topic>{{"t", std::move(parts)}};
    return r;
}

// partition -> (offset, metadata) in a fetch response for topic "t"
std::map<std::int32_t, std::pair<std::int64_t, std::string>> fetched(
    const kafka::offset_fetch_response& r) {
    std::map<std::int32_t, std::pair<std::int64_t, std::string>> out;
    for (const auto& t : r.topics) {
        REQUIRE(t.name == "t");
        for (const auto& p : t.partitions) {
            CHECK(p.error == error_code::none);
            out[p.index] = {p.committed_offset, p.metadata.value_or("<null>")};
        }
    }
    return out;
}

kafka::join_group_request join_of(const std::string& group, const std::string& member,
                                  std::int32_t session_timeout_ms = 10000) {
    kafka::join_group_request r;
    r.group_id = group;
    r.session_timeout_ms = session_timeout_ms;
    r.rebalance_timeout_ms = 10000;
    r.member_id = member;
    r.protocol_type = "consumer";
    r.protocols = {{"range", {0, 1}}};
    return r;
}

// A consumer-protocol assignment of partitions of "t".
std::vector<std::uint8_t> assignment_of(std::vector<std::int32_t> parts) {
    std::vector<std::uint8_t> b = {
        0, 1, 0, 0, 0, 1, 0, 1, 't', 0, 0, 0, static_cast<std::uint8_t>(parts.size())};
    for (auto p : parts) {
        b.insert(b.end(), {0, 0, 0, static_cast<std::uint8_t>(p)});
    }
    b.insert(b.end(), {0xff, 0xff, 0xff, 0xff});
    return b;
}

}  // namespace

TEST_CASE("group service: committed offsets survive a restart on the same data dir") {
    temp_dir dir;
    {
        node n(dir.path.string());
        // Standalone commits (generation -1, no member) for a group without members.
        auto r =
            n.call<kafka::offset_commit_response>(commit_of("g", -1, "", {{0, 10}, {2, 7}}), 2);
        CHECK(errors_of(r) == std::vector<error_code>{error_code::none, error_code::none});
        r = n.call<kafka::offset_commit_response>(commit_of("g", -1, "", {{0, 12}}), 7);
        CHECK(errors_of(r) == std::vector<error_code>{error_code::none});
        r = n.call<kafka::offset_commit_response>(commit_of("other", -1, "", {{1, 5}}), 3);
        CHECK(errors_of(r) == std::vector<error_code>{error_code::none});
        auto f = n.call<kafka::offset_fetch_response>(fetch_of("g", {0, 1, 2}), 1);
        CHECK(fetched(f) == std::map<std::int32_t, std::pair<std::int64_t, std::string>>{
                                {0, {12, "m12"}}, {1, {-1, ""}}, {2, {7, "m7"}}});
        // Each commit was written with an fsync before it was answered.
        auto st = n.log->store_handle();
        std::uint64_t syncs = 0;
        for (int i = 0; i < st->partition_count(consumer_offsets::topic); ++i)
            syncs += st->get(consumer_offsets::topic, i)->syncs();
        CHECK(syncs >= 3);
        CHECK(st->topic_config(consumer_offsets::topic)->cleanup == store::cleanup_policy::compact);
    }
    {
        node n(dir.path.string());
        auto f = n.call<kafka::offset_fetch_response>(fetch_of("g", {0, 1, 2}), 5);
        CHECK(f.error == error_code::none);
        CHECK(fetched(f) == std::map<std::int32_t, std::pair<std::int64_t, std::string>>{
                                {0, {12, "m12"}}, {1, {-1, ""}}, {2, {7, "m7"}}});
        // v2+ with no topic list: every committed partition of the group.
        kafka::offset_fetch_request all;
        all.group_id = "other";
        f = n.call<kafka::offset_fetch_response>(all, 3);
        CHECK(fetched(f) ==
              std::map<std::int32_t, std::pair<std::int64_t, std::string>>{{1, {5, "m5"}}});
        // The groups are known by their commits, with no members.
        auto groups = n.call<kafka::list_groups_response>(kafka::list_groups_request{}, 2);
        REQUIRE(groups.groups.size() == 2);
        CHECK(groups.groups[0].group_id == "g");
        auto d = n.call<kafka::describe_groups_response>(
            kafka::describe_groups_request{{"g", "nobody"}, false}, 0);
        REQUIRE(d.groups.size() == 2);
        CHECK(d.groups[0].group_state == "Empty");
        CHECK(d.groups[1].group_state == "Dead");
        auto snap = n.snapshot();
        REQUIRE(snap.groups.size() == 2);
        CHECK(snap.groups[0].group_id == "g");
        CHECK(snap.groups[0].offsets.at({"t", 0}).offset == 12);
        CHECK(snap.groups[0].offsets.at({"t", 2}).metadata == "m7");
    }
}

TEST_CASE("group service: a tombstone in __consumer_offsets deletes the commit at replay") {
    temp_dir dir;
    {
        node n(dir.path.string());
        auto r = n.call<kafka::offset_commit_response>(commit_of("g", -1, "", {{0, 3}, {1, 4}}), 2);
        CHECK(errors_of(r) == std::vector<error_code>{error_code::none, error_code::none});
        auto st = n.log->store_handle();
        const int parts = st->partition_count(consumer_offsets::topic);
        store::batch_builder b;
        b.add(0, consumer_offsets::encode_key({"g", "t", 0}), std::nullopt);
        auto res = st->get(consumer_offsets::topic, consumer_offsets::partition_for("g", parts))
                       ->append(std::move(*b.build()))
                       .get();
        REQUIRE(res.error == store::errc::ok);
    }
    node n(dir.path.string());
    auto f = n.call<kafka::offset_fetch_response>(fetch_of("g", {0, 1}), 1);
    CHECK(fetched(f) == std::map<std::int32_t, std::pair<std::int64_t, std::string>>{
                            {0, {-1, ""}}, {1, {4, "m4"}}});
}

TEST_CASE("group service: bad commits are refused per partition, with Kafka's codes") {
    temp_dir dir;
    node n(dir.path.string());
    auto c = commit_of("g", -1, "", {{0, 1}, {3, 1}, {-1, 1}});
    c.topics[0].partitions[0].committed_metadata = std::string(5000, 'x');
    auto& missing = c.topics.emplace_back();
    missing.name = "no-such-topic";
    missing.partitions.push_back({});
    auto r = n.call<kafka::offset_commit_response>(c, 2);
    CHECK(errors_of(r) ==
          std::vector<error_code>{static_cast<error_code>(12),  // metadata too large
                                  error_code::unknown_topic_or_partition,
                                  error_code::unknown_topic_or_partition,
                                  error_code::unknown_topic_or_partition});
    r = n.call<kafka::offset_commit_response>(commit_of("", -1, "", {{0, 1}}), 2);
    CHECK(errors_of(r) == std::vector<error_code>{error_code::invalid_group_id});
    // A generation for a group the coordinator does not know.
    r = n.call<kafka::offset_commit_response>(commit_of("g", 3, "someone", {{0, 1}}), 2);
    CHECK(errors_of(r) == std::vector<error_code>{error_code::illegal_generation});
    // Nothing was stored.
    auto f = n.call<kafka::offset_fetch_response>(fetch_of("g", {0}), 1);
    CHECK(fetched(f).at(0).first == -1);
    // FindCoordinator: this node; transactions are not served.
    auto fc = n.call<kafka::find_coordinator_response>(kafka::find_coordinator_request{"g", 0}, 2);
    CHECK(fc.error == error_code::none);
    CHECK(fc.node_id == 0);
    CHECK(fc.host == "127.0.0.1");
    CHECK(fc.port == 9092);
    fc = n.call<kafka::find_coordinator_response>(kafka::find_coordinator_request{"tx", 1}, 2);
    CHECK(fc.error == error_code::invalid_request);
}

TEST_CASE(
    "group service: two members join and sync, commits are checked, a silent member expires") {
    temp_dir dir;
    node n(dir.path.string());
    const std::int16_t v = 5;

    // A: JoinGroup v5 without an id gets MEMBER_ID_REQUIRED and an id carrying the run's tag.
    auto a0 = n.call<kafka::join_group_response>(join_of("g", ""), v, "a");
    REQUIRE(a0.error == error_code::member_id_required);
    CHECK(a0.member_id.find(n.service->instance_tag()) != std::string::npos);
    const std::string a = a0.member_id;
    // Alone, A is answered once the initial rebalance delay has passed (the service's timer).
    auto a1 = n.call<kafka::join_group_response>(join_of("g", a), v, "a");
    REQUIRE(a1.error == error_code::none);
    CHECK(a1.leader == a);
    CHECK(a1.generation_id == 1);
    kafka::sync_group_request sa{"g", 1, a, std::nullopt, {{a, assignment_of({0, 1, 2})}}};
    auto s1 = n.call<kafka::sync_group_response>(sa, 3, "a");
    REQUIRE(s1.error == error_code::none);
    CHECK(s1.assignment == assignment_of({0, 1, 2}));

    // Commits: the member of the current generation may; others may not.
    auto ok = n.call<kafka::offset_commit_response>(commit_of("g", 1, a, {{0, 5}}), 7);
    CHECK(errors_of(ok) == std::vector<error_code>{error_code::none});
    auto bad = n.call<kafka::offset_commit_response>(commit_of("g", 0, a, {{0, 6}}), 7);
    CHECK(errors_of(bad) == std::vector<error_code>{error_code::illegal_generation});
    bad = n.call<kafka::offset_commit_response>(commit_of("g", 1, "stranger", {{0, 6}}), 7);
    CHECK(errors_of(bad) == std::vector<error_code>{error_code::unknown_member_id});
    bad = n.call<kafka::offset_commit_response>(commit_of("g", -1, "", {{0, 6}}), 7);
    CHECK(errors_of(bad) == std::vector<error_code>{error_code::unknown_member_id});
    CHECK(fetched(n.call<kafka::offset_fetch_response>(fetch_of("g", {0}), 1)).at(0).first == 5);

    // B joins: a rebalance. B's JoinGroup waits until A rejoins (A learns through its heartbeat).
    auto b0 = n.call<kafka::join_group_response>(join_of("g", ""), v, "b");
    REQUIRE(b0.error == error_code::member_id_required);
    const std::string b = b0.member_id;
    auto b1f = n.send(join_of("g", b), v, "b");
    CHECK(b1f.wait_for(std::chrono::milliseconds(100)) == std::future_status::timeout);
    auto hb =
        n.call<kafka::heartbeat_response>(kafka::heartbeat_request{"g", 1, a, std::nullopt}, 3);
    CHECK(hb.error == error_code::rebalance_in_progress);
    auto a2 = n.call<kafka::join_group_response>(join_of("g", a), v, "a");
    auto b1 = node::get<kafka::join_group_response>(std::move(b1f));
    REQUIRE(a2.error == error_code::none);
    REQUIRE(b1.error == error_code::none);
    CHECK(a2.generation_id == 2);
    CHECK(b1.generation_id == 2);
    CHECK(a2.leader == a);
    CHECK(a2.members.size() == 2);  // the leader gets everyone's metadata
    CHECK(b1.members.empty());

    // B's SyncGroup waits for the leader's assignment.
    auto sbf = n.send(kafka::sync_group_request{"g", 2, b, std::nullopt, {}}, 3, "b");
    kafka::sync_group_request sa2{
        "g", 2, a, std::nullopt, {{a, assignment_of({0, 1})}, {b, assignment_of({2})}}};
    auto s2 = n.call<kafka::sync_group_response>(sa2, 3, "a");
    auto sb = node::get<kafka::sync_group_response>(std::move(sbf));
    CHECK(s2.assignment == assignment_of({0, 1}));
    CHECK(sb.error == error_code::none);
    CHECK(sb.assignment == assignment_of({2}));

    auto snap = n.snapshot();
    REQUIRE(snap.groups.size() == 1);
    CHECK(snap.groups[0].state == "Stable");
    CHECK(snap.groups[0].generation == 2);
    REQUIRE(snap.groups[0].members.size() == 2);
    CHECK(snap.groups[0].members[1].member_id == b);
    CHECK(snap.groups[0].members[1].assignment.at("t") == std::vector<std::int32_t>{2});
    auto d =
        n.call<kafka::describe_groups_response>(kafka::describe_groups_request{{"g"}, false}, 0);
    CHECK(d.groups.at(0).group_state == "Stable");
    CHECK(d.groups.at(0).members.size() == 2);

    // B rejoins with a 150 ms session (a follower rejoining a Stable group unchanged is
    // answered at once, no rebalance) and falls silent: the timer removes it and the group
    // rebalances, which A sees in a heartbeat. A's heartbeats keep A alive until then.
    auto b2 = n.call<kafka::join_group_response>(join_of("g", b, 150), v, "b");
    CHECK(b2.error == error_code::none);
    CHECK(b2.generation_id == 2);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    error_code seen = error_code::none;
    while (seen == error_code::none && std::chrono::steady_clock::now() < deadline) {
        seen =
            n.call<kafka::heartbeat_response>(kafka::heartbeat_request{"g", 2, a, std::nullopt}, 3)
                .error;
        if (seen == error_code::none) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    CHECK(seen == error_code::rebalance_in_progress);
    auto a3 = n.call<kafka::join_group_response>(join_of("g", a), v, "a");
    CHECK(a3.generation_id == 3);
    CHECK(a3.members.size() == 1);
    auto gone =
        n.call<kafka::heartbeat_response>(kafka::heartbeat_request{"g", 3, b, std::nullopt}, 3);
    CHECK(gone.error == error_code::unknown_member_id);

    // A leaves: the group is Empty and standalone commits are allowed again.
    auto left = n.call<kafka::leave_group_response>(kafka::leave_group_request{"g", a}, 1);
    CHECK(left.error == error_code::none);
    auto standalone = n.call<kafka::offset_commit_response>(commit_of("g", -1, "", {{1, 9}}), 2);
    CHECK(errors_of(standalone) == std::vector<error_code>{error_code::none});
}

TEST_CASE("group service: stop answers waiting JoinGroups, later requests are refused") {
    temp_dir dir;
    node n(dir.path.string(), [] {
        kafka::group_config c = node::fast_groups();
        c.initial_rebalance_delay_ms = 60000;  // the join would wait a minute
        return c;
    }());
    auto waiting = n.send(join_of("g", ""), 3, "a");  // v3: added at once, then waits
    CHECK(waiting.wait_for(std::chrono::milliseconds(50)) == std::future_status::timeout);
    n.service->stop();
    auto r = node::get<kafka::join_group_response>(std::move(waiting));
    CHECK(r.error == error_code::coordinator_not_available);
    auto hb =
        n.call<kafka::heartbeat_response>(kafka::heartbeat_request{"g", 0, "m", std::nullopt}, 0);
    CHECK(hb.error == error_code::coordinator_not_available);
}

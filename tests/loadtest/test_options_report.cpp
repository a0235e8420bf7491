#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "loadtest/mqtt/options.hpp"
#include "loadtest/mqtt/report.hpp"

using namespace sluice::bench;

namespace {
std::optional<options> parse(std::vector<std::string> args, bool idle = false) {
    args.insert(args.begin(), idle ? "mqtt-idle" : "mqtt");
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    bool help = false;
    return idle ? parse_idle_options(static_cast<int>(argv.size()), argv.data(), &help)
                : parse_traffic_options(static_cast<int>(argv.size()), argv.data(), &help);
}
}  // namespace

TEST_CASE("options: a traffic run's settings are parsed") {
    auto o = parse({"--port", "1999", "--publishers", "10", "--subscribers", "3", "--qos", "2",
                    "--sub-qos", "1", "--payload", "100", "--rate", "50", "--pub-topic", "a/{i}",
                    "--sub-topic", "a/+", "--share-groups", "2", "--count", "7", "--mqtt-version", "3.1.1",
                    "--json"});
    REQUIRE(o);
    CHECK(o->port == 1999);
    CHECK(o->publishers == 10);
    CHECK(o->subscribers == 3);
    CHECK(o->pub_qos == sluice::mqtt::qos::exactly_once);
    CHECK(o->subscription_qos() == sluice::mqtt::qos::at_least_once);
    CHECK(o->payload == 100);
    CHECK(o->rate == 50);
    CHECK(o->share_groups == 2);
    CHECK(o->count == 7);
    CHECK(o->version == sluice::mqtt::protocol_version::v3_1_1);
    CHECK(o->json_only);
}

TEST_CASE("options: bad values are refused") {
    CHECK_FALSE(parse({"--qos", "3"}));
    CHECK_FALSE(parse({"--payload", "10"}));  // smaller than the 24-byte header
    CHECK_FALSE(parse({"--port", "70000"}));
    CHECK_FALSE(parse({"--rate", "-1"}));
    CHECK_FALSE(parse({"--publishers"}));  // missing value
    CHECK_FALSE(parse({"--no-such-flag", "1"}));
    CHECK_FALSE(parse({"--duration", "0"}));  // neither duration nor count
    CHECK_FALSE(parse({"--mqtt-version", "4.0"}));
}

TEST_CASE("options: idle steps must increase") {
    auto o = parse({"--steps", "10,20,30"}, true);
    REQUIRE(o);
    CHECK(o->steps == std::vector<unsigned>{10, 20, 30});
    CHECK_FALSE(parse({"--steps", "10,5"}, true));
    CHECK_FALSE(parse({"--steps", "0"}, true));
    CHECK_FALSE(parse({}, true));
}

TEST_CASE("options: topic templates replace {i} with the index") {
    CHECK(expand_template("dev/{i}/t/{i}", 42) == "dev/42/t/42");
    CHECK(expand_template("plain", 3) == "plain");
}

TEST_CASE("report: loss fails a QoS 1 run but not a QoS 0 run") {
    options o;
    traffic_result r;
    r.lost = 5;
    o.pub_qos = sluice::mqtt::qos::at_most_once;
    CHECK(traffic_exit_status(o, r) == 0);
    o.pub_qos = sluice::mqtt::qos::at_least_once;
    CHECK(traffic_exit_status(o, r) == 3);
    CHECK_FALSE(traffic_json(o, r)["ok"].get<bool>());
}

TEST_CASE("report: unacknowledged publishes fail a QoS 1 run") {
    options o;
    o.pub_qos = sluice::mqtt::qos::at_least_once;
    traffic_result r;
    r.unacked = 1;
    CHECK(traffic_exit_status(o, r) == 3);
}

TEST_CASE("report: duplicates fail only an exactly-once run") {
    options o;
    traffic_result r;
    r.duplicates = 2;
    o.pub_qos = sluice::mqtt::qos::at_least_once;
    CHECK(traffic_exit_status(o, r) == 0);
    o.pub_qos = sluice::mqtt::qos::exactly_once;
    CHECK(traffic_exit_status(o, r) == 3);
}

TEST_CASE("report: connection errors fail any run") {
    options o;
    traffic_result r;
    r.dropped = 1;
    CHECK(traffic_exit_status(o, r) == 1);
    traffic_result e;
    e.errors.push_back("connect: refused");
    CHECK(traffic_exit_status(o, e) == 1);
}

TEST_CASE("report: the JSON line carries every figure") {
    options o;
    o.broker_pid = 1;
    traffic_result r;
    r.sent = 100;
    r.received = 100;
    r.publish_seconds = 2;
    r.receive_seconds = 2;
    r.broker_measured = true;
    r.broker_cpu_seconds = 0.5;
    r.latency.record(10);
    const auto j = traffic_json(o, r);
    CHECK(j["in_rate"].get<double>() == Approx(50));
    CHECK(j["broker"]["out_per_cpu_s"].get<double>() == Approx(200));
    CHECK(j["latency_us"]["p99"].get<std::uint64_t>() == 10);
    for (const char* k : {"lost", "duplicates", "reordered", "expected", "unique", "generator_cpu_s", "ok"})
        CHECK(j.contains(k));
}

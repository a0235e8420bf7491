// The log line formats and the rate limit (broker/log.hpp).
#include "broker/log.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using namespace sluice::broker;
using namespace std::chrono;

namespace {
const system_clock::time_point at = system_clock::time_point(milliseconds(1795795200123));
}

TEST_CASE("a text line names the client and peer before the message", "[log]") {
    auto line = format_log_line(log_level::warn, {"dev-1", "127.0.0.1:5000"}, "bad packet",
                                at, log_format::text);
    CHECK(line == "2026-11-27T16:00:00.123Z warn client=dev-1 peer=127.0.0.1:5000 bad packet\n");
    CHECK(format_log_line(log_level::info, {}, "started", at, log_format::text) ==
          "2026-11-27T16:00:00.123Z info started\n");
}

TEST_CASE("a newline inside a message cannot forge a second text line", "[log]") {
    auto line = format_log_line(log_level::warn, {"a\nb", ""}, "x\r\ny", at, log_format::text);
    CHECK(line.find('\n') == line.size() - 1);
}

TEST_CASE("a JSON line is one JSON object with escaped fields", "[log]") {
    auto line = format_log_line(log_level::error, {"dev\"1\n", "[::1]:9"}, "disk\tfull \x01",
                                at, log_format::json);
    REQUIRE(line.back() == '\n');
    CHECK(line.find('\n') == line.size() - 1);
    auto j = nlohmann::json::parse(line);
    CHECK(j["time"] == "2026-11-27T16:00:00.123Z");
    CHECK(j["level"] == "error");
    CHECK(j["client_id"] == "dev\"1\n");
    CHECK(j["peer"] == "[::1]:9");
    CHECK(j["msg"] == "disk\tfull \x01");
    auto plain = nlohmann::json::parse(
        format_log_line(log_level::info, {}, "started", at, log_format::json));
    CHECK_FALSE(plain.contains("client_id"));
    CHECK_FALSE(plain.contains("peer"));
}

TEST_CASE("log formats parse by name", "[log]") {
    CHECK(parse_log_format("json") == log_format::json);
    CHECK(parse_log_format("text") == log_format::text);
    CHECK_FALSE(parse_log_format("xml"));
}

TEST_CASE("a rate limit lets a burst through per interval and counts the rest", "[log]") {
    log_rate_limit limit(3, seconds(10));
    const auto t0 = steady_clock::time_point(seconds(1000));
    std::uint64_t suppressed = 99;
    for (int i = 0; i < 3; ++i) {
        REQUIRE(limit.allow(suppressed, t0 + milliseconds(i)));
        CHECK(suppressed == 0);
    }
    for (int i = 0; i < 5; ++i) CHECK_FALSE(limit.allow(suppressed, t0 + seconds(1)));
    // The next interval: the first line through reports the five dropped.
    REQUIRE(limit.allow(suppressed, t0 + seconds(11)));
    CHECK(suppressed == 5);
    REQUIRE(limit.allow(suppressed, t0 + seconds(11)));
    CHECK(suppressed == 0);
}

// Request parsing and the loopback rule of the HTTP admin API (broker/http_api.hpp).
#include <catch2/catch.hpp>

#include "broker/http_api.hpp"

using namespace sluice::broker;

TEST_CASE("http targets split into a decoded path and query") {
    std::string path;
    std::map<std::string, std::string> q;
    REQUIRE(parse_target("/api/v1/clients?limit=10&after=dev%2F1", path, q));
    CHECK(path == "/api/v1/clients");
    CHECK(q.at("limit") == "10");
    CHECK(q.at("after") == "dev/1");

    REQUIRE(parse_target("/api/v1/retained/a%20b/c?x=1+2&flag", path, q));
    CHECK(path == "/api/v1/retained/a b/c");
    CHECK(q.at("x") == "1 2");
    CHECK(q.at("flag").empty());

    CHECK_FALSE(parse_target("/bad%2", path, q));
    CHECK_FALSE(parse_target("/bad%zz", path, q));
    CHECK_FALSE(parse_target("relative", path, q));
}

TEST_CASE("http errors are JSON with the status") {
    auto r = json_error(409, "session x is \"online\"");
    CHECK(r.status == 409);
    CHECK(r.content_type == "application/json");
    CHECK(r.body == "{\"error\":\"session x is \\\"online\\\"\"}");
}

TEST_CASE("http admin API loopback addresses") {
    CHECK(is_loopback_host("127.0.0.1"));
    CHECK(is_loopback_host("127.1.2.3"));
    CHECK(is_loopback_host("::1"));
    CHECK(is_loopback_host("localhost"));
    CHECK_FALSE(is_loopback_host("0.0.0.0"));
    CHECK_FALSE(is_loopback_host("::"));
    CHECK_FALSE(is_loopback_host("10.0.0.1"));
}

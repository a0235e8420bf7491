#include <catch2/catch.hpp>

#include <memory>

#include "auth/sasl_plain.hpp"
#include "tests/auth/test_util.hpp"

using namespace sluice::auth;
using sluice::auth::test::cheap;

namespace {

std::string msg(std::string_view a, std::string_view b, std::string_view c) {
    std::string m(a);
    m += '\0';
    m += b;
    m += '\0';
    m += c;
    return m;
}

const user_store& store() {
    static const user_store_ptr s = [] {
        user_file f;
        f.set_password("alice", "wonderland", cheap());
        return std::make_shared<const user_store>(std::move(f));
    }();
    return *s;
}

}  // namespace

TEST_CASE("sasl plain: parse", "[auth][sasl_plain]") {
    const auto m = parse_sasl_plain(msg("", "alice", "pw"));
    REQUIRE(m);
    CHECK(m->authzid.empty());
    CHECK(m->authcid == "alice");
    CHECK(m->password == "pw");
    const auto z = parse_sasl_plain(msg("admin", "alice", "p w"));
    REQUIRE(z);
    CHECK(z->authzid == "admin");
    CHECK(z->password == "p w");

    for (const std::string& bad :
         {std::string(""), std::string("alice"), std::string("alice\0pw", 8), msg("", "", "pw"),
          msg("", "alice", ""), msg("", "alice", "pw") + '\0',
          msg("", "alice", "p") + std::string("\0w", 2), msg(std::string(256, 'a'), "alice", "pw"),
          msg("", std::string(256, 'a'), "pw"), msg("", "alice", std::string(256, 'p'))}) {
        INFO(bad.size());
        CHECK_FALSE(parse_sasl_plain(bad));
    }
}

TEST_CASE("sasl plain: authenticate against the store", "[auth][sasl_plain]") {
    std::string user;
    CHECK(authenticate_sasl_plain(store(), msg("", "alice", "wonderland"), user) ==
          sasl_plain_result::ok);
    CHECK(user == "alice");
    user.clear();
    CHECK(authenticate_sasl_plain(store(), msg("alice", "alice", "wonderland"), user) ==
          sasl_plain_result::ok);
    CHECK(authenticate_sasl_plain(store(), msg("", "alice", "wonderlan"), user) ==
          sasl_plain_result::invalid_credentials);
    CHECK(authenticate_sasl_plain(store(), msg("", "bob", "wonderland"), user) ==
          sasl_plain_result::invalid_credentials);
    CHECK(authenticate_sasl_plain(store(), msg("bob", "alice", "wonderland"), user) ==
          sasl_plain_result::authzid_not_supported);
    CHECK(authenticate_sasl_plain(store(), "alice", user) == sasl_plain_result::malformed);
}

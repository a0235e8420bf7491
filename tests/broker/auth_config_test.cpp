// Authentication settings of the config (broker/config.hpp): per-listener allow_anonymous and
// use_identity_as_username, the "auth" object, --allow-anonymous, --password-file, --acl-file.
#include <catch2/catch.hpp>

#include "broker/config.hpp"

using namespace sluice::broker;

namespace {

std::string parse_error(std::vector<const char*> args) {
    config cfg;
    args.insert(args.begin(), "sluice");
    try {
        parse_command_line(static_cast<int>(args.size()), args.data(), cfg);
    } catch (const config_error& e) {
        return e.message;
    }
    return {};
}

}  // namespace

TEST_CASE("auth config: anonymous clients by default only on loopback addresses") {
    listener_settings l{"x", listener_kind::mqtt_tcp, {"127.0.0.1", 0}};
    CHECK(listener_allows_anonymous(l));
    for (const char* host : {"127.0.0.2", "::1", "localhost"}) {
        l.address.host = host;
        CHECK(listener_allows_anonymous(l));
    }
    for (const char* host : {"0.0.0.0", "::", "192.0.2.1", "example.com", "::ffff:10.0.0.1"}) {
        l.address.host = host;
        CHECK_FALSE(listener_allows_anonymous(l));
    }
    l.allow_anonymous = true;
    CHECK(listener_allows_anonymous(l));
    l.address.host = "127.0.0.1";
    l.allow_anonymous = false;
    CHECK_FALSE(listener_allows_anonymous(l));
}

TEST_CASE("auth config: keys, flags and their errors") {
    config cfg;
    apply_config_json(cfg, R"({
        "auth": {"password_file": "/etc/sluice/passwd", "acl_file": "/etc/sluice/acl"},
        "listeners": {"mqtt": {"allow_anonymous": false},
                      "s": {"type": "tls", "cert": "c", "key": "k", "ca": "a",
                            "client_auth": "optional", "use_identity_as_username": true}}
    })");
    CHECK(cfg.auth_opts.password_file == "/etc/sluice/passwd");
    CHECK(cfg.auth_opts.acl_file == "/etc/sluice/acl");
    CHECK(cfg.listener("mqtt")->allow_anonymous == false);
    CHECK(cfg.listener("s")->use_identity_as_username);

    config flags;
    const char* argv[] = {"sluice", "--allow-anonymous", "true", "--password-file", "p",
                          "--acl-file=a", "--mqtts", "127.0.0.1:0", "--tls-cert", "c",
                          "--tls-key", "k"};
    parse_command_line(12, argv, flags);
    CHECK(flags.auth_opts.password_file == "p");
    CHECK(flags.auth_opts.acl_file == "a");
    // The flag reaches every listener, also one a later flag made.
    for (const auto& l : flags.listeners) CHECK(l.allow_anonymous == true);

    CHECK(parse_error({"--allow-anonymous", "yes"}).find("--allow-anonymous") != std::string::npos);
    CHECK(parse_error({"--password-file", ""}).find("--password-file") != std::string::npos);
    auto bad = [](const char* json) {
        config c;
        try {
            apply_config_json(c, json);
        } catch (const config_error& e) {
            return e.message;
        }
        return std::string();
    };
    CHECK(bad(R"({"auth": {"passwd": "x"}})").find("auth.passwd") != std::string::npos);
    CHECK(bad(R"({"auth": {"acl_file": ""}})").find("auth.acl_file") != std::string::npos);
    CHECK(bad(R"({"listeners": {"mqtt": {"allow_anonymous": "no"}}})")
              .find("listeners.mqtt.allow_anonymous") != std::string::npos);
}

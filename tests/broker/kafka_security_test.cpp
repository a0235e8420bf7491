// The Kafka listener's SASL state machine (broker/kafka_sasl.hpp) and its topic ACL
// (broker/kafka_acl.hpp), without sockets.
#include <catch2/catch.hpp>

#include "auth/scram_client.hpp"
#include "auth/user_file.hpp"
#include "broker/config.hpp"
#include "broker/kafka_acl.hpp"
#include "broker/kafka_sasl.hpp"

using namespace sluice;
using namespace sluice::broker;
using kind = kafka_sasl::outcome::kind;
using kafka::error_code;

namespace {

auth::user_store_ptr users() {
    // Cheap work factors: the test checks the logic, not the cost.
    auth::hash_parameters cheap{1000, 4096, 16};
    auth::user_file f;
    REQUIRE(f.set_password("alice", "secret", cheap));
    REQUIRE(f.set_password("bob", "hunter2", cheap));
    return std::make_shared<const auth::user_store>(std::move(f));
}

std::string plain(std::string_view user, std::string_view password) {
    std::string m;
    m.push_back('\0');
    m += user;
    m.push_back('\0');
    m += password;
    return m;
}

}  // namespace

TEST_CASE("kafka sasl: the handshake offers PLAIN and SCRAM-SHA-256 with a password file") {
    kafka_sasl s(users());
    auto r = s.handshake("GSSAPI", 1);
    CHECK(r.error == error_code::unsupported_sasl_mechanism);
    CHECK(r.mechanisms == std::vector<std::string>{"PLAIN", "SCRAM-SHA-256"});
    CHECK_FALSE(s.starts_exchange());
    r = s.handshake("PLAIN", 1);
    CHECK(r.error == error_code::none);
    CHECK(s.starts_exchange());
    CHECK_FALSE(s.raw_tokens());  // v1: tokens in SaslAuthenticate

    kafka_sasl none(nullptr);
    r = none.handshake("PLAIN", 1);
    CHECK(r.error == error_code::unsupported_sasl_mechanism);
    CHECK(r.mechanisms.empty());
}

TEST_CASE("kafka sasl: PLAIN asks for a password check and succeeds or fails on its result") {
    kafka_sasl s(users());
    s.handshake("PLAIN", 0);
    CHECK(s.raw_tokens());  // v0: the next frame is the bare token
    auto o = s.authenticate(plain("alice", "secret"), nullptr);
    REQUIRE(o.what == kind::check_password);
    CHECK(o.user == "alice");
    CHECK(o.password == "secret");
    CHECK_FALSE(s.raw_tokens());
    o = s.password_checked(true);
    CHECK(o.what == kind::success);
    CHECK(o.token.empty());
    REQUIRE(s.authenticated());
    CHECK(*s.user() == "alice");

    kafka_sasl bad(users());
    bad.handshake("PLAIN", 1);
    REQUIRE(bad.authenticate(plain("alice", "wrong"), nullptr).what == kind::check_password);
    o = bad.password_checked(false);
    CHECK(o.what == kind::failure);
    CHECK(o.error == error_code::sasl_authentication_failed);
    CHECK(o.counts_as_failure);
    CHECK_FALSE(bad.authenticated());
}

TEST_CASE("kafka sasl: malformed PLAIN, another authzid and tokens without a handshake fail") {
    kafka_sasl s(users());
    s.handshake("PLAIN", 1);
    auto o = s.authenticate("alice", nullptr);
    CHECK(o.what == kind::failure);
    CHECK(o.error == error_code::sasl_authentication_failed);

    kafka_sasl z(users());
    z.handshake("PLAIN", 1);
    o = z.authenticate(std::string("bob\0alice\0secret", 16), nullptr);
    CHECK(o.what == kind::failure);

    kafka_sasl early(users());
    o = early.authenticate(plain("alice", "secret"), nullptr);
    CHECK(o.what == kind::failure);
    CHECK(o.error == error_code::illegal_sasl_state);
    CHECK_FALSE(o.counts_as_failure);
}

TEST_CASE("kafka sasl: SCRAM-SHA-256 end to end, a wrong proof, and re-authentication") {
    auto store = users();
    kafka_sasl s(store);
    REQUIRE(s.handshake("SCRAM-SHA-256", 1).error == error_code::none);
    auth::scram_client c("bob", "hunter2");
    auto o = s.authenticate(c.client_first(), store);
    REQUIRE(o.what == kind::challenge);
    auto final_msg = c.client_final(o.token);
    REQUIRE(final_msg);
    o = s.authenticate(*final_msg, store);
    REQUIRE(o.what == kind::success);
    CHECK(c.verify_server_final(o.token));
    CHECK(*s.user() == "bob");

    // KIP-368: a new exchange on the same connection, as the same user.
    REQUIRE(s.handshake("SCRAM-SHA-256", 1).error == error_code::none);
    auth::scram_client again("bob", "hunter2");
    o = s.authenticate(again.client_first(), store);
    REQUIRE(o.what == kind::challenge);
    CHECK(s.authenticated());  // still bob while it runs
    o = s.authenticate(*again.client_final(o.token), store);
    CHECK(o.what == kind::success);

    // ... but not as someone else (PLAIN checks the name before any password work).
    REQUIRE(s.handshake("PLAIN", 1).error == error_code::none);
    o = s.authenticate(plain("alice", "secret"), store);
    CHECK(o.what == kind::failure);

    kafka_sasl w(store);
    w.handshake("SCRAM-SHA-256", 0);
    auth::scram_client wrong("bob", "not-it");
    o = w.authenticate(wrong.client_first(), store);
    REQUIRE(o.what == kind::challenge);
    CHECK(w.raw_tokens());
    o = w.authenticate(*wrong.client_final(o.token), store);
    CHECK(o.what == kind::failure);
    CHECK(o.counts_as_failure);
    CHECK_FALSE(w.authenticated());
    CHECK_FALSE(w.raw_tokens());
}

namespace {

std::shared_ptr<const auth::acl> rules(std::string_view text) {
    auto parsed = auth::acl::parse(text, "test");
    REQUIRE(parsed.rules);
    return std::make_shared<const auth::acl>(std::move(*parsed.rules));
}

kafka::request produce_to(std::vector<std::string> topics) {
    kafka::produce_request p;
    p.acks = 1;
    for (auto& t : topics) p.topics.push_back({t, {{0, std::nullopt}, {1, std::nullopt}}});
    return {{kafka::api_key::produce, 7, 1, "c1"}, p};
}

}  // namespace

TEST_CASE("kafka acl: denied produce topics are taken out and answered 29 per partition") {
    auto acl = rules("allow publish user=alice kafka:%u-in\nallow subscribe all kafka:+\n");
    kafka_topic_access alice(acl, "c1", "alice");
    CHECK(alice.may_produce("alice-in"));
    CHECK_FALSE(alice.may_produce("orders"));
    CHECK(alice.may_consume("orders"));
    kafka_topic_access anon(acl, "c1", std::nullopt);
    CHECK_FALSE(anon.may_produce("alice-in"));

    auto req = produce_to({"alice-in", "orders"});
    std::size_t denied = 0;
    auto fix = apply_topic_acl(req, alice, denied);
    CHECK(denied == 1);
    const auto& p = std::get<kafka::produce_request>(req.body);
    REQUIRE(p.topics.size() == 1);
    CHECK(p.topics[0].name == "alice-in");
    REQUIRE(fix);
    kafka::response_body body = kafka::produce_response{};
    fix(body);
    const auto& r = std::get<kafka::produce_response>(body);
    REQUIRE(r.topics.size() == 1);
    CHECK(r.topics[0].name == "orders");
    REQUIRE(r.topics[0].partitions.size() == 2);
    CHECK(r.topics[0].partitions[1].index == 1);
    CHECK(r.topics[0].partitions[1].error == error_code::topic_authorization_failed);

    // No ACL: nothing changes.
    auto free_req = produce_to({"orders"});
    CHECK_FALSE(apply_topic_acl(free_req, kafka_topic_access(nullptr, "c1", std::nullopt), denied));
    CHECK(denied == 0);
}

TEST_CASE("kafka acl: fetch needs subscribe; metadata lists only usable topics or answers 29") {
    auto acl = rules("allow subscribe user=bob kafka:logs\nallow publish user=bob kafka:in\n");
    kafka_topic_access bob(acl, "c", "bob");

    kafka::fetch_request f;
    f.topics.push_back({"logs", {{0}}});
    f.topics.push_back({"secret", {{0}}});
    kafka::request fr{{kafka::api_key::fetch, 11, 1, "c"}, f};
    std::size_t denied = 0;
    auto fix = apply_topic_acl(fr, bob, denied);
    CHECK(denied == 1);
    CHECK(std::get<kafka::fetch_request>(fr.body).topics.size() == 1);
    kafka::response_body body = kafka::fetch_response{};
    fix(body);
    CHECK(std::get<kafka::fetch_response>(body).topics.at(0).partitions.at(0).error ==
          error_code::topic_authorization_failed);

    // Every topic: the answer keeps only those bob may read or write.
    kafka::request all{{kafka::api_key::metadata, 4, 1, "c"}, kafka::metadata_request{}};
    fix = apply_topic_acl(all, bob, denied);
    REQUIRE(fix);
    kafka::metadata_response m;
    for (const char* t : {"logs", "in", "secret"}) {
        auto& topic = m.topics.emplace_back();
        topic.name = t;
    }
    body = m;
    fix(body);
    const auto& listed = std::get<kafka::metadata_response>(body).topics;
    REQUIRE(listed.size() == 2);
    CHECK(listed[0].name == "logs");
    CHECK(listed[1].name == "in");

    // Named topics: a denied one is answered TOPIC_AUTHORIZATION_FAILED, never looked up.
    kafka::metadata_request named;
    named.topics = std::vector<std::string>{"secret", "in"};
    kafka::request nr{{kafka::api_key::metadata, 4, 1, "c"}, named};
    fix = apply_topic_acl(nr, bob, denied);
    CHECK(*std::get<kafka::metadata_request>(nr.body).topics == std::vector<std::string>{"in"});
    body = kafka::metadata_response{};
    fix(body);
    CHECK(std::get<kafka::metadata_response>(body).topics.at(0).error ==
          error_code::topic_authorization_failed);
}

TEST_CASE("kafka-tls config: the listener type, --kafka-tls and the --tls-* flags") {
    config cfg;
    apply_config_json(cfg, R"({"listeners": {"secure": {"type": "kafka-tls", "cert": "c",
                                                          "key": "k", "allow_anonymous": false}}})");
    const auto* l = cfg.listener("secure");
    REQUIRE(l);
    CHECK(l->kind == listener_kind::kafka_tls);
    CHECK(l->address.port == 9093);
    CHECK(l->tls.cert == "c");

    config flags;
    const char* argv[] = {"sluice", "--tls-cert", "c", "--kafka-tls", "127.0.0.1:0",
                          "--tls-key", "k"};
    parse_command_line(7, argv, flags);
    const auto* k = flags.listener("kafka-tls");
    REQUIRE(k);
    CHECK(k->kind == listener_kind::kafka_tls);
    CHECK(k->address.port == 0);
    CHECK(k->tls.key == "k");
    CHECK_FALSE(flags.listener("mqtts"));  // --kafka-tls: the TLS flags do not open mqtts

    config missing;
    const char* no_key[] = {"sluice", "--kafka-tls", "127.0.0.1:0", "--tls-cert", "c"};
    try {
        parse_command_line(5, no_key, missing);
        FAIL("no error for a kafka-tls listener without a key");
    } catch (const config_error& e) {
        CHECK(e.message == "config key listeners.kafka-tls.key: a kafka-tls listener needs a private key");
    }
}

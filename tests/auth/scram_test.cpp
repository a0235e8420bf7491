#include <catch2/catch.hpp>

#include <memory>

#include "auth/scram_client.hpp"
#include "auth/scram_message.hpp"
#include "auth/scram_server.hpp"
#include "tests/auth/test_util.hpp"

using namespace sluice::auth;
using sluice::auth::test::cheap;

namespace {

// RFC 7677 section 3: user "user", password "pencil", salt and nonces as below.
constexpr const char* rfc_client_nonce = "rOprNGfwEbeRWgbNEkqO";
constexpr const char* rfc_server_nonce = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
constexpr const char* rfc_salt = "W22ZaJ0SNY7soEsUEjb6gQ==";
constexpr const char* rfc_client_first = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO";
constexpr const char* rfc_server_first =
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
constexpr const char* rfc_client_final =
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
    "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
constexpr const char* rfc_server_final = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

user_record scram_user(const std::string& name, const std::string& password, const bytes& salt) {
    user_record r = make_user_record(name, password, cheap());
    r.scram = derive_scram_credentials(password, salt, 4096);
    return r;
}

// Made once: the store is immutable and shared, as the broker shares it.
user_store_ptr rfc_store() {
    static const user_store_ptr store = [] {
        user_file f;
        f.put(scram_user("user", "pencil", *base64_decode(rfc_salt)));
        f.put(make_user_record("alice", "wonderland", cheap()));
        f.put(make_user_record("a,b=c", "odd", cheap()));
        return std::make_shared<const user_store>(std::move(f));
    }();
    return store;
}

scram_server rfc_server(user_store_ptr store = rfc_store()) {
    scram_server_options o;
    o.nonce = [] { return std::string(rfc_server_nonce); };
    return scram_server(std::move(store), o);
}

// A whole exchange through scram_client; true when both sides agree.
bool login(scram_server& s, const std::string& user, const std::string& password) {
    scram_client c(user, password);
    const scram_step first = s.client_first(c.client_first());
    if (first.status != scram_status::challenge) return false;
    const auto final = c.client_final(first.message);
    if (!final) return false;
    const scram_step last = s.client_final(*final);
    return last.status == scram_status::success && c.verify_server_final(last.message);
}

}  // namespace

TEST_CASE("scram: RFC 7677 example conversation byte for byte", "[auth][scram]") {
    scram_server s = rfc_server();
    const scram_step first = s.client_first(rfc_client_first);
    REQUIRE(first.status == scram_status::challenge);
    CHECK(first.message == rfc_server_first);
    CHECK_FALSE(s.authenticated());
    const scram_step last = s.client_final(rfc_client_final);
    REQUIRE(last.status == scram_status::success);
    CHECK(last.message == rfc_server_final);
    CHECK(s.authenticated());
    CHECK(s.username() == "user");
}

TEST_CASE("scram: the client reproduces the RFC 7677 messages", "[auth][scram]") {
    scram_client c("user", "pencil", rfc_client_nonce);
    CHECK(c.client_first() == rfc_client_first);
    const auto final = c.client_final(rfc_server_first);
    REQUIRE(final);
    CHECK(*final == rfc_client_final);
    CHECK(c.verify_server_final(rfc_server_final));
    CHECK_FALSE(c.verify_server_final("v=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="));
    CHECK_FALSE(c.verify_server_final("e=invalid-proof"));
    // The client refuses a reply that does not extend its nonce or asks too few iterations.
    scram_client d("user", "pencil", rfc_client_nonce);
    CHECK_FALSE(d.client_final("r=other,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"));
    CHECK_FALSE(d.client_final("r=rOprNGfwEbeRWgbNEkqOx,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4095"));
    CHECK_FALSE(d.client_final("r=rOprNGfwEbeRWgbNEkqOx,s=W22,i=4096"));
    CHECK_FALSE(d.client_final("garbage"));
}

TEST_CASE("scram: client and server agree with random nonces and default parameters",
          "[auth][scram]") {
    user_file f;
    REQUIRE(f.set_password("alice", "wonderland"));  // default work factors
    scram_server s(std::make_shared<const user_store>(std::move(f)));
    CHECK(login(s, "alice", "wonderland"));
    CHECK(s.username() == "alice");
}

TEST_CASE("scram: wrong password fails with invalid-proof", "[auth][scram]") {
    scram_server s(rfc_store());
    CHECK_FALSE(login(s, "alice", "wonderlan"));
    scram_server t = rfc_server();
    REQUIRE(t.client_first(rfc_client_first).status == scram_status::challenge);
    std::string tampered = rfc_client_final;
    tampered[tampered.size() - 5] = 'A';
    const scram_step r = t.client_final(tampered);
    CHECK(r.status == scram_status::failure);
    CHECK(r.error == scram_error::invalid_proof);
    CHECK(r.message == "e=invalid-proof");
    CHECK_FALSE(t.authenticated());
    // A failed server takes nothing more.
    CHECK(t.client_first(rfc_client_first).error == scram_error::wrong_state);
}

TEST_CASE("scram: an unknown user gets a stable fake challenge and fails at the proof",
          "[auth][scram]") {
    const user_store_ptr store = rfc_store();
    scram_server a(store);
    scram_server b(store);
    const scram_step fa = a.client_first("n,,n=nobody,r=abc");
    const scram_step fb = b.client_first("n,,n=nobody,r=abc");
    REQUIRE(fa.status == scram_status::challenge);
    const auto salt_of = [](const std::string& m) {
        return m.substr(m.find(",s="), m.find(",i=") - m.find(",s="));
    };
    CHECK(salt_of(fa.message) == salt_of(fb.message));
    CHECK(base64_decode(salt_of(fa.message).substr(3))->size() == 16);
    // The iteration count most users of the store have (4096 here), like a real user's.
    CHECK(fa.message.ends_with(",i=4096"));
    scram_server c(store);
    CHECK_FALSE(login(c, "nobody", "anything"));
    // An empty store announces the default.
    scram_server e(std::make_shared<const user_store>(user_file{}));
    CHECK(e.client_first("n,,n=nobody,r=abc").message.ends_with(",i=16384"));
}

TEST_CASE("scram: nonce and channel binding checks", "[auth][scram]") {
    SECTION("a final message with another nonce") {
        scram_server s = rfc_server();
        REQUIRE(s.client_first(rfc_client_first).status == scram_status::challenge);
        const scram_step r = s.client_final(
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k1,"
            "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
        CHECK(r.error == scram_error::nonce_mismatch);
        CHECK(r.message == "e=other-error");
    }
    SECTION("channel binding requested with p= is refused") {
        scram_server s = rfc_server();
        const scram_step r = s.client_first("p=tls-server-end-point,,n=user,r=abc");
        CHECK(r.status == scram_status::failure);
        CHECK(r.error == scram_error::channel_binding_not_supported);
        CHECK(r.message == "e=channel-binding-not-supported");
    }
    SECTION("y,, is accepted and its c= must be the y,, header") {
        scram_server s(rfc_store());
        scram_client c("user", "pencil");
        std::string first = c.client_first();
        first[0] = 'y';
        const scram_step sf = s.client_first(first);
        REQUIRE(sf.status == scram_status::challenge);
        // The client computed its proof over c=biws ("n,,"); a y,, exchange needs c=eSws.
        const auto final = c.client_final(sf.message);
        REQUIRE(final);
        CHECK(s.client_final(*final).error == scram_error::channel_binding_mismatch);
    }
    SECTION("y,, exchange completes when the proof covers c=eSws") {
        // Compute a y,, proof by hand with the RFC user.
        const bytes salted = pbkdf2_sha256("pencil", *base64_decode(rfc_salt), 4096, 32);
        const bytes client_key = hmac_sha256(salted, as_bytes("Client Key"));
        scram_server s = rfc_server();
        const scram_step sf = s.client_first("y,,n=user,r=rOprNGfwEbeRWgbNEkqO");
        REQUIRE(sf.status == scram_status::challenge);
        const std::string without_proof =
            "c=eSws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
        const std::string auth_message =
            "n=user,r=rOprNGfwEbeRWgbNEkqO," + sf.message + "," + without_proof;
        bytes proof = hmac_sha256(sha256(client_key), as_bytes(auth_message));
        for (std::size_t i = 0; i < proof.size(); ++i) proof[i] ^= client_key[i];
        const scram_step r = s.client_final(without_proof + ",p=" + base64_encode(proof));
        CHECK(r.status == scram_status::success);
    }
    SECTION("n,, header with a y,, binding value") {
        scram_server s = rfc_server();
        REQUIRE(s.client_first(rfc_client_first).status == scram_status::challenge);
        std::string final = rfc_client_final;
        final.replace(2, 4, "eSws");
        CHECK(s.client_final(final).error == scram_error::channel_binding_mismatch);
    }
}

TEST_CASE("scram: malformed client-first messages", "[auth][scram]") {
    const std::pair<std::string, scram_error> cases[] = {
        {"", scram_error::malformed},
        {"n", scram_error::malformed},
        {"n,", scram_error::malformed},
        {"n,,", scram_error::malformed},
        {"x,,n=user,r=abc", scram_error::malformed},
        {"n,,r=abc,n=user", scram_error::malformed},
        {"n,,n=user", scram_error::malformed},
        {"n,,n=user,r=", scram_error::malformed},
        {"n,,n=user,r=a,b", scram_error::malformed},
        {"n,,n=user,r=a b", scram_error::malformed},
        {"n,,n=user,,r=abc", scram_error::malformed},
        {"n,x,n=user,r=abc", scram_error::malformed},
        {"n,,m=ext,n=user,r=abc", scram_error::extensions_not_supported},
        {"n,,n=us=er,r=abc", scram_error::invalid_username},
        {"n,,n=us=2,r=abc", scram_error::invalid_username},
        {"n,,n=,r=abc", scram_error::invalid_username},
        {"n,,n=caf\xc3\xa9,r=abc", scram_error::invalid_username},  // non-ASCII: no SASLprep
        {"n,,n=a\x01"
         "b,r=abc",
         scram_error::invalid_username},
        {"n,a=other,n=user,r=abc", scram_error::authzid_not_supported},
        {"n,a=us=er,n=user,r=abc", scram_error::invalid_username},
        {std::string("n,,n=user,r=abc\0", 16), scram_error::malformed},
        {"n,,n=user,r=" + std::string(5000, 'x'), scram_error::malformed},
    };
    for (const auto& [message, error] : cases) {
        scram_server s = rfc_server();
        INFO(message);
        const scram_step r = s.client_first(message);
        CHECK(r.status == scram_status::failure);
        CHECK(r.error == error);
        CHECK(r.message.starts_with("e="));
    }
}

TEST_CASE("scram: accepted client-first variants", "[auth][scram]") {
    // An authzid equal to the user, extensions after the nonce (Kafka's tokenauth), and a
    // saslname with escapes.
    for (const char* m : {"n,a=user,n=user,r=rOprNGfwEbeRWgbNEkqO",
                          "n,,n=user,r=rOprNGfwEbeRWgbNEkqO,tokenauth=false"}) {
        scram_server s = rfc_server();
        INFO(m);
        CHECK(s.client_first(m).status == scram_status::challenge);
    }
    scram_server s(rfc_store());
    CHECK(login(s, "a,b=c", "odd"));
    CHECK(s.username() == "a,b=c");
    // Escapes in lower case name the same user.
    scram_server t(rfc_store());
    REQUIRE(t.client_first("n,,n=a=2cb=3dc,r=abc").status == scram_status::challenge);
}

TEST_CASE("scram: saslname escaping", "[auth][scram]") {
    using namespace sluice::auth::scram;
    CHECK(encode_saslname("a,b=c") == "a=2Cb=3Dc");
    CHECK(decode_saslname("a=2Cb=3Dc") == "a,b=c");
    CHECK(decode_saslname("a=2cb=3dc") == "a,b=c");
    CHECK(decode_saslname("plain") == "plain");
    for (const char* bad : {"a,b", "a=", "a=2", "a=2D", "a=3C", "=", "a==2C"})
        CHECK_FALSE(decode_saslname(bad));
    CHECK(valid_nonce("abc%$)"));
    CHECK_FALSE(valid_nonce(""));
    CHECK_FALSE(valid_nonce("a,b"));
    CHECK_FALSE(valid_nonce("a b"));
    const auto attrs = split_attributes("n=u,r=x=y,tokenauth=true");
    REQUIRE(attrs);
    REQUIRE(attrs->size() == 3);
    CHECK(attrs->at(1).value == "x=y");
    CHECK(attrs->at(2).name == "tokenauth");
    for (const char* bad : {"", "n", "=x", "n=u,", "n=u,,r=x", "1=x", "n-x=1"})
        CHECK_FALSE(split_attributes(bad));
}

TEST_CASE("scram: malformed client-final messages", "[auth][scram]") {
    const std::string nonce = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
    const std::string proof = "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
    const std::pair<std::string, scram_error> cases[] = {
        {"", scram_error::malformed},
        {"c=biws", scram_error::malformed},
        {"c=biws," + nonce, scram_error::malformed},
        {nonce + ",c=biws," + proof, scram_error::malformed},
        {"c=biws," + nonce + "," + proof + ",x=1", scram_error::malformed},
        {"c=bi*s," + nonce + "," + proof, scram_error::malformed},
        {"c=biws," + nonce + ",p=AAAA", scram_error::malformed},
        {"c=biws," + nonce + ",p=", scram_error::malformed},
        {"c=biws," + nonce + ",p=dHzb!apWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
         scram_error::malformed},
        {"c=,", scram_error::malformed},
        {"c=," + nonce + "," + proof, scram_error::channel_binding_mismatch},
    };
    for (const auto& [message, error] : cases) {
        scram_server s = rfc_server();
        REQUIRE(s.client_first(rfc_client_first).status == scram_status::challenge);
        INFO(message);
        const scram_step r = s.client_final(message);
        CHECK(r.status == scram_status::failure);
        CHECK(r.error == error);
    }
    // Extensions between the nonce and the proof are carried in the AuthMessage: the RFC proof
    // no longer matches.
    scram_server s = rfc_server();
    REQUIRE(s.client_first(rfc_client_first).status == scram_status::challenge);
    CHECK(s.client_final("c=biws," + nonce + ",x=1," + proof).error == scram_error::invalid_proof);
}

TEST_CASE("scram: messages out of order", "[auth][scram]") {
    scram_server s = rfc_server();
    CHECK(s.client_final(rfc_client_final).error == scram_error::wrong_state);
    scram_server t = rfc_server();
    REQUIRE(t.client_first(rfc_client_first).status == scram_status::challenge);
    CHECK(t.client_first(rfc_client_first).error == scram_error::wrong_state);
    scram_server u(nullptr);
    CHECK(u.client_first(rfc_client_first).status == scram_status::failure);
}

TEST_CASE("scram: re-authentication on the same connection", "[auth][scram]") {
    scram_server s(rfc_store());
    REQUIRE(login(s, "alice", "wonderland"));
    SECTION("again as the same user") {
        CHECK(login(s, "alice", "wonderland"));
        CHECK(s.username() == "alice");
        // The RFC conversation, replayed on the same object, as another user: refused.
        const scram_step r = s.client_first(rfc_client_first);
        CHECK(r.error == scram_error::identity_changed);
        CHECK(r.message == "e=other-error");
    }
    SECTION("against a reloaded store with a changed password") {
        user_file f;
        f.put(make_user_record("alice", "looking-glass", cheap()));
        s.use_store(std::make_shared<const user_store>(std::move(f)));
        CHECK_FALSE(login(s, "alice", "wonderland"));
        CHECK(s.username() == "alice");  // still the identity the connection has
    }
    SECTION("with the new password after a reload") {
        user_file f;
        f.put(make_user_record("alice", "looking-glass", cheap()));
        s.use_store(std::make_shared<const user_store>(std::move(f)));
        CHECK(login(s, "alice", "looking-glass"));
    }
}

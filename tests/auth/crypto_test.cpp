#include <catch2/catch.hpp>

#include "auth/crypto.hpp"
#include "tests/auth/test_util.hpp"

using namespace sluice::auth;
using sluice::auth::test::hex;

TEST_CASE("pbkdf2-sha512 known vectors", "[auth][crypto]") {
    const auto salt = as_bytes("salt");
    CHECK(hex(pbkdf2_sha512("password", salt, 1, 64)) ==
          "867f70cf1ade02cff3752599a3a53dc4af34c7a669815ae5d513554e1c8cf252"
          "c02d470a285a0501bad999bfe943c08f050235d7d68b1da55e63f73b60a57fce");
    CHECK(hex(pbkdf2_sha512("password", salt, 2, 64)) ==
          "e1d9c16aa681708a45f5c7c4e215ceb66e011a2e9f0040713f18aefdb866d53c"
          "f76cab2868a39b9f7840edce4fef5a82be67335c77a6068e04112754f27ccf4e");
    CHECK(hex(pbkdf2_sha512("password", salt, 4096, 64)) ==
          "d197b1b33db0143e018b12f3d1d1479e6cdebdcc97c5c0f87f6902e072f457b5"
          "143f30602641b3d55cd335988cb36b84376060ecd532e039b742a239434af2d5");
    CHECK(hex(pbkdf2_sha512("passwordPASSWORDpassword",
                            as_bytes("saltSALTsaltSALTsaltSALTsaltSALTsalt"), 4096, 64)) ==
          "8c0511f4c6e597c6ac6315d8f0362e225f3c501495ba23b868c005174dc4ee71"
          "115b59f9e60cd9532fa33e0f75aefe30225c583a186cd82bd4daea9724a3d3b8");
}

TEST_CASE("pbkdf2-sha256, hmac-sha256 and sha256 known vectors", "[auth][crypto]") {
    CHECK(hex(pbkdf2_sha256("password", as_bytes("salt"), 4096, 32)) ==
          "c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a");
    // RFC 4231 test case 2.
    CHECK(hex(hmac_sha256(as_bytes("Jefe"), as_bytes("what do ya want for nothing?"))) ==
          "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    CHECK(hex(sha256(as_bytes("abc"))) ==
          "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_CASE("base64 encodes RFC 4648 vectors and decodes strictly", "[auth][crypto]") {
    const std::pair<const char*, const char*> vectors[] = {
        {"", ""},
        {"f", "Zg=="},
        {"fo", "Zm8="},
        {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="},
        {"fooba", "Zm9vYmE="},
        {"foobar", "Zm9vYmFy"},
    };
    for (const auto& [plain, encoded] : vectors) {
        CHECK(base64_encode(as_bytes(plain)) == encoded);
        const auto d = base64_decode(encoded);
        REQUIRE(d);
        CHECK(std::string(d->begin(), d->end()) == plain);
    }
    for (const char* bad : {"Zg", "Zg=", "Z===", "Zm9v=", "Zg==Zg==", "Zh==", "Zm9=", "Zm 9v",
                            "Zm9\n", "Zm9*", "=Zm9"})
        CHECK_FALSE(base64_decode(bad));
}

TEST_CASE("random bytes differ and constant-time compare checks length and content",
          "[auth][crypto]") {
    CHECK(random_bytes(16).size() == 16);
    CHECK(random_bytes(16) != random_bytes(16));
    CHECK(constant_time_equal(as_bytes("abc"), as_bytes("abc")));
    CHECK_FALSE(constant_time_equal(as_bytes("abc"), as_bytes("abd")));
    CHECK_FALSE(constant_time_equal(as_bytes("abc"), as_bytes("ab")));
    CHECK(constant_time_equal(as_bytes(""), as_bytes("")));
}

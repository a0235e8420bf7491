#include <catch2/catch.hpp>

#include <string>

#include "mqtt/utf8.hpp"

using sluice::mqtt::valid_utf8;

TEST_CASE("utf8: well-formed strings are accepted", "[mqtt][utf8]") {
    CHECK(valid_utf8(""));
    CHECK(valid_utf8("plain ascii / topic"));
    CHECK(valid_utf8("\xC3\xA9t\xC3\xA9"));  // "été", 2-byte sequences
    CHECK(valid_utf8("\xE2\x82\xAC"));       // U+20AC, 3 bytes
    CHECK(valid_utf8("\xF0\x9F\x98\x80"));   // U+1F600, 4 bytes
    CHECK(valid_utf8("\xEF\xBB\xBF"));       // U+FEFF is allowed and kept
    CHECK(valid_utf8("\xED\x9F\xBF"));       // U+D7FF, just below the surrogates
    CHECK(valid_utf8("\xEE\x80\x80"));       // U+E000, just above them
    CHECK(valid_utf8("\xF4\x8F\xBF\xBF"));   // U+10FFFF, the last code point
    CHECK(valid_utf8("\x01\x1F\x7F"));       // control characters are SHOULD NOT only
}

TEST_CASE("utf8: U+0000, surrogates, overlongs and broken sequences are rejected", "[mqtt][utf8]") {
    CHECK_FALSE(valid_utf8(std::string("a\0b", 3)));  // U+0000 [MQTT-1.5.4-2]
    CHECK_FALSE(valid_utf8("\xC0\x80"));              // overlong U+0000
    CHECK_FALSE(valid_utf8("\xC1\xBF"));              // overlong U+007F
    CHECK_FALSE(valid_utf8("\xE0\x80\xAF"));          // overlong '/'
    CHECK_FALSE(valid_utf8("\xF0\x80\x80\xAF"));      // overlong '/', 4 bytes
    CHECK_FALSE(valid_utf8("\xED\xA0\x80"));          // U+D800, high surrogate
    CHECK_FALSE(valid_utf8("\xED\xBF\xBF"));          // U+DFFF, low surrogate
    CHECK_FALSE(valid_utf8("\xF4\x90\x80\x80"));      // U+110000, beyond Unicode
    CHECK_FALSE(valid_utf8("\xF8\x88\x80\x80\x80"));  // 5-byte form
    CHECK_FALSE(valid_utf8("\xFF"));
    CHECK_FALSE(valid_utf8("\x80"));            // lone continuation byte
    CHECK_FALSE(valid_utf8("\xC3"));            // truncated 2-byte sequence
    CHECK_FALSE(valid_utf8("\xE2\x82"));        // truncated 3-byte sequence
    CHECK_FALSE(valid_utf8("\xE2\x28\xA1"));    // bad continuation
    CHECK_FALSE(valid_utf8("ok\xF0\x9F\x98"));  // truncated at the end
}

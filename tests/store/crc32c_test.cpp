#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <vector>

#include "store/crc32c.hpp"

using namespace sluice::store;

TEST_CASE("crc32c: check value of \"123456789\" is 0xE3069283") {
    const std::string s = "123456789";
    auto* p = reinterpret_cast<const std::uint8_t*>(s.data());
    CHECK(crc32c(p, s.size()) == 0xE3069283u);
    CHECK(crc32c_extend_portable(0, p, s.size()) == 0xE3069283u);
    // Extending in pieces gives the same value as one pass.
    CHECK(crc32c_extend(crc32c(p, 4), p + 4, 5) == 0xE3069283u);
    CHECK(crc32c(p, 0) == 0u);
}

TEST_CASE("crc32c: hardware and table paths agree at every length and alignment") {
    std::mt19937 rng(42);
    std::vector<std::uint8_t> data(4096 + 16);
    for (auto& b : data) b = static_cast<std::uint8_t>(rng());
    for (std::size_t align = 0; align < 8; ++align)
        for (std::size_t len : {0, 1, 7, 8, 9, 15, 16, 63, 64, 65, 1000, 4096})
            REQUIRE(crc32c(data.data() + align, len) ==
                    crc32c_extend_portable(0, data.data() + align, len));
}

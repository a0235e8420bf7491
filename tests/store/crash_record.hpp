#pragma once
// The record the crash writer puts at each offset: key, value and timestamp are derived from
// the offset, with a length that varies, so a check can rebuild it exactly.

#include <cstdint>
#include <string>

#include "store/record.hpp"

namespace sluice::store::test {

inline record crash_record(std::int64_t offset) {
    record r;
    r.offset = offset;
    r.timestamp = 1'700'000'000'000 + offset;
    r.key = "key-" + std::to_string(offset % 97);
    std::uint64_t x = static_cast<std::uint64_t>(offset) * 0x9E3779B97F4A7C15ull + 1;
    std::string value = "offset " + std::to_string(offset) + ":";
    std::size_t len = 20 + (x >> 55);  // 20..531 bytes
    while (value.size() < len) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        value.push_back(static_cast<char>('a' + x % 26));
    }
    r.value = value;
    return r;
}

}  // namespace sluice::store::test

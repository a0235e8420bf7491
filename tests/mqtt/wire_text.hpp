#pragma once

// Golden byte vectors are written by hand as text: hex bytes ("10 1A", spaces optional between
// pairs) and quoted ASCII ('MQTT'), so each field of a packet can be read off the vector.

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::mqtt::test {

inline std::vector<std::uint8_t> wire(std::string_view text) {
    std::vector<std::uint8_t> out;
    auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    for (std::size_t i = 0; i < text.size();) {
        const char c = text[i];
        if (c == ' ' || c == '\n') {
            ++i;
        } else if (c == '\'') {
            const std::size_t end = text.find('\'', i + 1);
            if (end == std::string_view::npos) throw std::invalid_argument("unterminated quote");
            for (std::size_t k = i + 1; k < end; ++k)
                out.push_back(static_cast<std::uint8_t>(text[k]));
            i = end + 1;
        } else {
            if (i + 1 >= text.size() || nibble(c) < 0 || nibble(text[i + 1]) < 0) {
                throw std::invalid_argument("bad hex in wire text");
            }
            out.push_back(static_cast<std::uint8_t>(nibble(c) * 16 + nibble(text[i + 1])));
            i += 2;
        }
    }
    return out;
}

inline std::string hex(const std::vector<std::uint8_t>& bytes) {
    static const char digits[] = "0123456789ABCDEF";
    std::string s;
    for (std::uint8_t b : bytes) {
        if (!s.empty()) s += ' ';
        s += digits[b >> 4];
        s += digits[b & 0x0F];
    }
    return s;
}

}  // namespace sluice::mqtt::test

#include "auth/scram_message.hpp"

namespace sluice::auth::scram {

std::optional<std::vector<attribute>> split_attributes(std::string_view s) {
    std::vector<attribute> out;
    std::size_t start = 0;
    while (true) {
        std::size_t end = s.find(',', start);
        if (end == std::string_view::npos) end = s.size();
        const std::string_view part = s.substr(start, end - start);
        const std::size_t eq = part.find('=');
        if (eq == 0 || eq == std::string_view::npos) return std::nullopt;
        for (std::size_t i = 0; i < eq; ++i) {
            const char n = part[i];
            if (!((n >= 'a' && n <= 'z') || (n >= 'A' && n <= 'Z'))) return std::nullopt;
        }
        out.push_back({part.substr(0, eq), part.substr(eq + 1)});
        if (end == s.size()) return out;
        start = end + 1;
    }
}

std::optional<std::string> decode_saslname(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        if (c == ',') return std::nullopt;
        if (c != '=') {
            out += c;
            continue;
        }
        // ABNF quoted strings are case-insensitive (RFC 5234 2.3): "=2c" is "=2C".
        const std::string_view esc = s.substr(i + 1, 2);
        if (esc == "2C" || esc == "2c")
            out += ',';
        else if (esc == "3D" || esc == "3d")
            out += '=';
        else
            return std::nullopt;
        i += 2;
    }
    return out;
}

std::string encode_saslname(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (const char c : s) {
        if (c == ',')
            out += "=2C";
        else if (c == '=')
            out += "=3D";
        else
            out += c;
    }
    return out;
}

bool valid_nonce(std::string_view s) {
    if (s.empty()) return false;
    for (const char c : s)
        if (c < 0x21 || c > 0x7E || c == ',') return false;
    return true;
}

}  // namespace sluice::auth::scram

#include "auth/sasl_plain.hpp"

namespace sluice::auth {

std::optional<sasl_plain_message> parse_sasl_plain(std::string_view message) {
    const std::size_t first = message.find('\0');
    if (first == std::string_view::npos) return std::nullopt;
    const std::size_t second = message.find('\0', first + 1);
    if (second == std::string_view::npos) return std::nullopt;
    if (message.find('\0', second + 1) != std::string_view::npos) return std::nullopt;
    sasl_plain_message m;
    m.authzid = std::string(message.substr(0, first));
    m.authcid = std::string(message.substr(first + 1, second - first - 1));
    m.password = std::string(message.substr(second + 1));
    if (m.authcid.empty() || m.password.empty()) return std::nullopt;
    if (m.authzid.size() > 255 || m.authcid.size() > 255 || m.password.size() > 255)
        return std::nullopt;
    return m;
}

sasl_plain_result authenticate_sasl_plain(const user_store& store, std::string_view message,
                                          std::string& user) {
    const auto m = parse_sasl_plain(message);
    if (!m) return sasl_plain_result::malformed;
    if (!m->authzid.empty() && m->authzid != m->authcid)
        return sasl_plain_result::authzid_not_supported;
    if (!store.verify(m->authcid, m->password)) return sasl_plain_result::invalid_credentials;
    user = m->authcid;
    return sasl_plain_result::ok;
}

}  // namespace sluice::auth

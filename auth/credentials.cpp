#include "auth/credentials.hpp"

namespace sluice::auth {

bool valid_username(std::string_view name) {
    if (name.empty() || name.size() > 128 || name.front() == '#') return false;
    for (const char c : name)
        if (c < 0x21 || c > 0x7E || c == ':') return false;
    return true;
}

bool valid_password(std::string_view password) {
    if (password.empty() || password.size() > 1024) return false;
    for (const char c : password)
        if (c < 0x20 || c > 0x7E) return false;
    return true;
}

scram_credentials derive_scram_credentials(std::string_view password,
                                           std::span<const std::uint8_t> salt,
                                           std::uint32_t iterations) {
    const bytes salted = pbkdf2_sha256(password, salt, iterations, 32);
    scram_credentials c;
    c.iterations = iterations;
    c.salt.assign(salt.begin(), salt.end());
    c.stored_key = sha256(hmac_sha256(salted, as_bytes("Client Key")));
    c.server_key = hmac_sha256(salted, as_bytes("Server Key"));
    return c;
}

user_record make_user_record(std::string name, std::string_view password,
                             const hash_parameters& params) {
    user_record r;
    r.name = std::move(name);
    r.password.iterations = params.pbkdf2_iterations;
    r.password.salt = random_bytes(params.salt_size);
    r.password.hash = pbkdf2_sha512(password, r.password.salt, params.pbkdf2_iterations, 64);
    r.scram =
        derive_scram_credentials(password, random_bytes(params.salt_size), params.scram_iterations);
    return r;
}

bool verify_password(const password_hash& stored, std::string_view password) {
    if (stored.iterations == 0 || stored.hash.empty()) return false;
    const bytes h = pbkdf2_sha512(password, stored.salt, stored.iterations, stored.hash.size());
    return constant_time_equal(h, stored.hash);
}

}  // namespace sluice::auth

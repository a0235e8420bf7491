#include "auth/scram_client.hpp"

#include <charconv>

#include "auth/scram_message.hpp"

namespace sluice::auth {

scram_client::scram_client(std::string username, std::string password, std::string nonce)
    : username_(std::move(username)), password_(std::move(password)), nonce_(std::move(nonce)) {
    if (nonce_.empty()) nonce_ = base64_encode(random_bytes(18));
}

std::string scram_client::client_first() const {
    return "n,,n=" + scram::encode_saslname(username_) + ",r=" + nonce_;
}

std::optional<std::string> scram_client::client_final(std::string_view server_first,
                                                      std::uint32_t max_iterations) {
    const auto attrs = scram::split_attributes(server_first);
    if (!attrs || attrs->size() < 3) return std::nullopt;
    const auto& a = *attrs;
    if (a[0].name != "r" || a[1].name != "s" || a[2].name != "i") return std::nullopt;
    const std::string_view nonce = a[0].value;
    if (nonce.size() <= nonce_.size() || !nonce.starts_with(nonce_) || !scram::valid_nonce(nonce))
        return std::nullopt;
    const auto salt = base64_decode(a[1].value);
    if (!salt || salt->empty()) return std::nullopt;
    std::uint32_t iterations = 0;
    const std::string_view it = a[2].value;
    const auto [end, ec] = std::from_chars(it.data(), it.data() + it.size(), iterations);
    if (ec != std::errc() || end != it.data() + it.size()) return std::nullopt;
    if (iterations < 4096 || iterations > max_iterations) return std::nullopt;

    const bytes salted = pbkdf2_sha256(password_, *salt, iterations, 32);
    const bytes client_key = hmac_sha256(salted, as_bytes("Client Key"));
    const bytes stored_key = sha256(client_key);
    const bytes server_key = hmac_sha256(salted, as_bytes("Server Key"));

    const std::string without_proof = "c=biws,r=" + std::string(nonce);
    const std::string client_first_bare = client_first().substr(3);
    const std::string auth_message =
        client_first_bare + "," + std::string(server_first) + "," + without_proof;
    bytes proof = hmac_sha256(stored_key, as_bytes(auth_message));
    for (std::size_t i = 0; i < proof.size(); ++i) proof[i] ^= client_key[i];
    expected_server_signature_ = hmac_sha256(server_key, as_bytes(auth_message));
    return without_proof + ",p=" + base64_encode(proof);
}

bool scram_client::verify_server_final(std::string_view server_final) const {
    if (expected_server_signature_.empty() || !server_final.starts_with("v=")) return false;
    const auto v = base64_decode(server_final.substr(2));
    return v && constant_time_equal(*v, expected_server_signature_);
}

}  // namespace sluice::auth

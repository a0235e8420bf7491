#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "auth/crypto.hpp"

// What is stored for one user: a salted PBKDF2-HMAC-SHA-512 hash for plain passwords (MQTT
// CONNECT, SASL PLAIN) and SCRAM-SHA-256 credentials (RFC 5802 section 3) for MQTT 5 enhanced
// authentication and Kafka SASL/SCRAM. Both are derived from the password when it is set; the
// password itself is never kept.
//
// Threads: plain values; the functions are stateless and may run on any thread.
namespace sluice::auth {

// PBKDF2-HMAC-SHA-512 of the password.
struct password_hash {
    std::uint32_t iterations = 0;
    bytes salt;
    bytes hash;  // 64 bytes
};

// SCRAM-SHA-256: SaltedPassword = PBKDF2-HMAC-SHA-256(password, salt, iterations),
// StoredKey = SHA-256(HMAC(SaltedPassword, "Client Key")),
// ServerKey = HMAC(SaltedPassword, "Server Key").
struct scram_credentials {
    std::uint32_t iterations = 0;
    bytes salt;
    bytes stored_key;  // 32 bytes
    bytes server_key;  // 32 bytes
};

struct user_record {
    std::string name;
    password_hash password;
    scram_credentials scram;
};

// Work factors for new passwords. PBKDF2-HMAC-SHA-512: 210,000 iterations is OWASP's
// recommendation (Password Storage Cheat Sheet, 2023). SCRAM-SHA-256: 16,384 is the most that
// Kafka clients accept (they refuse a server-first message with more); RFC 7677 asks for at
// least 4,096.
struct hash_parameters {
    std::uint32_t pbkdf2_iterations = 210'000;
    std::uint32_t scram_iterations = 16'384;
    std::size_t salt_size = 16;
};

// Limits the password file enforces on load, so a corrupt or hostile file cannot make one
// login cost minutes of CPU or accept a trivially cheap hash.
inline constexpr std::uint32_t min_pbkdf2_iterations = 1'000;
inline constexpr std::uint32_t max_pbkdf2_iterations = 10'000'000;
inline constexpr std::uint32_t min_scram_iterations = 4'096;
inline constexpr std::uint32_t max_scram_iterations = 10'000'000;
inline constexpr std::size_t min_salt_size = 16;
inline constexpr std::size_t max_salt_size = 64;

// A user name: 1..128 bytes of printable ASCII (0x21..0x7E) without ':' (the file's separator)
// and not starting with '#' (a comment). ASCII-only names are their own SASLprep form, so the
// name stored is the name SCRAM and PLAIN clients send.
bool valid_username(std::string_view name);

// A password: 1..1024 bytes of printable ASCII or space (0x20..0x7E). Non-ASCII passwords are
// refused because SASLprep (RFC 4013: NFKC and mapping tables) is not implemented; for ASCII
// without control characters SASLprep is the identity, so SCRAM clients derive the same keys.
bool valid_password(std::string_view password);

// Derives both credentials with fresh random salts. The password must be valid_password().
user_record make_user_record(std::string name, std::string_view password,
                             const hash_parameters& params = {});

scram_credentials derive_scram_credentials(std::string_view password,
                                           std::span<const std::uint8_t> salt,
                                           std::uint32_t iterations);

// Recomputes the hash and compares in constant time.
bool verify_password(const password_hash& stored, std::string_view password);

}  // namespace sluice::auth

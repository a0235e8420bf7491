#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

// The few libcrypto primitives auth/ needs, behind byte-vector signatures so that no other
// file of the module includes OpenSSL headers.
//
// Threads: every function is stateless and may be called from any thread (OpenSSL 3 needs no
// locking setup).
namespace sluice::auth {

using bytes = std::vector<std::uint8_t>;

// PBKDF2 (RFC 8018) with HMAC-SHA-512 and HMAC-SHA-256. `iterations` >= 1.
bytes pbkdf2_sha512(std::string_view password, std::span<const std::uint8_t> salt,
                    std::uint32_t iterations, std::size_t length);
bytes pbkdf2_sha256(std::string_view password, std::span<const std::uint8_t> salt,
                    std::uint32_t iterations, std::size_t length);

bytes hmac_sha256(std::span<const std::uint8_t> key, std::span<const std::uint8_t> data);
bytes sha256(std::span<const std::uint8_t> data);

// `n` bytes from OpenSSL's CSPRNG (RAND_bytes). Aborts if the generator fails: there is no
// safe way to continue without randomness.
bytes random_bytes(std::size_t n);

// Compares in time that depends only on the lengths (CRYPTO_memcmp).
bool constant_time_equal(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b);

// Standard base64 (RFC 4648 section 4) with padding, as SCRAM and the password file use it.
std::string base64_encode(std::span<const std::uint8_t> data);
// Strict: the length must be a multiple of 4, padding only at the end, no whitespace, and the
// unused bits of the last character must be zero. nullopt for anything else.
std::optional<bytes> base64_decode(std::string_view text);

inline std::span<const std::uint8_t> as_bytes(std::string_view s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

}  // namespace sluice::auth

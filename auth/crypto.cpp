#include "auth/crypto.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <array>
#include <cstdlib>

namespace sluice::auth {

namespace {

bytes pbkdf2(const EVP_MD* md, std::string_view password, std::span<const std::uint8_t> salt,
             std::uint32_t iterations, std::size_t length) {
    bytes out(length);
    if (PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()), salt.data(),
                          static_cast<int>(salt.size()), static_cast<int>(iterations), md,
                          static_cast<int>(length), out.data()) != 1)
        std::abort();  // only fails on allocation failure or absurd arguments
    return out;
}

constexpr std::string_view alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int base64_value(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

}  // namespace

bytes pbkdf2_sha512(std::string_view password, std::span<const std::uint8_t> salt,
                    std::uint32_t iterations, std::size_t length) {
    return pbkdf2(EVP_sha512(), password, salt, iterations, length);
}

bytes pbkdf2_sha256(std::string_view password, std::span<const std::uint8_t> salt,
                    std::uint32_t iterations, std::size_t length) {
    return pbkdf2(EVP_sha256(), password, salt, iterations, length);
}

bytes hmac_sha256(std::span<const std::uint8_t> key, std::span<const std::uint8_t> data) {
    bytes out(SHA256_DIGEST_LENGTH);
    unsigned int len = 0;
    // HMAC() takes a null key pointer as "no key"; an empty span's data() may be null.
    static const std::uint8_t empty = 0;
    if (HMAC(EVP_sha256(), key.empty() ? &empty : key.data(), static_cast<int>(key.size()),
             data.data(), data.size(), out.data(), &len) == nullptr)
        std::abort();
    out.resize(len);
    return out;
}

bytes sha256(std::span<const std::uint8_t> data) {
    bytes out(SHA256_DIGEST_LENGTH);
    SHA256(data.data(), data.size(), out.data());
    return out;
}

bytes random_bytes(std::size_t n) {
    bytes out(n);
    if (n != 0 && RAND_bytes(out.data(), static_cast<int>(n)) != 1) std::abort();
    return out;
}

bool constant_time_equal(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) {
    if (a.size() != b.size()) return false;
    if (a.empty()) return true;
    return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string base64_encode(std::span<const std::uint8_t> data) {
    std::string out;
    out.reserve((data.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 3 <= data.size(); i += 3) {
        const std::uint32_t v =
            (std::uint32_t{data[i]} << 16) | (std::uint32_t{data[i + 1]} << 8) | data[i + 2];
        out += alphabet[(v >> 18) & 63];
        out += alphabet[(v >> 12) & 63];
        out += alphabet[(v >> 6) & 63];
        out += alphabet[v & 63];
    }
    const std::size_t rest = data.size() - i;
    if (rest == 1) {
        const std::uint32_t v = std::uint32_t{data[i]} << 16;
        out += alphabet[(v >> 18) & 63];
        out += alphabet[(v >> 12) & 63];
        out += "==";
    } else if (rest == 2) {
        const std::uint32_t v = (std::uint32_t{data[i]} << 16) | (std::uint32_t{data[i + 1]} << 8);
        out += alphabet[(v >> 18) & 63];
        out += alphabet[(v >> 12) & 63];
        out += alphabet[(v >> 6) & 63];
        out += '=';
    }
    return out;
}

std::optional<bytes> base64_decode(std::string_view text) {
    if (text.size() % 4 != 0) return std::nullopt;
    bytes out;
    out.reserve(text.size() / 4 * 3);
    for (std::size_t i = 0; i < text.size(); i += 4) {
        const bool last = i + 4 == text.size();
        std::array<int, 4> v{};
        int padding = 0;
        for (std::size_t k = 0; k < 4; ++k) {
            const char c = text[i + k];
            if (c == '=') {
                // Padding only in the last group, in its last one or two places.
                if (!last || k < 2) return std::nullopt;
                ++padding;
                v[k] = 0;
                continue;
            }
            if (padding != 0) return std::nullopt;  // data after padding
            v[k] = base64_value(c);
            if (v[k] < 0) return std::nullopt;
        }
        const std::uint32_t n =
            (static_cast<std::uint32_t>(v[0]) << 18) | (static_cast<std::uint32_t>(v[1]) << 12) |
            (static_cast<std::uint32_t>(v[2]) << 6) | static_cast<std::uint32_t>(v[3]);
        out.push_back(static_cast<std::uint8_t>(n >> 16));
        if (padding == 2) {
            if ((n & 0xFFFF) != 0) return std::nullopt;  // non-canonical trailing bits
            break;
        }
        out.push_back(static_cast<std::uint8_t>(n >> 8));
        if (padding == 1) {
            if ((n & 0xFF) != 0) return std::nullopt;
            break;
        }
        out.push_back(static_cast<std::uint8_t>(n));
    }
    return out;
}

}  // namespace sluice::auth

#include "store/crc32c.hpp"

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace sluice::store {
namespace {

constexpr std::uint32_t poly = 0x82F63B78u;  // Castagnoli, reflected

// Slicing-by-8 tables: the fallback still runs at a useful speed on CPUs without SSE4.2.
struct tables {
    std::array<std::array<std::uint32_t, 256>, 8> t{};
    constexpr tables() {
        for (std::uint32_t i = 0; i < 256; ++i) {
            std::uint32_t c = i;
            for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ poly : c >> 1;
            t[0][i] = c;
        }
        for (std::uint32_t i = 0; i < 256; ++i)
            for (std::size_t s = 1; s < 8; ++s)
                t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xff];
    }
};
constexpr tables table{};

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) std::uint32_t crc32c_sse42(std::uint32_t crc,
                                                             const std::uint8_t* p, std::size_t n) {
    std::uint64_t c = ~crc;
    while (n >= 8) {
        std::uint64_t v;
        std::memcpy(&v, p, 8);
        c = _mm_crc32_u64(c, v);
        p += 8;
        n -= 8;
    }
    auto c32 = static_cast<std::uint32_t>(c);
    while (n--) c32 = _mm_crc32_u8(c32, *p++);
    return ~c32;
}
#endif

using crc_fn = std::uint32_t (*)(std::uint32_t, const std::uint8_t*, std::size_t);

crc_fn pick() {
#if defined(__x86_64__)
    if (__builtin_cpu_supports("sse4.2")) return &crc32c_sse42;
#endif
    return &crc32c_extend_portable;
}

}  // namespace

std::uint32_t crc32c_extend_portable(std::uint32_t crc, const std::uint8_t* p, std::size_t n) {
    std::uint32_t c = ~crc;
    while (n >= 8) {
        std::uint32_t lo;
        std::uint32_t hi;
        std::memcpy(&lo, p, 4);  // little-endian hosts only, like the SSE path
        std::memcpy(&hi, p + 4, 4);
        lo ^= c;
        c = table.t[7][lo & 0xff] ^ table.t[6][(lo >> 8) & 0xff] ^ table.t[5][(lo >> 16) & 0xff] ^
            table.t[4][lo >> 24] ^ table.t[3][hi & 0xff] ^ table.t[2][(hi >> 8) & 0xff] ^
            table.t[1][(hi >> 16) & 0xff] ^ table.t[0][hi >> 24];
        p += 8;
        n -= 8;
    }
    while (n--) c = (c >> 8) ^ table.t[0][(c ^ *p++) & 0xff];
    return ~c;
}

bool crc32c_hardware_available() {
#if defined(__x86_64__)
    return __builtin_cpu_supports("sse4.2");
#else
    return false;
#endif
}

std::uint32_t crc32c_extend(std::uint32_t crc, const std::uint8_t* data, std::size_t size) {
    static const crc_fn fn = pick();
    return fn(crc, data, size);
}

}  // namespace sluice::store

#pragma once
// Big-endian loads and stores (Kafka's wire and file order). memcpy keeps them legal on
// unaligned buffers (UBSan checks alignment).

#include <cstdint>
#include <cstring>

namespace sluice::store {

template <typename T>
inline T load_be(const std::uint8_t* p) {
    using U = std::make_unsigned_t<T>;
    U v = 0;
    for (std::size_t i = 0; i < sizeof(T); ++i) v = static_cast<U>((v << 8) | p[i]);
    return static_cast<T>(v);
}

template <typename T>
inline void store_be(std::uint8_t* p, T value) {
    using U = std::make_unsigned_t<T>;
    U v = static_cast<U>(value);
    for (std::size_t i = sizeof(T); i-- > 0;) {
        p[i] = static_cast<std::uint8_t>(v & 0xff);
        v = static_cast<U>(v >> 8);
    }
}

}  // namespace sluice::store

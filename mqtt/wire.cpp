#include "mqtt/wire.hpp"

#include "mqtt/utf8.hpp"

namespace sluice::mqtt::wire {

result reader::u8(std::uint8_t& v) {
    if (remaining() < 1) return malformed("truncated byte");
    v = data_[pos_++];
    return {};
}

result reader::u16(std::uint16_t& v) {
    if (remaining() < 2) return malformed("truncated two byte integer");
    v = static_cast<std::uint16_t>((data_[pos_] << 8) | data_[pos_ + 1]);
    pos_ += 2;
    return {};
}

result reader::u32(std::uint32_t& v) {
    if (remaining() < 4) return malformed("truncated four byte integer");
    v = (std::uint32_t{data_[pos_]} << 24) | (std::uint32_t{data_[pos_ + 1]} << 16) |
        (std::uint32_t{data_[pos_ + 2]} << 8) | std::uint32_t{data_[pos_ + 3]};
    pos_ += 4;
    return {};
}

result reader::varint(std::uint32_t& v) {
    std::uint32_t value = 0;
    for (int i = 0; i < 4; ++i) {
        if (remaining() < 1) return malformed("truncated variable byte integer");
        std::uint8_t byte = data_[pos_++];
        value |= std::uint32_t{byte & 0x7Fu} << (7 * i);
        if ((byte & 0x80) == 0) {
            // The spec requires the shortest encoding [MQTT-1.5.5-1]: a last byte of 0 after
            // a continuation byte is an overlong form.
            if (i > 0 && byte == 0) return malformed("variable byte integer not minimal");
            v = value;
            return {};
        }
    }
    return malformed("variable byte integer longer than 4 bytes");
}

result reader::bytes(std::size_t n, std::string_view& v) {
    if (remaining() < n) return malformed("truncated field");
    v = std::string_view(reinterpret_cast<const char*>(data_ + pos_), n);
    pos_ += n;
    return {};
}

result reader::binary(std::string_view& v) {
    std::uint16_t n = 0;
    if (auto e = u16(n)) return e;
    if (remaining() < n) return malformed("truncated string or binary data");
    return bytes(n, v);
}

result reader::binary(std::string& v) {
    std::string_view view;
    if (auto e = binary(view)) return e;
    v.assign(view);
    return {};
}

result reader::utf8(std::string_view& v) {
    if (auto e = binary(v)) return e;
    if (!valid_utf8(v)) return malformed("invalid UTF-8 string");
    return {};
}

result reader::utf8(std::string& v) {
    std::string_view view;
    if (auto e = utf8(view)) return e;
    v.assign(view);
    return {};
}

result reader::sub(std::size_t n, reader& v) {
    if (remaining() < n) return malformed("length exceeds packet");
    v = reader(data_ + pos_, n);
    pos_ += n;
    return {};
}

}  // namespace sluice::mqtt::wire

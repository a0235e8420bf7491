#pragma once

// Internal to the codec: bounds-checked reading and appending of the MQTT data representations
// (spec 1.5). Not part of the public API.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mqtt/decoder.hpp"
#include "mqtt/reason_code.hpp"

namespace sluice::mqtt::wire {

constexpr std::uint32_t max_remaining_length = 268'435'455;  // 4-byte variable byte integer
constexpr std::size_t max_string_length = 65'535;

// An error while decoding a packet body, or nothing.
using result = std::optional<decode_error>;

inline result malformed(std::string_view detail) {
    return decode_error{reason_code::malformed_packet, detail};
}
inline result protocol_error(std::string_view detail) {
    return decode_error{reason_code::protocol_error, detail};
}
inline result fail(reason_code code, std::string_view detail) {
    return decode_error{code, detail};
}

// Reads fields from a byte range. Every read checks the bounds and reports a truncated field as
// malformed.
//
// Threads: a local object of one decode call.
class reader {
  public:
    reader(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}

    std::size_t remaining() const { return size_ - pos_; }
    std::size_t position() const { return pos_; }
    const std::uint8_t* current() const { return data_ + pos_; }
    bool at_end() const { return pos_ == size_; }

    result u8(std::uint8_t& v);
    result u16(std::uint16_t& v);
    result u32(std::uint32_t& v);
    // A variable byte integer: at most 4 bytes, in its shortest form.
    result varint(std::uint32_t& v);
    // `n` raw bytes.
    result bytes(std::size_t n, std::string_view& v);
    // A two-byte length then that many bytes (binary data).
    result binary(std::string_view& v);
    result binary(std::string& v);
    // A UTF-8 encoded string (binary + UTF-8 validation).
    result utf8(std::string_view& v);
    result utf8(std::string& v);
    // A sub-reader over the next `n` bytes, which this reader skips.
    result sub(std::size_t n, reader& v);

  private:
    const std::uint8_t* data_;
    std::size_t size_;
    std::size_t pos_ = 0;
};

// Appending writers. The caller checks length limits beforehand.
inline void put_u8(std::vector<std::uint8_t>& out, std::uint8_t v) {
    out.push_back(v);
}
inline void put_u16(std::vector<std::uint8_t>& out, std::uint16_t v) {
    out.push_back(static_cast<std::uint8_t>(v >> 8));
    out.push_back(static_cast<std::uint8_t>(v));
}
inline void put_u32(std::vector<std::uint8_t>& out, std::uint32_t v) {
    out.push_back(static_cast<std::uint8_t>(v >> 24));
    out.push_back(static_cast<std::uint8_t>(v >> 16));
    out.push_back(static_cast<std::uint8_t>(v >> 8));
    out.push_back(static_cast<std::uint8_t>(v));
}
inline std::size_t varint_size(std::uint32_t v) {
    return v < 128 ? 1 : v < 16'384 ? 2 : v < 2'097'152 ? 3 : 4;
}
inline void put_varint(std::vector<std::uint8_t>& out, std::uint32_t v) {
    do {
        std::uint8_t byte = v & 0x7F;
        v >>= 7;
        if (v != 0) byte |= 0x80;
        out.push_back(byte);
    } while (v != 0);
}
inline void put_bytes(std::vector<std::uint8_t>& out, std::string_view s) {
    out.insert(out.end(), s.begin(), s.end());
}
// A two-byte length prefix then the bytes (strings and binary data).
inline void put_string(std::vector<std::uint8_t>& out, std::string_view s) {
    put_u16(out, static_cast<std::uint16_t>(s.size()));
    put_bytes(out, s);
}

}  // namespace sluice::mqtt::wire

#include "kafka/wire.hpp"

#include <cstring>
#include <limits>

namespace sluice::kafka {

const char* to_string(decode_errc e) {
    switch (e) {
        case decode_errc::truncated:
            return "truncated";
        case decode_errc::invalid_length:
            return "invalid length";
        case decode_errc::invalid_varint:
            return "invalid varint";
        case decode_errc::trailing_bytes:
            return "trailing bytes";
        case decode_errc::unknown_api:
            return "unknown api key";
        case decode_errc::unsupported_version:
            return "unsupported version";
        case decode_errc::frame_too_large:
            return "frame size out of range";
    }
    return "unknown";
}

// ---- reader ----

const std::uint8_t* reader::take(std::size_t n, const char* field) {
    if (failed()) return nullptr;
    if (n > remaining()) {
        fail(decode_errc::truncated, field);
        return nullptr;
    }
    const std::uint8_t* p = data_.data() + pos_;
    pos_ += n;
    return p;
}

namespace {
template <class U>
U load_be(const std::uint8_t* p) {
    U v = 0;
    for (std::size_t i = 0; i < sizeof(U); ++i) v = static_cast<U>((v << 8) | p[i]);
    return v;
}
}  // namespace

void reader::i8(std::int8_t& v) {
    if (const auto* p = take(1, "int8")) v = static_cast<std::int8_t>(p[0]);
}
void reader::i16(std::int16_t& v) {
    if (const auto* p = take(2, "int16")) v = static_cast<std::int16_t>(load_be<std::uint16_t>(p));
}
void reader::i16(error_code& v) {
    std::int16_t n = 0;
    i16(n);
    v = static_cast<error_code>(n);
}
void reader::i32(std::int32_t& v) {
    if (const auto* p = take(4, "int32")) v = static_cast<std::int32_t>(load_be<std::uint32_t>(p));
}
void reader::i64(std::int64_t& v) {
    if (const auto* p = take(8, "int64")) v = static_cast<std::int64_t>(load_be<std::uint64_t>(p));
}
void reader::boolean(bool& v) {
    std::int8_t b = 0;
    i8(b);
    v = b != 0;
}

void reader::uvarint(std::uint32_t& v) {
    std::uint32_t out = 0;
    for (int i = 0; i < 5; ++i) {
        const auto* p = take(1, "varint");
        if (!p) return;
        if (i == 4 && (*p & 0xf0) != 0) break;
        out |= static_cast<std::uint32_t>(*p & 0x7f) << (7 * i);
        if ((*p & 0x80) == 0) {
            v = out;
            return;
        }
    }
    fail(decode_errc::invalid_varint, "varint");
}
void reader::varint(std::int32_t& v) {
    std::uint32_t u = 0;
    uvarint(u);
    v = static_cast<std::int32_t>((u >> 1) ^ (~(u & 1) + 1));
}
void reader::varlong(std::int64_t& v) {
    std::uint64_t out = 0;
    for (int i = 0; i < 10; ++i) {
        const auto* p = take(1, "varlong");
        if (!p) return;
        if (i == 9 && (*p & 0xfe) != 0) break;
        out |= static_cast<std::uint64_t>(*p & 0x7f) << (7 * i);
        if ((*p & 0x80) == 0) {
            v = static_cast<std::int64_t>((out >> 1) ^ (~(out & 1) + 1));
            return;
        }
    }
    fail(decode_errc::invalid_varint, "varlong");
}

std::int32_t reader::compact_length(const char* field) {
    std::uint32_t n = 0;
    uvarint(n);
    if (failed()) return 0;
    if (n > static_cast<std::uint32_t>(std::numeric_limits<std::int32_t>::max())) {
        fail(decode_errc::invalid_length, field);
        return 0;
    }
    return static_cast<std::int32_t>(n) - 1;
}
std::int32_t reader::string_length(const char* field) {
    if (flexible_) return compact_length(field);
    std::int16_t n = 0;
    i16(n);
    return n;
}
std::int32_t reader::bytes_length(const char* field) {
    if (flexible_) return compact_length(field);
    std::int32_t n = 0;
    i32(n);
    return n;
}
std::int32_t reader::array_length(const char* field) {
    return bytes_length(field);
}

void reader::string(std::string& v) {
    std::int32_t n = string_length("string");
    if (failed()) return;
    if (n < 0) return fail(decode_errc::invalid_length, "string");
    if (const auto* p = take(static_cast<std::size_t>(n), "string"))
        v.assign(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n));
}
void reader::nullable_string(std::optional<std::string>& v) {
    std::int32_t n = string_length("string");
    if (failed()) return;
    if (n < 0) return v.reset();
    if (const auto* p = take(static_cast<std::size_t>(n), "string"))
        v.emplace(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n));
}
void reader::bytes(byte_buffer& v) {
    std::int32_t n = bytes_length("bytes");
    if (failed()) return;
    if (n < 0) return fail(decode_errc::invalid_length, "bytes");
    if (const auto* p = take(static_cast<std::size_t>(n), "bytes")) v.assign(p, p + n);
}
void reader::nullable_bytes(std::optional<byte_buffer>& v) {
    std::int32_t n = bytes_length("bytes");
    if (failed()) return;
    if (n < 0) return v.reset();
    if (const auto* p = take(static_cast<std::size_t>(n), "bytes")) v.emplace(p, p + n);
}
void reader::records(record_set& v) {
    std::optional<byte_buffer> b;
    nullable_bytes(b);
    v.parts.clear();
    v.null = !b.has_value();
    if (b && !b->empty()) v.parts.emplace_back(std::move(*b));
}

void reader::tagged_fields() {
    if (!flexible_) return;
    std::uint32_t count = 0;
    uvarint(count);
    for (std::uint32_t i = 0; i < count && !failed(); ++i) {
        std::uint32_t tag = 0, size = 0;
        uvarint(tag);
        uvarint(size);
        take(size, "tagged field");
    }
}

void reader::expect_end() {
    if (!failed() && remaining() != 0) fail(decode_errc::trailing_bytes, "body");
}

// ---- writer ----

namespace {
template <class U>
void store_be(byte_buffer& out, U v) {
    for (int i = static_cast<int>(sizeof(U)) - 1; i >= 0; --i)
        out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
}  // namespace

void writer::i8(std::int8_t v) {
    buf().push_back(static_cast<std::uint8_t>(v));
}
void writer::i16(std::int16_t v) {
    store_be(buf(), static_cast<std::uint16_t>(v));
}
void writer::i32(std::int32_t v) {
    store_be(buf(), static_cast<std::uint32_t>(v));
}
void writer::i64(std::int64_t v) {
    store_be(buf(), static_cast<std::uint64_t>(v));
}

void writer::uvarint(std::uint32_t v) {
    while (v >= 0x80) {
        buf().push_back(static_cast<std::uint8_t>(v | 0x80));
        v >>= 7;
    }
    buf().push_back(static_cast<std::uint8_t>(v));
}
void writer::varint(std::int32_t v) {
    uvarint((static_cast<std::uint32_t>(v) << 1) ^ static_cast<std::uint32_t>(v >> 31));
}
void writer::varlong(std::int64_t v) {
    std::uint64_t u = (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
    while (u >= 0x80) {
        buf().push_back(static_cast<std::uint8_t>(u | 0x80));
        u >>= 7;
    }
    buf().push_back(static_cast<std::uint8_t>(u));
}

void writer::raw(const std::uint8_t* p, std::size_t n) {
    buf().insert(buf().end(), p, p + n);
}

void writer::length(std::int32_t n) {
    if (flexible_)
        uvarint(static_cast<std::uint32_t>(n + 1));
    else
        i32(n);
}

void writer::string(const std::string& v) {
    if (flexible_)
        uvarint(static_cast<std::uint32_t>(v.size() + 1));
    else
        i16(static_cast<std::int16_t>(v.size()));
    raw(reinterpret_cast<const std::uint8_t*>(v.data()), v.size());
}
void writer::nullable_string(const std::optional<std::string>& v) {
    if (v) return string(*v);
    if (flexible_)
        uvarint(0);
    else
        i16(-1);
}
void writer::bytes(const byte_buffer& v) {
    length(static_cast<std::int32_t>(v.size()));
    raw(v.data(), v.size());
}
void writer::nullable_bytes(const std::optional<byte_buffer>& v) {
    if (v) return bytes(*v);
    length(-1);
}
void writer::records(const record_set& v) {
    if (v.null) return length(-1);
    length(static_cast<std::int32_t>(v.size()));
    for (const auto& p : v.parts) {
        if (const auto* b = std::get_if<byte_buffer>(&p)) {
            raw(b->data(), b->size());
        } else {
            done_ += buf().size();
            done_ += piece_size(p);
            pieces_.push_back(p);
            pieces_.emplace_back(byte_buffer{});
        }
    }
}

void writer::tagged_fields() {
    if (flexible_) uvarint(0);
}

void writer::patch_i32(std::size_t position, std::int32_t v) {
    auto& first = std::get<byte_buffer>(pieces_.front());
    auto u = static_cast<std::uint32_t>(v);
    for (int i = 0; i < 4; ++i)
        first[position + static_cast<std::size_t>(i)] =
            static_cast<std::uint8_t>(u >> (24 - 8 * i));
}

std::vector<piece> writer::take_pieces() {
    std::vector<piece> out;
    for (auto& p : pieces_) {
        if (const auto* b = std::get_if<byte_buffer>(&p); b && b->empty()) continue;
        out.push_back(std::move(p));
    }
    pieces_.clear();
    pieces_.emplace_back(byte_buffer{});
    done_ = 0;
    return out;
}

}  // namespace sluice::kafka

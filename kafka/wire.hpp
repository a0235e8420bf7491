#pragma once
// Kafka's primitive types (https://kafka.apache.org/protocol#protocol_types): fixed-width
// big-endian integers, (unsigned) varints, strings, bytes and arrays in their classic and
// compact (flexible-version) forms, and tagged fields.
//
// `reader` and `writer` have the same member names so one field list per message (schema.hpp)
// both decodes and encodes it. A reader never reads past its buffer: the first failure is
// recorded, every later read is a no-op, and the caller checks `error()` once at the end.
//
// Threads: a reader or writer is a local object of one decode or encode call.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "kafka/error_code.hpp"
#include "kafka/record_set.hpp"

namespace sluice::kafka {

enum class decode_errc {
    truncated,            // a field runs past the end of the frame
    invalid_length,       // a negative length where null is not allowed, or an absurd count
    invalid_varint,       // a varint longer than its type
    trailing_bytes,       // bytes left after the last field of the body
    unknown_api,          // an API key Sluice does not implement
    unsupported_version,  // a version of a known API Sluice does not implement
    frame_too_large,      // a size prefix above the configured maximum, or negative
};

const char* to_string(decode_errc e);

struct decode_error {
    decode_errc code = decode_errc::truncated;
    const char* field = "";  // the field being read, for the log line
};

class reader {
  public:
    explicit reader(byte_span data, bool flexible = false) : data_(data), flexible_(flexible) {}

    bool flexible() const { return flexible_; }
    void set_flexible(bool f) { flexible_ = f; }
    bool failed() const { return error_.has_value(); }
    const std::optional<decode_error>& error() const { return error_; }
    std::size_t remaining() const { return data_.size() - pos_; }
    std::size_t position() const { return pos_; }
    // Records the first failure; reads after it do nothing.
    void fail(decode_errc code, const char* field) {
        if (!error_) error_ = decode_error{code, field};
    }

    void i8(std::int8_t& v);
    void i16(std::int16_t& v);
    void i16(error_code& v);
    void i32(std::int32_t& v);
    void i64(std::int64_t& v);
    void boolean(bool& v);
    void uvarint(std::uint32_t& v);
    void varint(std::int32_t& v);
    void varlong(std::int64_t& v);
    void string(std::string& v);
    void nullable_string(std::optional<std::string>& v);
    void bytes(byte_buffer& v);
    void nullable_bytes(std::optional<byte_buffer>& v);
    void records(record_set& v);
    // Skips every tagged field (flexible versions only; none is understood yet).
    void tagged_fields();
    // Fails with trailing_bytes unless the whole buffer was read.
    void expect_end();

    template <class T, class F>
    void array(std::vector<T>& v, F&& each) {
        std::int32_t n = array_length("array");
        if (n < 0) {
            fail(decode_errc::invalid_length, "array");
            return;
        }
        fill(v, n, each);
    }
    template <class T, class F>
    void nullable_array(std::optional<std::vector<T>>& v, F&& each) {
        std::int32_t n = array_length("array");
        if (failed()) return;
        if (n < 0) {
            v.reset();
            return;
        }
        v.emplace();
        fill(*v, n, each);
    }

  private:
    const std::uint8_t* take(std::size_t n, const char* field);
    // Classic int16/int32 length or compact uvarint length - 1 (-1 is null).
    std::int32_t string_length(const char* field);
    std::int32_t bytes_length(const char* field);
    std::int32_t array_length(const char* field);
    std::int32_t compact_length(const char* field);

    template <class T, class F>
    void fill(std::vector<T>& v, std::int32_t n, F& each) {
        v.clear();
        if (failed()) return;
        // Every element takes at least one byte: a count above that is a lie, and would
        // otherwise let 4 bytes allocate gigabytes.
        if (static_cast<std::size_t>(n) > remaining()) {
            fail(decode_errc::truncated, "array");
            return;
        }
        v.resize(static_cast<std::size_t>(n));
        for (auto& e : v) {
            if (failed()) return;
            each(e);
        }
    }

    byte_span data_;
    std::size_t pos_ = 0;
    bool flexible_;
    std::optional<decode_error> error_;
};

class writer {
  public:
    explicit writer(bool flexible = false) : flexible_(flexible) {
        pieces_.emplace_back(byte_buffer{});
    }

    bool flexible() const { return flexible_; }
    void set_flexible(bool f) { flexible_ = f; }
    // Bytes written so far, file ranges included.
    std::uint64_t size() const { return done_ + buf().size(); }

    void i8(std::int8_t v);
    void i16(std::int16_t v);
    void i16(error_code v) { i16(to_int(v)); }
    void i32(std::int32_t v);
    void i64(std::int64_t v);
    void boolean(bool v) { i8(v ? 1 : 0); }
    void uvarint(std::uint32_t v);
    void varint(std::int32_t v);
    void varlong(std::int64_t v);
    void string(const std::string& v);
    void nullable_string(const std::optional<std::string>& v);
    void bytes(const byte_buffer& v);
    void nullable_bytes(const std::optional<byte_buffer>& v);
    void records(const record_set& v);
    // Writes an empty tagged-field section (flexible versions only).
    void tagged_fields();
    void raw(const std::uint8_t* p, std::size_t n);

    template <class T, class F>
    void array(const std::vector<T>& v, F&& each) {
        length(static_cast<std::int32_t>(v.size()));
        for (const auto& e : v) each(e);
    }
    template <class T, class F>
    void nullable_array(const std::optional<std::vector<T>>& v, F&& each) {
        if (!v) {
            length(-1);
            return;
        }
        array(*v, each);
    }

    // Overwrites 4 bytes at `position`, which must lie in the first piece (the size prefix).
    void patch_i32(std::size_t position, std::int32_t v);
    std::vector<piece> take_pieces();

  private:
    void length(std::int32_t n);  // array length: int32 or compact uvarint n+1
    byte_buffer& buf() { return std::get<byte_buffer>(pieces_.back()); }
    const byte_buffer& buf() const { return std::get<byte_buffer>(pieces_.back()); }

    std::vector<piece> pieces_;  // the last one is always the bytes being appended to
    std::uint64_t done_ = 0;     // bytes in every piece but the last
    bool flexible_;
};

}  // namespace sluice::kafka

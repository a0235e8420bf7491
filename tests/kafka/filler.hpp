#pragma once
// Test helper: fills any message through the codec's field lists (schema.hpp) with distinct
// values, so a round trip through encode and decode checks every field of every version.

#include <optional>
#include <string>
#include <vector>

#include "kafka/codec.hpp"
#include "kafka/schema.hpp"

namespace sluice::kafka::test {

// Same member names as reader and writer: sets every field it visits to a fresh value.
struct filler {
    int n = 0;
    int depth = 0;

    int next() { return ++n; }
    void i8(std::int8_t& v) { v = static_cast<std::int8_t>(next() % 100); }
    void i16(std::int16_t& v) { v = static_cast<std::int16_t>(next() * 3); }
    void i16(error_code& v) { v = static_cast<error_code>(next()); }
    void i32(std::int32_t& v) { v = next() * 1000003; }
    void i64(std::int64_t& v) { v = next() * 100000000003LL; }
    void boolean(bool& v) { v = next() % 2 == 1; }
    void string(std::string& v) { v = "s" + std::to_string(next()); }
    void nullable_string(std::optional<std::string>& v) {
        int k = next();
        if (k % 3 == 0)
            v.reset();
        else
            v = "n" + std::to_string(k);
    }
    void bytes(byte_buffer& v) { v = {static_cast<std::uint8_t>(next()), 0xaa, 0x55}; }
    void nullable_bytes(std::optional<byte_buffer>& v) {
        int k = next();
        if (k % 3 == 0)
            v.reset();
        else
            v = byte_buffer{static_cast<std::uint8_t>(k), 1};
    }
    void records(record_set& v) {
        int k = next();
        v = k % 3 == 0 ? record_set{true, {}}
                       : record_set::from_bytes({static_cast<std::uint8_t>(k), 2, 3, 4});
    }
    void tagged_fields() {}
    template <class T, class F>
    void array(std::vector<T>& v, F&& each) {
        v.resize(depth < 2 ? 2 : 1);
        ++depth;
        for (auto& e : v) each(e);
        --depth;
    }
    template <class T, class F>
    void nullable_array(std::optional<std::vector<T>>& v, F&& each) {
        if (next() % 4 == 0) {
            v.reset();
            return;
        }
        v.emplace();
        array(*v, each);
    }
};

// A request of `Request`'s API filled for `version`.
#define SLUICE_KAFKA_FILLED(name, k)                                      \
    inline name##_request filled(const name##_request*, std::int16_t v) { \
        name##_request m;                                                 \
        filler f;                                                         \
        schema::name##_request(f, m, v);                                  \
        return m;                                                         \
    }
SLUICE_KAFKA_APIS(SLUICE_KAFKA_FILLED)
#undef SLUICE_KAFKA_FILLED

}  // namespace sluice::kafka::test

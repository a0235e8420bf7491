#pragma once
// Test helpers: hex, the kafka-python vectors (gen_vectors.py) and re-encoding of a decoded
// request or response of any API, so a vector can be decoded and written back byte for byte.

#include <cstdint>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "kafka/codec.hpp"
#include "kafka/dispatch.hpp"

namespace sluice::kafka::test {

inline byte_buffer from_hex(const std::string& hex) {
    byte_buffer out;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
        out.push_back(static_cast<std::uint8_t>(std::stoi(hex.substr(i, 2), nullptr, 16)));
    return out;
}

inline std::string to_hex(const byte_buffer& b) {
    static const char* digits = "0123456789abcdef";
    std::string s;
    for (auto c : b) {
        s += digits[c >> 4];
        s += digits[c & 15];
    }
    return s;
}

struct vector_entry {
    std::string kind;  // "request" (whole frame) or "response" (body)
    std::int16_t key = 0;
    std::int16_t version = 0;
    byte_buffer bytes;
};

inline std::vector<vector_entry> load_vectors() {
    std::vector<vector_entry> out;
    std::ifstream in(KAFKA_VECTORS);
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        std::istringstream ls(line);
        vector_entry e;
        int key = 0, version = 0;
        std::string hex;
        ls >> e.kind >> key >> version >> hex;
        e.key = static_cast<std::int16_t>(key);
        e.version = static_cast<std::int16_t>(version);
        e.bytes = from_hex(hex);
        out.push_back(std::move(e));
    }
    return out;
}

// The request frame (with size prefix) that `r` encodes to.
inline byte_buffer reencode(const request& r) {
    return std::visit(
        [&](const auto& body) {
            return encode_request(r.header.api_version, r.header.correlation_id, r.header.client_id,
                                  body);
        },
        r.body);
}

// Decodes a response body of any API and encodes it again (body only); nullopt when the
// body does not decode.
inline std::optional<byte_buffer> reencode_response(std::int16_t key, std::int16_t version,
                                                    const byte_buffer& body) {
    writer w;
    switch (static_cast<api_key>(key)) {
#define SLUICE_KAFKA_CASE(name, k)                         \
    case api_key::k: {                                     \
        name##_response m;                                 \
        if (decode(body, version, m)) return std::nullopt; \
        encode(w, version, m);                             \
        break;                                             \
    }
        SLUICE_KAFKA_APIS(SLUICE_KAFKA_CASE)
#undef SLUICE_KAFKA_CASE
        default:
            return std::nullopt;
    }
    return response_frame{w.take_pieces()}.flatten();
}

inline byte_span without_prefix(const byte_buffer& frame) {
    return byte_span(frame).subspan(4);
}

}  // namespace sluice::kafka::test

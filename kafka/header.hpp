#pragma once
// Request header v1 (api_key, api_version, correlation_id, client_id) and v2 (v1 plus tagged
// fields, for flexible request versions). client_id stays a classic nullable string in v2.
// Response headers are written by encode_response() in codec.hpp.
//
// Threads: plain values and free functions; any thread.

#include <cstdint>
#include <optional>
#include <string>

#include "kafka/api_key.hpp"
#include "kafka/wire.hpp"

namespace sluice::kafka {

struct request_header {
    api_key key = api_key::api_versions;  // may hold a value outside the enum
    std::int16_t api_version = 0;
    std::int32_t correlation_id = 0;
    std::optional<std::string> client_id;
    bool operator==(const request_header&) const = default;
};

// Reads the fixed part (key, version, correlation id, client id). The caller decides from
// the key and version whether a tagged-field section follows (decode_request does).
void decode_request_header_v1(reader& r, request_header& h);
// Writes header v1, or v2 when the request's version is flexible.
void encode_request_header(writer& w, const request_header& h);

}  // namespace sluice::kafka

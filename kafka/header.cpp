#include "kafka/header.hpp"

#include "kafka/codec.hpp"

namespace sluice::kafka {

void decode_request_header_v1(reader& r, request_header& h) {
    std::int16_t key = 0;
    r.i16(key);
    h.key = static_cast<api_key>(key);
    r.i16(h.api_version);
    r.i32(h.correlation_id);
    // ClientId is a classic nullable string even in header v2.
    bool flexible = r.flexible();
    r.set_flexible(false);
    r.nullable_string(h.client_id);
    r.set_flexible(flexible);
}

void encode_request_header(writer& w, const request_header& h) {
    w.i16(static_cast<std::int16_t>(h.key));
    w.i16(h.api_version);
    w.i32(h.correlation_id);
    bool flexible = w.flexible();
    w.set_flexible(false);
    w.nullable_string(h.client_id);
    if (is_flexible(h.key, h.api_version)) {
        w.set_flexible(true);
        w.tagged_fields();
    }
    w.set_flexible(flexible);
}

}  // namespace sluice::kafka

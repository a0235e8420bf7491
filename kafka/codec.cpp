#include "kafka/codec.hpp"

#include "kafka/schema.hpp"

namespace sluice::kafka {

bool is_flexible(api_key key, std::int16_t version) {
    return key == api_key::api_versions && version >= 3;
}

namespace {

template <class M, class F>
std::optional<decode_error> decode_with(byte_span body, std::int16_t version, M& m, F fields) {
    reader r(body, is_flexible(api_key_of<M>(), version));
    m = M{};
    fields(r, m, version);
    r.expect_end();
    return r.error();
}

template <class M, class F>
void encode_with(writer& w, std::int16_t version, const M& m, F fields) {
    bool was = w.flexible();
    w.set_flexible(is_flexible(api_key_of<M>(), version));
    fields(w, m, version);
    w.set_flexible(was);
}

}  // namespace

#define SLUICE_KAFKA_DEFINE(name, key)                                                             \
    std::optional<decode_error> decode(byte_span body, std::int16_t version, name##_request& m) {  \
        return decode_with(body, version, m, [](reader& r, name##_request& x, std::int16_t v) {    \
            schema::name##_request(r, x, v);                                                       \
        });                                                                                        \
    }                                                                                              \
    std::optional<decode_error> decode(byte_span body, std::int16_t version, name##_response& m) { \
        return decode_with(body, version, m, [](reader& r, name##_response& x, std::int16_t v) {   \
            schema::name##_response(r, x, v);                                                      \
        });                                                                                        \
    }                                                                                              \
    void encode(writer& w, std::int16_t version, const name##_request& m) {                        \
        encode_with(w, version, m, [](writer& o, const name##_request& x, std::int16_t v) {        \
            schema::name##_request(o, x, v);                                                       \
        });                                                                                        \
    }                                                                                              \
    void encode(writer& w, std::int16_t version, const name##_response& m) {                       \
        encode_with(w, version, m, [](writer& o, const name##_response& x, std::int16_t v) {       \
            schema::name##_response(o, x, v);                                                      \
        });                                                                                        \
    }
SLUICE_KAFKA_APIS(SLUICE_KAFKA_DEFINE)
#undef SLUICE_KAFKA_DEFINE

}  // namespace sluice::kafka

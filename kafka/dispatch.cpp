#include "kafka/dispatch.hpp"

#include "kafka/api_versions.hpp"

namespace sluice::kafka {

namespace {

dispatch_result closing(const request_header& h, decode_errc code, const char* field) {
    dispatch_result r;
    r.action = dispatch_action::close;
    r.req.header = h;
    r.error = decode_error{code, field};
    return r;
}

// Produce below v3 carries old message sets the store cannot hold: every partition is
// answered UNSUPPORTED_VERSION in a response of the request's own version.
response_frame reject_produce(const request_header& h, const produce_request& p) {
    produce_response resp;
    for (const auto& t : p.topics) {
        auto& rt = resp.topics.emplace_back();
        rt.name = t.name;
        for (const auto& part : t.partitions)
            rt.partitions.push_back({part.index, error_code::unsupported_version, -1, -1, -1});
    }
    return encode_response(h.correlation_id, h.api_version, resp);
}

}  // namespace

std::string dispatch_result::describe() const {
    std::string s = to_string(req.header.key);
    if (s == "Unknown") s += " api " + std::to_string(static_cast<int>(req.header.key));
    s += " v" + std::to_string(req.header.api_version);
    s += " correlation " + std::to_string(req.header.correlation_id);
    s += ": ";
    s += to_string(error.code);
    s += " (";
    s += error.field;
    s += ")";
    return s;
}

dispatch_result decode_request(byte_span frame) {
    reader r(frame);
    request_header h;
    decode_request_header_v1(r, h);
    if (r.failed()) return closing(h, r.error()->code, "request header");

    const auto raw_key = static_cast<std::int16_t>(h.key);
    const api_support* api = find_api(raw_key);
    if (!api) return closing(h, decode_errc::unknown_api, "api key");

    if (!is_advertised(raw_key, h.api_version)) {
        if (h.key == api_key::api_versions) {
            // A newer client: answer in v0, which every client reads, so it can retry with
            // a version from the list.
            dispatch_result res;
            res.action = dispatch_action::respond;
            res.req.header = h;
            res.error = decode_error{decode_errc::unsupported_version, "api version"};
            res.reply = encode_response(h.correlation_id, std::int16_t{0},
                                        api_versions_body(error_code::unsupported_version));
            return res;
        }
        return closing(h, decode_errc::unsupported_version, "api version");
    }
    if (is_flexible(h.key, h.api_version)) {
        r.set_flexible(true);
        r.tagged_fields();
        if (r.failed()) return closing(h, r.error()->code, "request header tags");
    }

    byte_span body = frame.subspan(r.position());
    std::optional<decode_error> err;
    dispatch_result res;
    res.req.header = h;
    switch (h.key) {
#define SLUICE_KAFKA_CASE(name, key)                        \
    case api_key::key: {                                    \
        name##_request m;                                   \
        err = decode(body, h.api_version, m);               \
        res.req.body.emplace<name##_request>(std::move(m)); \
        break;                                              \
    }
        SLUICE_KAFKA_APIS(SLUICE_KAFKA_CASE)
#undef SLUICE_KAFKA_CASE
    }
    if (err) return closing(h, err->code, err->field);

    if (h.api_version < api->served_min) {
        res.action = dispatch_action::respond;
        res.error = decode_error{decode_errc::unsupported_version, "api version"};
        if (const auto* p = std::get_if<produce_request>(&res.req.body))
            res.reply = reject_produce(h, *p);
        else
            return closing(h, decode_errc::unsupported_version, "api version");
        return res;
    }
    res.action = dispatch_action::handle;
    return res;
}

}  // namespace sluice::kafka

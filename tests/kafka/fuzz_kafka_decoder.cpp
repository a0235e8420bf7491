// libFuzzer target for everything that reads untrusted Kafka bytes: the frame splitter, the
// request header and every request body of every advertised version (through
// decode_request, and directly by API key so the fuzzer need not find a valid header), and
// every response decoder (kept for tests and future clients).

#include <cstddef>
#include <cstdint>

#include "kafka/api_versions.hpp"
#include "kafka/codec.hpp"
#include "kafka/dispatch.hpp"
#include "kafka/frame.hpp"

using namespace sluice::kafka;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    byte_span in(data, size);

    // As a stream: frames split at any point, each dispatched.
    frame_splitter splitter(1 << 16);
    std::size_t half = size / 2;
    splitter.feed(in.first(half));
    splitter.feed(in.subspan(half));
    byte_span frame;
    while (splitter.next(frame) == frame_splitter::status::frame) {
        dispatch_result d = decode_request(frame);
        if (d.action == dispatch_action::handle) {
            // A decoded request re-encodes without trouble.
            std::visit(
                [&](const auto& body) {
                    writer w;
                    encode(w, d.req.header.api_version, body);
                },
                d.req.body);
        }
    }

    // As one whole frame.
    (void)decode_request(in);

    // As a body of every API and version: the first two bytes pick which.
    if (size >= 2) {
        auto apis = supported_apis();
        const api_support& api = apis[data[0] % apis.size()];
        auto span = api.advertised_max - api.advertised_min + 1;
        auto version = static_cast<std::int16_t>(api.advertised_min + data[1] % span);
        byte_span body = in.subspan(2);
        switch (api.key) {
#define SLUICE_KAFKA_CASE(name, k)         \
    case api_key::k: {                     \
        name##_request req;                \
        (void)decode(body, version, req);  \
        name##_response resp;              \
        (void)decode(body, version, resp); \
        break;                             \
    }
            SLUICE_KAFKA_APIS(SLUICE_KAFKA_CASE)
#undef SLUICE_KAFKA_CASE
        }
    }
    return 0;
}

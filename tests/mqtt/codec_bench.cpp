// mqtt_codec_bench: single-thread throughput of the PUBLISH hot path (decode, generic encode,
// per-subscriber publish_encoder). Not part of the test suite; run it on a Release build:
//   build/tests/mqtt_codec_bench [packets]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "mqtt/decoder.hpp"
#include "mqtt/encoder.hpp"
#include "mqtt/publish_encoder.hpp"

using namespace sluice::mqtt;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
    const long n = argc > 1 ? std::atol(argv[1]) : 1'000'000;
    if (n <= 0) return 2;
    publish p;
    p.topic = "sensors/building-1/floor-2/room-3/temp";
    p.qos_level = qos::at_least_once;
    p.packet_id = 1;
    p.props.user_properties = {{"unit", "C"}};
    p.payload = shared_bytes(std::vector<std::uint8_t>(100, 'x'));
    std::vector<std::uint8_t> one;
    if (!encode(p, protocol_version::v5, one)) return 1;

    // Decode: a stream of identical packets read in place in 4 KiB chunks, as from a socket.
    constexpr long per_round = 10'000;
    std::vector<std::uint8_t> stream;
    for (long i = 0; i < per_round; ++i) stream.insert(stream.end(), one.begin(), one.end());
    stream_decoder d({decoder_role::server, 1 << 20, protocol_version::v5});
    long decoded = 0;
    auto t0 = std::chrono::steady_clock::now();
    for (long r = 0; r < (n + per_round - 1) / per_round; ++r) {
        for (std::size_t at = 0; at < stream.size(); at += 4096) {
            const std::size_t k = std::min<std::size_t>(4096, stream.size() - at);
            auto room = d.prepare(k);
            std::memcpy(room.data(), stream.data() + at, k);
            d.commit(k);
            packet out;
            while (d.next(out) == decode_status::packet) ++decoded;
        }
    }
    double s = seconds_since(t0);
    std::printf("decode PUBLISH (%zu bytes)        %8.2f M packets/s  %7.0f MB/s\n", one.size(),
                decoded / s / 1e6, decoded * one.size() / s / 1e6);

    std::vector<std::uint8_t> out;
    out.reserve(one.size() * 2);
    t0 = std::chrono::steady_clock::now();
    for (long i = 0; i < n; ++i) {
        out.clear();
        encode(p, protocol_version::v5, out);
    }
    s = seconds_since(t0);
    std::printf("encode(publish)                   %8.2f M packets/s\n", n / s / 1e6);

    const publish_encoder enc(p, protocol_version::v5);
    const std::uint32_t ids[] = {7};
    t0 = std::chrono::steady_clock::now();
    for (long i = 0; i < n; ++i) {
        out.clear();
        const publish_delivery del{qos::at_least_once,
                                   static_cast<std::uint16_t>(i | 1),
                                   false,
                                   false,
                                   std::nullopt,
                                   true,
                                   ids};
        enc.encode_header(del, out);
    }
    s = seconds_since(t0);
    std::printf("publish_encoder::encode_header    %8.2f M headers/s (%zu of %zu bytes)\n",
                n / s / 1e6, out.size(), out.size() + enc.payload().size());
    return decoded > 0 ? 0 : 1;
}

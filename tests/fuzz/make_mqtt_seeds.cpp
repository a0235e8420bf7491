// Writes the seed corpus of fuzz_mqtt_decoder: for each protocol level, one file per sample
// packet (preceded by a CONNECT at that level, so a decoder that starts before CONNECT reads
// it too) and one file with the whole sample stream. Usage: make_mqtt_seeds DIR
#include <cstdio>
#include <string>

#include "mqtt/encoder.hpp"
#include "tests/mqtt/samples.hpp"

using namespace sluice::mqtt;

namespace {

bool write_file(const std::string& path, const std::vector<std::uint8_t>& bytes) {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (f == nullptr) return false;
    const bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
    return std::fclose(f) == 0 && ok;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    const std::string dir = argv[1];
    const char* names[] = {"",          "connect",  "connack",     "publish",
                           "puback",    "pubrec",   "pubrel",      "pubcomp",
                           "subscribe", "suback",   "unsubscribe", "unsuback",
                           "pingreq",   "pingresp", "disconnect",  "auth"};
    for (auto v : {protocol_version::v3_1, protocol_version::v3_1_1, protocol_version::v5}) {
        const auto samples = test::sample_packets(v);
        const std::string level = std::to_string(static_cast<int>(v));
        // Control byte 0x07: chunks of 8 bytes, role any.
        std::vector<std::uint8_t> stream{0x07};
        int index = 0;
        for (const auto& p : samples) {
            std::vector<std::uint8_t> file{static_cast<std::uint8_t>(index * 5)};
            if (type_of(p) != packet_type::connect && !encode(samples[1], v, file)) return 1;
            if (!encode(p, v, file) || !encode(p, v, stream)) return 1;
            const std::string name =
                dir + "/v" + level + "-" + std::to_string(index) + "-" + names[p.index() + 1];
            if (!write_file(name, file)) return 1;
            ++index;
        }
        if (!write_file(dir + "/v" + level + "-stream", stream)) return 1;
    }
    return 0;
}

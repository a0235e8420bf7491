// Writes response bodies made by Sluice's encoder for check_responses.py, which decodes them
// with kafka-python. Lines: "<api key> <version> <name> <hex body>". Two kinds:
//   vector   each kafka-python response vector decoded and encoded again by Sluice;
//   <name>   hand-built responses whose field values the script checks one by one.

#include <cstdio>
#include <fstream>
#include <iostream>

#include "kafka/api_versions.hpp"
#include "kafka/codec.hpp"
#include "tests/kafka/vectors.hpp"

using namespace sluice::kafka;
using namespace sluice::kafka::test;

namespace {

template <class M>
void put(std::ostream& out, std::int16_t version, const char* name, const M& m) {
    writer w;
    encode(w, version, m);
    out << static_cast<int>(api_key_of<M>()) << ' ' << version << ' ' << name << ' '
        << to_hex(response_frame{w.take_pieces()}.flatten()) << '\n';
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::cerr << "usage: kafka_response_dump <out file>\n";
        return 2;
    }
    std::ofstream out(argv[1]);
    for (const auto& v : load_vectors()) {
        if (v.kind != "response") continue;
        auto again = reencode_response(v.key, v.version, v.bytes);
        if (!again) {
            std::cerr << "vector api " << v.key << " v" << v.version << " does not decode\n";
            return 1;
        }
        out << v.key << ' ' << v.version << " vector " << to_hex(*again) << '\n';
    }

    for (std::int16_t v = 0; v <= 2; ++v) put(out, v, "api_versions", api_versions_body());

    metadata_response md;
    md.throttle_time_ms = 0;
    md.brokers = {{1, "localhost", 9092, std::nullopt}};
    md.cluster_id = "sluice";
    md.controller_id = 1;
    md.topics = {{error_code::none, "events", false, {{error_code::none, 0, 1, 0, {1}, {1}, {}}}}};
    for (std::int16_t v = 0; v <= 5; ++v) put(out, v, "metadata", md);

    produce_response pr;
    pr.topics = {{"events", {{0, error_code::none, 42, -1, 0}}}};
    for (std::int16_t v = 3; v <= 7; ++v) put(out, v, "produce", pr);

    fetch_response fr;
    fr.topics = {{"events", {}}};
    fetch_response::partition p;
    p.index = 0;
    p.high_watermark = 43;
    p.last_stable_offset = 43;
    p.log_start_offset = 0;
    p.records = record_set::from_bytes(byte_buffer{0xde, 0xad, 0xbe, 0xef});
    fr.topics[0].partitions.push_back(p);
    for (std::int16_t v = 4; v <= 11; ++v) put(out, v, "fetch", fr);

    join_group_response jg;
    jg.generation_id = 3;
    jg.protocol_name = "range";
    jg.leader = "m-1";
    jg.member_id = "m-1";
    jg.members = {{"m-1", std::nullopt, byte_buffer{0, 1}}};
    for (std::int16_t v = 0; v <= 2; ++v) put(out, v, "join_group", jg);

    offset_fetch_response of;
    of.topics = {{"events", {{0, 17, -1, std::string("meta"), error_code::none}}}};
    for (std::int16_t v = 0; v <= 3; ++v) put(out, v, "offset_fetch", of);
    return out.good() ? 0 : 1;
}

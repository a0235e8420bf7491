// libFuzzer target for the MQTT streaming decoder.
//
// Input: one control byte, then a byte stream. For each starting state (before CONNECT, 3.1,
// 3.1.1, 5.0) the stream is decoded twice, fed whole and read in place (prepare/commit) in
// chunks whose size comes from the control byte, and both runs must agree. Every decoded
// packet is re-encoded, decoded again and must be equal; PUBLISH packets also go through
// publish_encoder, and topics and filters through the topic helpers. Any disagreement aborts,
// which libFuzzer reports as a crash.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <span>
#include <vector>

#include "mqtt/decoder.hpp"
#include "mqtt/encoder.hpp"
#include "mqtt/publish_encoder.hpp"
#include "mqtt/topic.hpp"

using namespace sluice::mqtt;

namespace {

[[noreturn]] void fail(const char* what) {
    std::fprintf(stderr, "fuzz_mqtt_decoder: %s\n", what);
    std::abort();
}

struct run_result {
    std::vector<packet> packets;
    std::vector<std::optional<protocol_version>> versions;  // the level each packet was read at
    decode_status last = decode_status::need_more;
    reason_code error = reason_code::success;
    error_response response = error_response::close;
};

run_result run(std::span<const std::uint8_t> stream, std::optional<protocol_version> version,
               decoder_role role, std::size_t chunk, bool in_place) {
    stream_decoder d({role, 1 << 20, version});
    run_result r;
    std::size_t at = 0;
    while (at < stream.size() && r.last != decode_status::error) {
        const std::size_t n = std::min(chunk, stream.size() - at);
        if (in_place) {
            auto room = d.prepare(chunk + 3);
            std::memcpy(room.data(), stream.data() + at, n);
            d.commit(n);
        } else {
            d.feed(stream.subspan(at, n));
        }
        at += n;
        packet p;
        while ((r.last = d.next(p)) == decode_status::packet) {
            r.packets.push_back(std::move(p));
            r.versions.push_back(d.version());
        }
    }
    if (r.last == decode_status::error) {
        r.error = d.error().code;
        r.response = d.error().response;
    }
    return r;
}

void check_round_trip(const packet& p, std::optional<protocol_version> version) {
    if (!version) fail("packet decoded without a protocol level");
    std::vector<std::uint8_t> bytes;
    if (!encode(p, *version, bytes)) fail("a decoded packet could not be encoded");
    if (encoded_size(p, *version) != bytes.size()) fail("encoded_size disagrees with encode");
    const bool is_connect = type_of(p) == packet_type::connect;
    auto again = decode_packet(bytes, is_connect ? std::nullopt : version, decoder_role::any);
    if (!again.pkt) fail("a re-encoded packet does not decode");
    if (!(*again.pkt == p)) fail("a re-encoded packet decodes differently");

    if (const auto* pub = std::get_if<publish>(&p)) {
        const publish_encoder enc(*pub, *version);
        publish_delivery d;
        d.qos_level = pub->qos_level;
        d.packet_id = pub->packet_id;
        d.dup = pub->dup;
        d.retain = pub->retain;
        d.topic_alias = pub->props.topic_alias;
        d.send_topic = !pub->topic.empty();
        d.subscription_identifiers = pub->props.subscription_identifiers;
        std::vector<std::uint8_t> fast;
        if (!enc.encode(d, fast)) fail("publish_encoder refused a decoded PUBLISH");
        if (enc.packet_size(d) != fast.size()) fail("publish_encoder packet_size is wrong");
        // Header then shared payload, as a gathered write sends them.
        std::vector<std::uint8_t> header;
        if (!enc.encode_header(d, header)) fail("publish_encoder refused a header");
        if (header.size() != enc.header_size(d)) fail("publish_encoder header_size is wrong");
        header.insert(header.end(), enc.payload().data(),
                      enc.payload().data() + enc.payload().size());
        if (header != fast) fail("header and payload differ from the whole packet");
        auto fast_again = decode_packet(fast, version, decoder_role::any);
        if (!fast_again.pkt || !(*fast_again.pkt == p)) fail("publish_encoder output differs");
    }
}

// Topic helpers on whatever topics and filters the input carried: no crash, and two
// invariants that hold for every valid name.
void check_topics(const packet& p) {
    const auto check_name = [](std::string_view name) {
        if (!valid_topic_name(name)) return;
        if (!topic_matches(name, name)) fail("a topic name does not match itself as a filter");
        if (name.front() != '$' && !topic_matches("#", name)) fail("'#' missed a topic");
        if (name.front() == '$' && topic_matches("#", name)) fail("'#' matched a $ topic");
    };
    if (const auto* pub = std::get_if<publish>(&p)) check_name(pub->topic);
    if (const auto* sub = std::get_if<subscribe>(&p)) {
        for (const auto& s : sub->subscriptions) {
            const auto parts = parse_topic_filter(s.filter);
            if (parts.has_value() != valid_topic_filter(s.filter)) fail("filter checks disagree");
            if (!parts) fail("the decoder accepted an invalid topic filter");
            if (parts) {
                topic_matches(parts->filter, "a/b/c");
                topic_matches(parts->filter, "$SYS/x");
            }
            check_name(s.filter);
        }
    }
    if (const auto* unsub = std::get_if<unsubscribe>(&p)) {
        for (const auto& f : unsub->filters) {
            if (!valid_topic_filter(f)) fail("the decoder accepted an invalid topic filter");
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const std::uint8_t control = data[0];
    const std::span<const std::uint8_t> stream(data + 1, size - 1);
    const std::size_t chunk = 1 + control % 61;
    const decoder_role roles[] = {decoder_role::any, decoder_role::server, decoder_role::client};
    const decoder_role role = roles[(control >> 6) % 3];

    const std::optional<protocol_version> starts[] = {
        std::nullopt, protocol_version::v3_1, protocol_version::v3_1_1, protocol_version::v5};
    for (auto start : starts) {
        const run_result whole = run(stream, start, role, stream.size() + 1, false);
        const run_result chunked = run(stream, start, role, chunk, true);
        if (whole.packets != chunked.packets) fail("chunking changed the decoded packets");
        if (whole.last != chunked.last || whole.error != chunked.error ||
            whole.response != chunked.response) {
            fail("chunking changed the decoder's final state");
        }
        for (std::size_t i = 0; i < whole.packets.size(); ++i) {
            check_round_trip(whole.packets[i], whole.versions[i]);
            check_topics(whole.packets[i]);
        }
    }
    return 0;
}

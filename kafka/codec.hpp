#pragma once
// Encoding and decoding of every message body Sluice implements, for every version listed in
// api_versions.hpp, plus whole frames (size prefix + header + body). Requests are decoded
// and responses encoded by the broker; the reverse directions exist for tests and for
// clients Sluice may later embed (bridges), and come from the same field lists (schema.hpp).
//
// Versions: ApiVersions 0-3, Metadata 0-8, Produce 0-7, Fetch 4-11, ListOffsets 0-5,
// FindCoordinator 0-2, JoinGroup 0-5, SyncGroup 0-3, Heartbeat 0-3, LeaveGroup 0-1,
// OffsetCommit 0-7, OffsetFetch 0-5, InitProducerId 0-1, DescribeGroups 0-4, ListGroups 0-2,
// CreateTopics 0-4, DeleteTopics 0-3, DescribeConfigs 0-3, SaslHandshake 0-1,
// SaslAuthenticate 0-1. Only ApiVersions v3 is a flexible version (compact strings and
// arrays, tagged fields). The codec trusts `version` to be in range: the caller checks it
// against api_versions.hpp first.
//
// Threads: free functions on caller-owned values; any thread.

#include <cstdint>
#include <optional>

#include "kafka/api_key.hpp"
#include "kafka/header.hpp"
#include "kafka/messages_admin.hpp"
#include "kafka/messages_data.hpp"
#include "kafka/messages_group.hpp"
#include "kafka/record_set.hpp"
#include "kafka/wire.hpp"

namespace sluice::kafka {

// X(name, api_key): every API, in one place.
#define SLUICE_KAFKA_APIS(X)              \
    X(produce, produce)                   \
    X(fetch, fetch)                       \
    X(list_offsets, list_offsets)         \
    X(metadata, metadata)                 \
    X(offset_commit, offset_commit)       \
    X(offset_fetch, offset_fetch)         \
    X(find_coordinator, find_coordinator) \
    X(join_group, join_group)             \
    X(heartbeat, heartbeat)               \
    X(leave_group, leave_group)           \
    X(sync_group, sync_group)             \
    X(describe_groups, describe_groups)   \
    X(list_groups, list_groups)           \
    X(sasl_handshake, sasl_handshake)     \
    X(api_versions, api_versions)         \
    X(create_topics, create_topics)       \
    X(delete_topics, delete_topics)       \
    X(init_producer_id, init_producer_id) \
    X(describe_configs, describe_configs) \
    X(sasl_authenticate, sasl_authenticate)

// Whether `version` of `key` uses the flexible encoding (request header v2, compact types).
bool is_flexible(api_key key, std::int16_t version);

#define SLUICE_KAFKA_DECLARE(name, key)                                                           \
    std::optional<decode_error> decode(byte_span body, std::int16_t version, name##_request& m);  \
    std::optional<decode_error> decode(byte_span body, std::int16_t version, name##_response& m); \
    void encode(writer& w, std::int16_t version, const name##_request& m);                        \
    void encode(writer& w, std::int16_t version, const name##_response& m);                       \
    constexpr api_key key_of(const name##_request*) {                                             \
        return api_key::key;                                                                      \
    }                                                                                             \
    constexpr api_key key_of(const name##_response*) {                                            \
        return api_key::key;                                                                      \
    }
SLUICE_KAFKA_APIS(SLUICE_KAFKA_DECLARE)
#undef SLUICE_KAFKA_DECLARE

template <class M>
constexpr api_key api_key_of() {
    return key_of(static_cast<const M*>(nullptr));
}

// A whole response: size prefix, response header (v1 for flexible versions, except
// ApiVersions which always uses v0) and body. Fetch record sets stay file ranges.
template <class Response>
response_frame encode_response(std::int32_t correlation_id, std::int16_t version,
                               const Response& body) {
    constexpr api_key key = api_key_of<Response>();
    writer w;
    w.i32(0);  // size, patched below
    w.i32(correlation_id);
    if (is_flexible(key, version) && key != api_key::api_versions) {
        w.set_flexible(true);
        w.tagged_fields();
    }
    encode(w, version, body);
    w.patch_i32(0, static_cast<std::int32_t>(w.size() - 4));
    return response_frame{w.take_pieces()};
}

// A whole request frame (size prefix, header v1 or v2, body): what a client sends.
template <class Request>
byte_buffer encode_request(std::int16_t version, std::int32_t correlation_id,
                           const std::optional<std::string>& client_id, const Request& body) {
    request_header h{api_key_of<Request>(), version, correlation_id, client_id};
    writer w;
    w.i32(0);
    encode_request_header(w, h);
    encode(w, version, body);
    w.patch_i32(0, static_cast<std::int32_t>(w.size() - 4));
    return response_frame{w.take_pieces()}.flatten();
}

}  // namespace sluice::kafka

#pragma once
// Responses for requests refused as a whole (not authorised, not the coordinator, the
// listener shutting down, ...): error_response() builds the response a request's API expects
// with the error on every topic, partition or group it named (or at the top level where the
// response has one), as Kafka does. response_body is the variant of every response type,
// in the same order as request_body, so handlers can return any response through one type.
//
// Threads: free functions on caller-owned values; any thread.

#include <variant>

#include "kafka/dispatch.hpp"

namespace sluice::kafka {

using response_body =
    std::variant<api_versions_response, metadata_response, produce_response, fetch_response,
                 list_offsets_response, find_coordinator_response, join_group_response,
                 sync_group_response, heartbeat_response, leave_group_response,
                 offset_commit_response, offset_fetch_response, init_producer_id_response,
                 describe_groups_response, list_groups_response, create_topics_response,
                 delete_topics_response, describe_configs_response, sasl_handshake_response,
                 sasl_authenticate_response>;

response_body error_response(const request& req, error_code e);

// Frames `body` as the answer to the request with header `h` (its correlation id and version).
response_frame encode_response(const request_header& h, const response_body& body);

}  // namespace sluice::kafka

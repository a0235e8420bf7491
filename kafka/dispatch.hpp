#pragma once
// The entry point for one request frame (as frame_splitter returns it, without the size
// prefix): decodes the header and the body into a typed request, or says what to do instead.
//
//   handle   a request of a served version: `req` holds it; the caller answers it with
//            encode_response(req.header.correlation_id, req.header.api_version, ...).
//   respond  send `reply` (already framed) and carry on: ApiVersions of an unknown version
//            (a v0 body with UNSUPPORTED_VERSION and the API list, as Kafka does) and Produce
//            v0-2 (each partition UNSUPPORTED_VERSION).
//   close    log `describe()` and close the connection: a truncated or malformed header or
//            body, an unknown API key, or a version outside the advertised range (Kafka
//            closes too: no response of that version can be written).
//
// Threads: a free function; any thread.

#include <cstdint>
#include <string>
#include <variant>

#include "kafka/codec.hpp"
#include "kafka/header.hpp"
#include "kafka/record_set.hpp"
#include "kafka/wire.hpp"

namespace sluice::kafka {

using request_body =
    std::variant<api_versions_request, metadata_request, produce_request, fetch_request,
                 list_offsets_request, find_coordinator_request, join_group_request,
                 sync_group_request, heartbeat_request, leave_group_request, offset_commit_request,
                 offset_fetch_request, init_producer_id_request, describe_groups_request,
                 list_groups_request, create_topics_request, delete_topics_request,
                 describe_configs_request, sasl_handshake_request, sasl_authenticate_request>;

struct request {
    request_header header;
    request_body body;
};

enum class dispatch_action { handle, respond, close };

struct dispatch_result {
    dispatch_action action = dispatch_action::close;
    request req;           // handle: the request; otherwise the header as far as it was read
    response_frame reply;  // respond: the framed answer
    decode_error error;    // respond, close: why
    // "Produce v9 correlation 7: unsupported version (body)", for the log line.
    std::string describe() const;
};

dispatch_result decode_request(byte_span frame);

}  // namespace sluice::kafka

#pragma once
// Kafka's protocol error codes (the numbers every client knows), typed so that a code is never
// confused with a count or an API key. Only the codes Sluice answers with are named; any other
// value still round-trips through the codec as a number.

#include <cstdint>

namespace sluice::kafka {

enum class error_code : std::int16_t {
    unknown_server_error = -1,
    none = 0,
    offset_out_of_range = 1,
    corrupt_message = 2,
    unknown_topic_or_partition = 3,
    invalid_fetch_size = 4,
    leader_not_available = 5,
    not_leader_or_follower = 6,
    request_timed_out = 7,
    message_too_large = 10,
    coordinator_load_in_progress = 14,
    coordinator_not_available = 15,
    not_coordinator = 16,
    invalid_topic_exception = 17,
    record_list_too_large = 18,
    illegal_generation = 22,
    inconsistent_group_protocol = 23,
    invalid_group_id = 24,
    unknown_member_id = 25,
    invalid_session_timeout = 26,
    rebalance_in_progress = 27,
    invalid_commit_offset_size = 28,
    topic_authorization_failed = 29,
    group_authorization_failed = 30,
    cluster_authorization_failed = 31,
    unsupported_version = 35,
    topic_already_exists = 36,
    invalid_partitions = 37,
    invalid_replication_factor = 38,
    invalid_request = 42,
    unsupported_for_message_format = 43,
    out_of_order_sequence_number = 45,
    duplicate_sequence_number = 46,
    invalid_producer_epoch = 47,
    invalid_transaction_timeout = 50,
    unsupported_sasl_mechanism = 33,
    illegal_sasl_state = 34,
    sasl_authentication_failed = 58,
    unknown_producer_id = 59,
    non_empty_group = 68,
    group_id_not_found = 69,
    member_id_required = 79,
    fenced_instance_id = 82,
};

// Kafka's name for the code ("UNSUPPORTED_VERSION"), or "UNKNOWN" for an unnamed value.
const char* to_string(error_code e);

constexpr std::int16_t to_int(error_code e) {
    return static_cast<std::int16_t>(e);
}

}  // namespace sluice::kafka

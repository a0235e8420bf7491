#pragma once
// Request and response bodies of the consumer-group APIs: FindCoordinator, JoinGroup,
// SyncGroup, Heartbeat, LeaveGroup, OffsetCommit, OffsetFetch, DescribeGroups, ListGroups.
// Field names follow Kafka's message definitions; version ranges as in codec.hpp.
//
// Threads: plain values; any thread.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "kafka/error_code.hpp"
#include "kafka/record_set.hpp"

namespace sluice::kafka {

// ---- FindCoordinator (key 10), versions 0-2 ----
struct find_coordinator_request {
    std::string key;
    std::int8_t key_type = 0;  // v1+: 0 group, 1 transaction
    bool operator==(const find_coordinator_request&) const = default;
};
struct find_coordinator_response {
    std::int32_t throttle_time_ms = 0;  // v1+
    error_code error = error_code::none;
    std::optional<std::string> error_message;  // v1+
    std::int32_t node_id = -1;
    std::string host;
    std::int32_t port = -1;
    bool operator==(const find_coordinator_response&) const = default;
};

// ---- JoinGroup (key 11), versions 0-5 ----
struct join_group_request {
    struct protocol {
        std::string name;
        byte_buffer metadata;
        bool operator==(const protocol&) const = default;
    };
    std::string group_id;
    std::int32_t session_timeout_ms = 0;
    std::int32_t rebalance_timeout_ms = -1;  // v1+ (v0: the session timeout)
    std::string member_id;
    std::optional<std::string> group_instance_id;  // v5+
    std::string protocol_type;
    std::vector<protocol> protocols;
    bool operator==(const join_group_request&) const = default;
};
struct join_group_response {
    struct member {
        std::string member_id;
        std::optional<std::string> group_instance_id;  // v5+
        byte_buffer metadata;
        bool operator==(const member&) const = default;
    };
    std::int32_t throttle_time_ms = 0;  // v2+
    error_code error = error_code::none;
    std::int32_t generation_id = -1;
    std::string protocol_name;
    std::string leader;
    std::string member_id;
    std::vector<member> members;
    bool operator==(const join_group_response&) const = default;
};

// ---- SyncGroup (key 14), versions 0-3 ----
struct sync_group_request {
    struct assignment {
        std::string member_id;
        byte_buffer assignment;
        bool operator==(const struct assignment&) const = default;
    };
    std::string group_id;
    std::int32_t generation_id = 0;
    std::string member_id;
    std::optional<std::string> group_instance_id;  // v3+
    std::vector<assignment> assignments;
    bool operator==(const sync_group_request&) const = default;
};
struct sync_group_response {
    std::int32_t throttle_time_ms = 0;  // v1+
    error_code error = error_code::none;
    byte_buffer assignment;
    bool operator==(const sync_group_response&) const = default;
};

// ---- Heartbeat (key 12), versions 0-3 ----
struct heartbeat_request {
    std::string group_id;
    std::int32_t generation_id = 0;
    std::string member_id;
    std::optional<std::string> group_instance_id;  // v3+
    bool operator==(const heartbeat_request&) const = default;
};
struct heartbeat_response {
    std::int32_t throttle_time_ms = 0;  // v1+
    error_code error = error_code::none;
    bool operator==(const heartbeat_response&) const = default;
};

// ---- LeaveGroup (key 13), versions 0-1 ----
struct leave_group_request {
    std::string group_id;
    std::string member_id;
    bool operator==(const leave_group_request&) const = default;
};
struct leave_group_response {
    std::int32_t throttle_time_ms = 0;  // v1+
    error_code error = error_code::none;
    bool operator==(const leave_group_response&) const = default;
};

// ---- OffsetCommit (key 8), versions 0-7 ----
struct offset_commit_request {
    struct partition {
        std::int32_t index = 0;
        std::int64_t committed_offset = 0;
        std::int32_t committed_leader_epoch = -1;  // v6+
        std::int64_t commit_timestamp = -1;        // v1 only
        std::optional<std::string> committed_metadata;
        bool operator==(const partition&) const = default;
    };
    struct topic {
        std::string name;
        std::vector<partition> partitions;
        bool operator==(const topic&) const = default;
    };
    std::string group_id;
    std::int32_t generation_id = -1;               // v1+
    std::string member_id;                         // v1+
    std::optional<std::string> group_instance_id;  // v7+
    std::int64_t retention_time_ms = -1;           // v2-4
    std::vector<topic> topics;
    bool operator==(const offset_commit_request&) const = default;
};
struct offset_commit_response {
    struct partition {
        std::int32_t index = 0;
        error_code error = error_code::none;
        bool operator==(const partition&) const = default;
    };
    struct topic {
        std::string name;
        std::vector<partition> partitions;
        bool operator==(const topic&) const = default;
    };
    std::int32_t throttle_time_ms = 0;  // v3+
    std::vector<topic> topics;
    bool operator==(const offset_commit_response&) const = default;
};

// ---- OffsetFetch (key 9), versions 0-5 ----
struct offset_fetch_request {
    struct topic {
        std::string name;
        std::vector<std::int32_t> partition_indexes;
        bool operator==(const topic&) const = default;
    };
    std::string group_id;
    std::optional<std::vector<topic>> topics;  // v2+: null means every committed partition
    bool operator==(const offset_fetch_request&) const = default;
};
struct offset_fetch_response {
    struct partition {
        std::int32_t index = 0;
        std::int64_t committed_offset = -1;
        std::int32_t committed_leader_epoch = -1;  // v5+
        std::optional<std::string> metadata;
        error_code error = error_code::none;
        bool operator==(const partition&) const = default;
    };
    struct topic {
        std::string name;
        std::vector<partition> partitions;
        bool operator==(const topic&) const = default;
    };
    std::int32_t throttle_time_ms = 0;  // v3+
    std::vector<topic> topics;
    error_code error = error_code::none;  // v2+
    bool operator==(const offset_fetch_response&) const = default;
};

// ---- DescribeGroups (key 15), versions 0-4 ----
struct describe_groups_request {
    std::vector<std::string> groups;
    bool include_authorized_operations = false;  // v3+
    bool operator==(const describe_groups_request&) const = default;
};
struct describe_groups_response {
    struct member {
        std::string member_id;
        std::optional<std::string> group_instance_id;  // v4+
        std::string client_id;
        std::string client_host;
        byte_buffer member_metadata;
        byte_buffer member_assignment;
        bool operator==(const member&) const = default;
    };
    struct group {
        error_code error = error_code::none;
        std::string group_id;
        std::string group_state;
        std::string protocol_type;
        std::string protocol_data;
        std::vector<member> members;
        std::int32_t authorized_operations = -2147483648;  // v3+
        bool operator==(const group&) const = default;
    };
    std::int32_t throttle_time_ms = 0;  // v1+
    std::vector<group> groups;
    bool operator==(const describe_groups_response&) const = default;
};

// ---- ListGroups (key 16), versions 0-2 ----
struct list_groups_request {
    bool operator==(const list_groups_request&) const = default;
};
struct list_groups_response {
    struct group {
        std::string group_id;
        std::string protocol_type;
        bool operator==(const group&) const = default;
    };
    std::int32_t throttle_time_ms = 0;  // v1+
    error_code error = error_code::none;
    std::vector<group> groups;
    bool operator==(const list_groups_response&) const = default;
};

}  // namespace sluice::kafka

#pragma once
// Request and response bodies of the connection and admin APIs: ApiVersions, SaslHandshake,
// SaslAuthenticate, InitProducerId, CreateTopics, DeleteTopics, DescribeConfigs.
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

// ---- ApiVersions (key 18), versions 0-3 (v3 is flexible) ----
struct api_versions_request {
    std::string client_software_name;     // v3+
    std::string client_software_version;  // v3+
    bool operator==(const api_versions_request&) const = default;
};
struct api_versions_response {
    struct api {
        std::int16_t key = 0;
        std::int16_t min_version = 0;
        std::int16_t max_version = 0;
        bool operator==(const api&) const = default;
    };
    error_code error = error_code::none;
    std::vector<api> apis;
    std::int32_t throttle_time_ms = 0;  // v1+
    bool operator==(const api_versions_response&) const = default;
};

// ---- SaslHandshake (key 17), versions 0-1 ----
struct sasl_handshake_request {
    std::string mechanism;
    bool operator==(const sasl_handshake_request&) const = default;
};
struct sasl_handshake_response {
    error_code error = error_code::none;
    std::vector<std::string> mechanisms;
    bool operator==(const sasl_handshake_response&) const = default;
};

// ---- SaslAuthenticate (key 36), versions 0-1 ----
struct sasl_authenticate_request {
    byte_buffer auth_bytes;
    bool operator==(const sasl_authenticate_request&) const = default;
};
struct sasl_authenticate_response {
    error_code error = error_code::none;
    std::optional<std::string> error_message;
    byte_buffer auth_bytes;
    std::int64_t session_lifetime_ms = 0;  // v1+
    bool operator==(const sasl_authenticate_response&) const = default;
};

// ---- InitProducerId (key 22), versions 0-1 ----
struct init_producer_id_request {
    std::optional<std::string> transactional_id;
    std::int32_t transaction_timeout_ms = 0;
    bool operator==(const init_producer_id_request&) const = default;
};
struct init_producer_id_response {
    std::int32_t throttle_time_ms = 0;
    error_code error = error_code::none;
    std::int64_t producer_id = -1;
    std::int16_t producer_epoch = 0;
    bool operator==(const init_producer_id_response&) const = default;
};

// ---- CreateTopics (key 19), versions 0-4 ----
struct create_topics_request {
    struct assignment {
        std::int32_t partition_index = 0;
        std::vector<std::int32_t> broker_ids;
        bool operator==(const assignment&) const = default;
    };
    struct config {
        std::string name;
        std::optional<std::string> value;
        bool operator==(const config&) const = default;
    };
    struct topic {
        std::string name;
        std::int32_t num_partitions = -1;
        std::int16_t replication_factor = -1;
        std::vector<assignment> assignments;
        std::vector<config> configs;
        bool operator==(const topic&) const = default;
    };
    std::vector<topic> topics;
    std::int32_t timeout_ms = 0;
    bool validate_only = false;  // v1+
    bool operator==(const create_topics_request&) const = default;
};
struct create_topics_response {
    struct topic {
        std::string name;
        error_code error = error_code::none;
        std::optional<std::string> error_message;  // v1+
        bool operator==(const topic&) const = default;
    };
    std::int32_t throttle_time_ms = 0;  // v2+
    std::vector<topic> topics;
    bool operator==(const create_topics_response&) const = default;
};

// ---- DeleteTopics (key 20), versions 0-3 ----
struct delete_topics_request {
    std::vector<std::string> topic_names;
    std::int32_t timeout_ms = 0;
    bool operator==(const delete_topics_request&) const = default;
};
struct delete_topics_response {
    struct result {
        std::string name;
        error_code error = error_code::none;
        bool operator==(const result&) const = default;
    };
    std::int32_t throttle_time_ms = 0;  // v1+
    std::vector<result> responses;
    bool operator==(const delete_topics_response&) const = default;
};

// ---- DescribeConfigs (key 32), versions 0-3 ----
struct describe_configs_request {
    struct resource {
        std::int8_t resource_type = 0;  // 2 topic, 4 broker
        std::string resource_name;
        std::optional<std::vector<std::string>> configuration_keys;  // null: all
        bool operator==(const resource&) const = default;
    };
    std::vector<resource> resources;
    bool include_synonyms = false;       // v1+
    bool include_documentation = false;  // v3+
    bool operator==(const describe_configs_request&) const = default;
};
struct describe_configs_response {
    struct synonym {
        std::string name;
        std::optional<std::string> value;
        std::int8_t source = 0;
        bool operator==(const synonym&) const = default;
    };
    struct config {
        std::string name;
        std::optional<std::string> value;
        bool read_only = false;
        bool is_default = false;         // v0 only
        std::int8_t config_source = -1;  // v1+
        bool is_sensitive = false;
        std::vector<synonym> synonyms;             // v1+
        std::int8_t config_type = 0;               // v3+
        std::optional<std::string> documentation;  // v3+
        bool operator==(const config&) const = default;
    };
    struct result {
        error_code error = error_code::none;
        std::optional<std::string> error_message;
        std::int8_t resource_type = 0;
        std::string resource_name;
        std::vector<config> configs;
        bool operator==(const result&) const = default;
    };
    std::int32_t throttle_time_ms = 0;
    std::vector<result> results;
    bool operator==(const describe_configs_response&) const = default;
};

}  // namespace sluice::kafka

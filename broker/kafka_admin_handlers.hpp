#pragma once

#include <cstdint>
#include <string>

#include "ingest/egress_rules.hpp"
#include "kafka/error_response.hpp"
#include "store/store.hpp"

// The Kafka APIs that answer from the store's metadata (docs/kafka-protocol.md, "The
// listener"): Metadata, ListOffsets, CreateTopics, DeleteTopics, DescribeConfigs, and the SASL
// refusals. Plain functions of a request and the store, so they are tested without sockets.
//
// Threads: any. metadata_answer, describe_configs_answer and the SASL answers touch memory
// only (io threads call them); list_offsets_answer (time index reads), create_topics_answer
// and delete_topics_answer (files and fsync) may wait on the disk: run them off the io threads.
namespace sluice::broker {

class durable_log;

// Where clients reach this node: the address of the connection they came in on.
struct kafka_node_address {
    std::string host;
    std::int32_t port = 0;
};

// Topics named `__*` are the broker's own (producer ids, consumer offsets, ...): listed as
// internal, never created, deleted or produced to by clients.
bool is_internal_topic(const std::string& name);

kafka::error_code kafka_error(store::errc e);

kafka::metadata_response metadata_answer(const kafka::metadata_request& req,
                                         const store::store& s, const kafka_node_address& self);

kafka::list_offsets_response list_offsets_answer(const kafka::list_offsets_request& req,
                                                 std::int16_t version, const store::store& s);

kafka::create_topics_response create_topics_answer(const kafka::create_topics_request& req,
                                                   store::store& s);

// Deletes each topic through delete_log_topic (broker/topic_deletion.hpp; `egress`: the egress
// rules in force): closes partitions and syncs folders, so it runs on the reader pool.
kafka::delete_topics_response delete_topics_answer(const kafka::delete_topics_request& req,
                                                   durable_log& log,
                                                   const ingest::egress_rules& egress);

kafka::describe_configs_response describe_configs_answer(
    const kafka::describe_configs_request& req, std::int16_t version, const store::store& s);

// Topic settings under Kafka's config names, as CreateTopics accepts and DescribeConfigs
// reports them: cleanup.policy, retention.ms, retention.bytes, segment.bytes, segment.ms,
// max.message.bytes, index.interval.bytes, flush.ms, and sluice.durability (always, interval,
// never). Returns an error message for an unknown name or a bad value.
std::optional<std::string> apply_topic_config(store::log_config& c, const std::string& name,
                                              const std::optional<std::string>& value);

}  // namespace sluice::broker

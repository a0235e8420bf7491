#pragma once

#include <string>

#include "ingest/egress_rules.hpp"

// Deleting a log topic, as an operator asks for it through the admin API
// (DELETE /api/v1/topics/<name>) or a Kafka admin client (DeleteTopics): one policy for both.
// The broker's own topics (`__*`), the topics an ingest rule writes (the rules in force, so a
// SIGHUP reload counts) and the topics an egress rule reads are refused; anything else is
// deleted by the store (store/store.hpp, delete_topic), which lets readers in flight finish.
// Egress rules change only at a restart (docs/operations.md, SIGHUP), so `egress` is the set
// the broker started with: egress follows those partitions until it stops, and a topic created
// again under the name would not reach MQTT. The store call closes partitions and syncs
// folders: never call this on an io thread.
//
// Threads: any thread but an io thread (the HTTP thread, the Kafka reader pool).
namespace sluice::broker {

class durable_log;

enum class topic_deletion {
    deleted,
    unknown,      // no such topic
    internal,     // a `__*` topic of the broker
    ingest_rule,  // an ingest rule writes it; change the rules first
    egress_rule,  // an egress rule reads it; remove the rule and restart first
    failed,       // the log is not open, or the store could not rename or sync
};

struct topic_deletion_result {
    topic_deletion outcome = topic_deletion::failed;
    std::string message;  // for the refusals and failures: why, in words for an operator
};

topic_deletion_result delete_log_topic(durable_log& log, const ingest::egress_rules& egress,
                                       const std::string& name, const std::string& who);

}  // namespace sluice::broker

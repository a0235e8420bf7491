#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "auth/acl.hpp"
#include "kafka/error_response.hpp"
#include "kafka/dispatch.hpp"

// The ACL applied to the Kafka listener's topics (docs/security.md, "The Kafka listener"):
// Produce and CreateTopics/DeleteTopics need publish rights on the topic, Fetch, ListOffsets,
// OffsetCommit and OffsetFetch subscribe rights, Metadata and DescribeConfigs either; only
// `kafka:` rules apply, with the authenticated user for `%u` and Kafka's client.id for `%c`.
// A denied topic is taken out of the request before it is handled (so a denied Produce
// writes nothing) and put back into the answer with TOPIC_AUTHORIZATION_FAILED (29) on each of
// its partitions; Metadata for all topics lists only the ones the client may use, as Kafka does.
//
// Threads: plain values and functions; one request at a time, on any thread.
namespace sluice::broker {

// Who asks, under which rules. Without an ACL (null) everything is allowed.
class kafka_topic_access {
  public:
    kafka_topic_access(std::shared_ptr<const auth::acl> acl, std::string client_id,
                       std::optional<std::string> user)
        : acl_(std::move(acl)), client_id_(std::move(client_id)), user_(std::move(user)) {}

    bool active() const { return acl_ != nullptr; }
    bool may_produce(std::string_view topic) const;
    bool may_consume(std::string_view topic) const;
    bool may_describe(std::string_view topic) const {
        return may_consume(topic) || may_produce(topic);
    }

  private:
    bool check(auth::kafka_operation op, std::string_view topic) const;

    std::shared_ptr<const auth::acl> acl_;
    std::string client_id_;
    std::optional<std::string> user_;
};

// Takes the denied topics out of `req` and returns how to put them into its answer: the
// returned function adds them (each partition TOPIC_AUTHORIZATION_FAILED) to the response
// body, or filters a Metadata/OffsetFetch answer for every topic. Returns an empty function
// when nothing needs changing. `denied` counts the topics refused (for the log).
using response_fixup = std::function<void(kafka::response_body&)>;
response_fixup apply_topic_acl(kafka::request& req, const kafka_topic_access& access,
                               std::size_t& denied);

}  // namespace sluice::broker

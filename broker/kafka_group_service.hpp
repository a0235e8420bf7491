#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "broker/consumer_offsets.hpp"
#include "kafka/dispatch.hpp"
#include "kafka/error_response.hpp"
#include "kafka/group_coordinator.hpp"

// The Kafka group side of the broker (docs/kafka-protocol.md, "Consumer groups and offsets"):
// FindCoordinator, JoinGroup, SyncGroup, Heartbeat, LeaveGroup, OffsetCommit, OffsetFetch,
// DescribeGroups and ListGroups, answered from one `kafka::group_coordinator` and the table of
// committed offsets, both living on one io thread (`home`). Sluice is a single node, so it is
// the coordinator of every group.
//
// Committed offsets are durable: an OffsetCommit is appended to `__consumer_offsets`
// (broker/consumer_offsets.hpp; durability always) and answered only once the append is on
// disk; the in-memory table OffsetFetch reads is updated at that moment and rebuilt by
// start() from the topic. Groups and their members live in memory: after a restart members
// rejoin (their old ids are refused: each run's ids carry a fresh random instance tag).
//
// Threads: handle(), snapshot() and handles() from any thread; start() and stop() from the
// thread that starts and stops the server. Everything else runs on `home`: handle() posts the
// request there; one steady timer there drives the coordinator's deadlines. Append callbacks
// (store writer threads) only post back to `home`. Callbacks given to handle() and snapshot()
// are called exactly once (FindCoordinator at once on the calling thread, the rest on
// `home`); requests still waiting at stop() get COORDINATOR_NOT_AVAILABLE.
namespace sluice::broker {

class durable_log;

// What operations read (lag, members): the state of every group the node knows, members'
// assignments decoded from the consumer protocol where they use it.
struct group_snapshot {
    struct member {
        std::string member_id;
        std::string client_id;
        std::string client_host;
        // topic -> partitions (empty when the group is not Stable or uses another protocol)
        std::map<std::string, std::vector<std::int32_t>> assignment;
    };
    struct group {
        std::string group_id;
        std::string state;  // Kafka's name: Empty, PreparingRebalance, ..., Stable
        std::string protocol_type;
        std::string protocol;
        std::int32_t generation = 0;
        std::vector<member> members;
        std::map<topic_partition, committed_offset> offsets;  // the committed offsets
    };
    std::vector<group> groups;  // by group id
};

class kafka_group_service {
  public:
    kafka_group_service(boost::asio::io_context& home, durable_log& log, kafka::group_config cfg);
    ~kafka_group_service();
    kafka_group_service(const kafka_group_service&) = delete;
    kafka_group_service& operator=(const kafka_group_service&) = delete;

    // true for FindCoordinator, JoinGroup, SyncGroup, Heartbeat, LeaveGroup, OffsetCommit,
    // OffsetFetch, DescribeGroups, ListGroups.
    static bool handles(const kafka::request_body& body);

    struct context {
        std::string client_id, client_host;
        std::string coordinator_host;
        std::int32_t coordinator_port = 0;
    };
    // Answers `req`; `done` is called exactly once, from any thread, with the response body.
    // The caller posts it back to its connection's thread and keeps responses in order.
    void handle(kafka::request req, context ctx, std::function<void(kafka::response_body)> done);

    // Creates `__consumer_offsets` if missing and replays it into the table, then starts the
    // timer (after the store opened). Throws std::runtime_error when the topic cannot be made
    // or read. Offset requests that arrive before the table is in place get
    // COORDINATOR_LOAD_IN_PROGRESS (clients retry).
    void start();
    // At shutdown, before the pool stops: cancels the timer and answers waiting JoinGroup and
    // SyncGroup requests with COORDINATOR_NOT_AVAILABLE. Waits (up to 3 s) for `home` to do it,
    // or does it at once when `home` has stopped. Idempotent; the destructor calls it, so
    // destroy the service before its io_context or after the io_context's threads are joined.
    void stop();

    // The state of every group, delivered on `home`.
    void snapshot(std::function<void(group_snapshot)> done);

    // The tag in this run's member ids (random per run).
    const std::string& instance_tag() const;

  private:
    struct impl;
    std::shared_ptr<impl> impl_;  // shared with posted work and append callbacks
};

}  // namespace sluice::broker

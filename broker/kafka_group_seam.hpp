#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "kafka/error_response.hpp"

// Where the Kafka listener hands consumer-group requests (FindCoordinator, JoinGroup,
// SyncGroup, Heartbeat, LeaveGroup, OffsetCommit, OffsetFetch, DescribeGroups, ListGroups):
// a pair of functions, so the group coordinator service plugs in with one line in server.cpp
// (group_handler_of(service)). Until it is there, unavailable() answers every group request
// with COORDINATOR_NOT_AVAILABLE, which clients treat as "try again later".
//
// Threads: handles() on io threads; handle() on io threads, its `done` from any thread.
namespace sluice::broker {

struct kafka_group_context {
    std::string client_id, client_host;
    std::string coordinator_host;  // this node, as the client reached it
    std::int32_t coordinator_port = 0;
};

struct kafka_group_handler {
    using done_fn = std::function<void(kafka::response_body)>;
    std::function<bool(const kafka::request_body&)> handles;
    std::function<void(kafka::request, kafka_group_context, done_fn)> handle;

    static bool is_group_request(const kafka::request_body& b) {
        return std::holds_alternative<kafka::find_coordinator_request>(b) ||
               std::holds_alternative<kafka::join_group_request>(b) ||
               std::holds_alternative<kafka::sync_group_request>(b) ||
               std::holds_alternative<kafka::heartbeat_request>(b) ||
               std::holds_alternative<kafka::leave_group_request>(b) ||
               std::holds_alternative<kafka::offset_commit_request>(b) ||
               std::holds_alternative<kafka::offset_fetch_request>(b) ||
               std::holds_alternative<kafka::describe_groups_request>(b) ||
               std::holds_alternative<kafka::list_groups_request>(b);
    }

    static kafka_group_handler unavailable() {
        return {is_group_request, [](kafka::request req, kafka_group_context, done_fn done) {
                    done(kafka::error_response(req, kafka::error_code::coordinator_not_available));
                }};
    }
};

// Adapts a service with `static bool handles(const request_body&)`, a nested `context`
// {client_id, client_host, coordinator_host, coordinator_port} and
// `handle(request, context, done)` (broker/kafka_group_service.hpp).
template <class Service>
kafka_group_handler group_handler_of(Service& s) {
    return {[](const kafka::request_body& b) { return Service::handles(b); },
            [&s](kafka::request req, kafka_group_context c, kafka_group_handler::done_fn done) {
                typename Service::context ctx;
                ctx.client_id = std::move(c.client_id);
                ctx.client_host = std::move(c.client_host);
                ctx.coordinator_host = std::move(c.coordinator_host);
                ctx.coordinator_port = c.coordinator_port;
                s.handle(std::move(req), std::move(ctx), std::move(done));
            }};
}

}  // namespace sluice::broker

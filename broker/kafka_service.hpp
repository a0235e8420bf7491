#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>

#include "broker/kafka_request_counts.hpp"
#include "broker/kafka_admin_handlers.hpp"
#include "broker/kafka_fetch.hpp"
#include "broker/kafka_group_seam.hpp"
#include "ingest/egress_rules.hpp"
#include "kafka/error_response.hpp"

// What every connection of the Kafka listener shares (docs/kafka-protocol.md, "The
// listener"): the log, the reader pool that runs reads which may wait on the disk, the Fetches
// waiting for appends, the group request handler, and the open connections (closed at
// shutdown). handle() answers one decoded request.
//
// Threads: handle() on io threads; `done` may run on any thread (the connection posts it
// home). The reader pool has its own threads. conns_mu_ guards conns_.
namespace sluice::broker {

class auth_service;
class durable_log;
class kafka_connection;

class kafka_service {
  public:
    // Kafka's socket.request.max.bytes default: a larger size prefix closes the connection.
    static constexpr std::size_t max_frame_bytes = 100u << 20;
    // Requests a connection may have unanswered before it stops reading (Kafka answers one at
    // a time; clients pipeline a few).
    static constexpr std::size_t max_pending_requests = 64;
    // Response bytes (owned or file ranges) waiting to be sent before it stops reading.
    static constexpr std::uint64_t max_pending_bytes = 64ull << 20;

    kafka_service(durable_log& log, std::size_t reader_threads);
    ~kafka_service();
    kafka_service(const kafka_service&) = delete;
    kafka_service& operator=(const kafka_service&) = delete;

    struct context {
        boost::asio::io_context& home;  // the connection's io thread
        std::string client_id, client_host;
        kafka_node_address self;  // the address the client reached
        std::optional<std::string> user;  // the authenticated user (the ACL's %u); nullopt: anonymous
        auth_service* auth = nullptr;     // the broker's users and ACL (null: none configured)
    };
    using done_fn = std::function<void(kafka::response_body)>;

    // Answers `req` (topics the ACL denies the user taken out first and answered
    // TOPIC_AUTHORIZATION_FAILED, kafka_acl.hpp): returns false when no response is due (Produce with acks 0); otherwise
    // `done` is called exactly once, from any thread.
    bool handle(kafka::request req, const context& ctx, done_fn done);

    void set_groups(kafka_group_handler h) { groups_ = std::move(h); }
    // The egress rules in force, whose log topics DeleteTopics refuses (before any connection).
    void set_egress_rules(std::shared_ptr<const ingest::egress_rules> r) { egress_ = std::move(r); }

    // Counts a request the connection answers itself (SaslHandshake, SaslAuthenticate).
    void count_request(kafka::api_key key) { requests_.count(static_cast<int>(key)); }

    void add_connection(const std::shared_ptr<kafka_connection>& c);
    void remove_connection(const kafka_connection* c);
    // Main thread, at shutdown: closes every connection and waits (up to `limit`) for them to
    // go, stops the commit observer, finishes the reader pool's work.
    void shut_down(std::chrono::milliseconds limit);

    fetch_waiters& waiters() { return waiters_; }

    // Requests handled, by API key (/metrics).
    const kafka_request_counts& request_counts() const { return requests_; }

  private:
    std::shared_ptr<store::store> store_for_fetch();
    kafka_request_counts requests_;

    durable_log& log_;
    boost::asio::thread_pool readers_;
    fetch_waiters waiters_;
    kafka_group_handler groups_ = kafka_group_handler::unavailable();
    std::shared_ptr<const ingest::egress_rules> egress_ =
        std::make_shared<const ingest::egress_rules>();

    std::mutex observed_mu_;  // guards observed_
    const store::store* observed_ = nullptr;  // the store whose commits wake Fetches

    std::mutex conns_mu_;  // guards conns_
    std::condition_variable conns_cv_;
    std::unordered_map<const kafka_connection*, std::weak_ptr<kafka_connection>> conns_;
};

}  // namespace sluice::broker

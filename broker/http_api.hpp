#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "broker/admin_auth.hpp"
#include "broker/config.hpp"
#include "broker/metrics.hpp"

// The operations surface behind the `http` listener (docs/operations.md): /health, /ready,
// /metrics, the JSON admin API under /api/v1/, the live-stats event stream and the embedded
// dashboard. Requests in, responses out: no socket here (broker/http_server.cpp owns those),
// so every endpoint is one function of the request and the broker's read API.
//
// Threads: handle() and live_event() run on the HTTP listener's own thread; they read the
// broker only through broker_core's and durable_log's read API (short lock sections, paged
// copies), never holding a broker lock while building a response.
namespace sluice::broker {

class broker_core;
class durable_log;
class egress_service;
class kafka_group_service;
class kafka_request_counts;
struct listener_state;

struct http_request {
    std::string method;  // "GET", "POST", ...
    std::string path;    // percent-decoded, no query
    std::map<std::string, std::string> query;
    std::string body;
    std::string authorization;  // the Authorization header, for the authorizer
};

struct http_response {
    int status = 200;
    std::string content_type = "application/json";
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;  // e.g. Allow for 405
    bool event_stream = false;  // the connection becomes a live-stats stream (GET /api/v1/live)
};

// What the endpoints read. Filled by the server: `log`, the listeners and `ready` are set
// as start-up proceeds (the HTTP listener answers /health while the log is still recovering).
struct ops_sources {
    const config* cfg = nullptr;
    broker_core* core = nullptr;
    std::atomic<durable_log*> log{nullptr};
    // Complete and read-only once `ready` is true (listener metrics wait for it).
    const std::vector<std::unique_ptr<listener_state>>* listeners = nullptr;
    std::atomic<bool> ready{false};
    // The Kafka listener's consumer groups (/api/v1/groups, lag metrics); null without one.
    // Set by the server once the group service has started; it outlives the HTTP listener.
    std::atomic<kafka_group_service*> groups{nullptr};
    // The Kafka listener's request counts; null without one.
    std::atomic<const kafka_request_counts*> kafka_requests{nullptr};
    // Egress (log topics -> MQTT) positions and counts; null without egress rules.
    std::atomic<const egress_service*> egress{nullptr};
    metrics::registry metrics;
};

// Counters of the previous live event, to turn totals into per-second rates.
struct live_state {
    std::uint64_t messages_in = 0, messages_out = 0, bytes_in = 0, bytes_out = 0;
    bool primed = false;
};

class http_api {
  public:
    explicit http_api(ops_sources& src);

    // Who may call the API (broker/admin_auth.hpp); null or not required(): anyone. Set
    // before the listener starts.
    void set_admin_auth(admin_auth* a) { admin_ = a; }
    admin_auth* admin() const { return admin_; }
    // True when `req` must pass admin_auth before handle(): every path but /health, /ready and
    // /metrics (probes and Prometheus stay open), when authentication is required.
    bool needs_authentication(const http_request& req) const;
    // The JSON answer to a request that did not pass (401 with WWW-Authenticate, 403, 503).
    static http_response refusal(admin_verdict v);

    // Answers a request that passed authentication (or needs none).
    http_response handle(const http_request& req);
    // One `data:` line of the live stream (JSON), with rates since `prev`, which it updates.
    std::string live_event(live_state& prev);

  private:
    http_response route(const http_request& req);
    ops_sources& src_;
    admin_auth* admin_ = nullptr;
};

// A JSON error response {"error": message}.
http_response json_error(int status, std::string message);
// Splits "/a/b?x=1&y=%20" into a percent-decoded path and query; false when the escapes are bad.
bool parse_target(std::string_view target, std::string& path,
                  std::map<std::string, std::string>& query);
// Every consumer group with its members and, per committed partition, the committed offset,
// the high watermark and the lag; nullopt when there is no group service or it does not
// answer within 2 s. Blocks the calling (HTTP) thread for that long at most.
std::optional<nlohmann::json> consumer_groups_json(ops_sources& src);
// Registers the broker's own collectors (broker/broker_metrics.cpp) on src.metrics.
void add_broker_metrics(ops_sources& src);
// True for 127.0.0.0/8, ::1 and "localhost": where an anonymous admin API may listen without
// "allow_anonymous_admin".
bool is_loopback_host(std::string_view host);

}  // namespace sluice::broker

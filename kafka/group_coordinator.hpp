#pragma once
// The consumer-group coordinator as a state machine, after Kafka's GroupCoordinator: groups
// move Empty -> PreparingRebalance -> CompletingRebalance -> Stable (and back to
// PreparingRebalance when a member joins, leaves or stops heartbeating). Sans-I/O: time is
// the `now` argument of each call (milliseconds of any monotonic clock), the caller runs a
// timer for next_deadline() and calls tick() when it fires.
//
// JoinGroup and SyncGroup often cannot be answered at once (a rebalance waits for every
// member to rejoin; followers wait for the leader's assignment). Each such request carries a
// caller-chosen `token` (say, connection and correlation id); its response comes back, now
// or in a later call, as a completion in `group_events` with that token. Every JoinGroup and
// SyncGroup is answered exactly once through a completion. Heartbeat, LeaveGroup and the
// commit check answer at once.
//
// The client-side assignors (range, roundrobin, ...) are opaque: member metadata and
// assignments pass through as bytes; the coordinator only picks the protocol every member
// supports (by the members' preference votes) and hands the leader the members' metadata.
// Static membership (group.instance.id) is not implemented: such members join as dynamic.
//
// Threads: not thread-safe; one owner thread calls everything.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kafka/error_code.hpp"
#include "kafka/messages_group.hpp"

namespace sluice::kafka {

using time_ms = std::int64_t;

struct group_config {
    std::int32_t min_session_timeout_ms = 6000;      // Kafka's group.min.session.timeout.ms
    std::int32_t max_session_timeout_ms = 1800000;   // Kafka's group.max.session.timeout.ms
    std::int32_t initial_rebalance_delay_ms = 3000;  // group.initial.rebalance.delay.ms
    // Goes into every member id so ids from an earlier run of the process (groups live in
    // memory) never match new ones; the caller picks something unique per run.
    std::string instance_tag = "0";
};

enum class group_state { empty, preparing_rebalance, completing_rebalance, stable, dead };

// Kafka's name ("PreparingRebalance"), as DescribeGroups reports it.
const char* to_string(group_state s);

struct join_completion {
    std::uint64_t token = 0;
    join_group_response response;
};
struct sync_completion {
    std::uint64_t token = 0;
    sync_group_response response;
};

// Responses to deliver, produced by any call that takes it.
struct group_events {
    std::vector<join_completion> joins;
    std::vector<sync_completion> syncs;
    bool empty() const { return joins.empty() && syncs.empty(); }
};

// Who sent a JoinGroup (for DescribeGroups) and which version it was.
struct join_context {
    std::int16_t version = 0;
    std::string client_id;
    std::string client_host;
};

class group_coordinator {
  public:
    explicit group_coordinator(group_config config = {});
    ~group_coordinator();
    group_coordinator(const group_coordinator&) = delete;
    group_coordinator& operator=(const group_coordinator&) = delete;

    void join(std::uint64_t token, const join_group_request& req, const join_context& ctx,
              time_ms now, group_events& out);
    void sync(std::uint64_t token, const sync_group_request& req, time_ms now, group_events& out);
    error_code heartbeat(const heartbeat_request& req, time_ms now);
    error_code leave(const leave_group_request& req, time_ms now, group_events& out);
    // Whether an OffsetCommit with this generation and member may be stored (and a heartbeat
    // for the member). generation < 0 with an empty member id is a standalone consumer's
    // commit, allowed while the group has no members.
    error_code check_commit(const std::string& group_id, std::int32_t generation,
                            const std::string& member_id, time_ms now);

    // Expires sessions, pending members and rebalance timeouts due at `now`.
    void tick(time_ms now, group_events& out);
    // The earliest time tick() has something to do, if any.
    std::optional<time_ms> next_deadline() const;

    describe_groups_response::group describe(const std::string& group_id) const;
    std::vector<list_groups_response::group> list() const;
    // Removes an empty group (DeleteGroups); NON_EMPTY_GROUP or GROUP_ID_NOT_FOUND otherwise.
    error_code remove(const std::string& group_id);

    // For tests and metrics.
    std::optional<group_state> state(const std::string& group_id) const;
    std::int32_t generation(const std::string& group_id) const;

  private:
    struct group;
    struct member;

    group* find(const std::string& id);
    const group* find(const std::string& id) const;
    void prepare_rebalance(group& g, time_ms now, group_events& out);
    void maybe_complete_join(group& g, time_ms now, group_events& out);
    void complete_join(group& g, time_ms now, group_events& out);
    void remove_member(group& g, const std::string& member_id, time_ms now, group_events& out);
    join_group_response join_response(const group& g, const member& m) const;
    std::string select_protocol(const group& g) const;
    bool supports_common_protocol(const group& g, const join_group_request& req) const;

    group_config config_;
    std::map<std::string, std::unique_ptr<group>> groups_;
    std::uint64_t next_member_ = 1;
};

}  // namespace sluice::kafka

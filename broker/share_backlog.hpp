#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "broker/log_cursor.hpp"
#include "broker/message.hpp"
#include "broker/offline_cursors.hpp"
#include "store/partition.hpp"

// A shared subscription group's backlog as cursors into the log (docs/offline-backlog-design.md,
// "Shared groups"): one cursor per logged partition for the whole group, not a copy of its
// messages in a member's queue.
//
// The group gets it when its last member goes offline (every member an offline persistent
// session; broker_core::open_share_backlogs): a marker per logged partition, placed *after*
// the backlog is visible to routes and under its lock, so a route that decides "live" for a
// message (covers() false) had its append queued before the marker. From then on a logged
// QoS 1/2 message matching the group whose ticket is at or above the group's mark is the
// log's: the router skips the group (no member is offered it), online members or not (pull
// only, as for a session's own subscriptions), and the backlog reader delivers the group's
// stretch to the members that are online, each record to one member, the group's cursor
// advancing in the same append that records the deliveries in the member's queue. It ends
// with the group (the reader finds it gone and erases its records).
//
// Threads: any. `mu_` is a leaf lock (taken under the router's shared lock by covers(); a
// marker is placed under it, which takes the partition's lock). The reader thread alone
// advances cursors and uses `held`, `next_member` and `used`.
namespace sluice::broker {

class share_backlog {
  public:
    // `share`: "$share/<group>/<filter>".
    explicit share_backlog(std::string share);
    share_backlog(const share_backlog&) = delete;
    share_backlog& operator=(const share_backlog&) = delete;

    const std::string share;
    const std::string filter;  // the filter part of `share`

    // Places a marker on each of `logged` (under mu_) and returns where they report; the
    // caller arms it (its on_ready saves the cursors and finishes its `durable`). Call once
    // the backlog is reachable from the group in the router (see the class comment).
    std::shared_ptr<offline_cursors> open(const std::vector<logged_partition>& logged);
    // At start, before any connection: the cursors read back, with ticket 0 (every append of
    // this process is the log's).
    void restore(std::vector<std::pair<logged_partition, std::int64_t>> cursors);

    // The route's question, for a logged QoS 1/2 message at `p`/`ticket`: is it the log's
    // (at or above the group's mark on `p`)? When the cursor that covers it is not durable
    // yet, the publisher's acknowledgement waits for it (session::wait_for_durable).
    bool covers(const store::partition* p, store::partition::ticket ticket) const;

    // --- the backlog reader's ---
    // Known cursors below their partition's high watermark (something to read).
    std::vector<std::pair<logged_partition, std::int64_t>> cursors_behind() const;
    // Every known cursor (to erase them when the group is gone).
    std::vector<log_cursor> cursors() const;
    // The cursor on `p` moved from `from` to `next` (false: it was not at `from`).
    bool advance(const store::partition* p, std::int64_t from, std::int64_t next);

    std::atomic<bool> held{false};  // a refill is waiting for its durability
    std::size_t next_member = 0;    // round robin over the members that are online
    backlog_usage used;             // of the backlog limits, since the replay began

  private:
    struct mark {
        logged_partition where;
        store::partition::ticket from = 0;  // offers at or above it: the log's
        std::int64_t cursor = -1;  // -1: its marker has not reported yet (`source`)
        std::shared_ptr<offline_cursors> source;
    };
    void resolve() const;  // mu_ held: cursors whose markers have reported

    mutable std::mutex mu_;
    mutable std::vector<mark> marks_;
};

}  // namespace sluice::broker

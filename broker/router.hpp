#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "broker/message.hpp"
#include "broker/level_map.hpp"
#include "broker/read_section.hpp"
#include "broker/session.hpp"
#include "broker/share_backlog.hpp"

// The subscription trie: who receives a published message. One node per topic level, children
// in a level_map (a short list, a hash table once many); '+' and '#' children hang off
// dedicated pointers, so matching a level costs at most three lookups. A node's subscribers are sorted by session, so SUBSCRIBE finds a
// duplicate by binary search. Shared subscriptions ($share/<group>/<filter>) hang off the
// filter's node as groups whose members take turns.
//
// Threads: any. Routing has two phases:
//  1. match, under `mu_` taken shared: walk the trie and copy each target (session pointer,
//     subscription record, shared group; one member already picked per group) into a
//     thread-local list. No session lock, no allocation once the list has grown.
//  2. offer, with no router lock held, inside a read_section: session::offer to each target.
// SUBSCRIBE/UNSUBSCRIBE take `mu_` exclusive only to edit the trie (a lookup and an insert or
// erase), so a publisher waits at most for one such edit, and a writer waits only for the
// match phases in progress (`mu_` lets a waiting writer in before new readers).
//
// Covered groups (docs/routing.md, "Covered groups"): the QoS 1/2 plain subscriptions of
// sessions whose cursors into the log cover logged messages (session::covering_marks) sit in
// a group of their node with, per partition, the largest mark of its members. A logged QoS 1/2
// message whose ticket is at or above that bound is the log's for every member (each would
// count it covered in session::offer), so the route skips the group without touching its
// sessions: O(1) per node, not per session. A smaller ticket (a message that raced a detach)
// goes to the members one by one, as to any subscriber.
//
// Shared groups with a backlog in the log (broker/share_backlog.hpp): a logged QoS 1/2
// message the group's cursors cover (share_backlog::covers) is skipped for the group, no
// member is offered it; the backlog reader delivers it from the log.
//
// Lifetime (the raw session pointers): a session is removed from the trie (remove_session)
// before it ends, and remove_session returns only after a grace period (wait_for_readers):
// every route that could have matched the session before its removal has finished offering.
// So a matched session is alive when it is offered a message, as when offers happened under
// the lock. A shared group emptied by an unsubscribe is freed after a grace period too (the
// offer phase reads its `share` string). Nodes are only read in the match phase, under `mu_`,
// and are freed at once.
namespace sluice::broker {

// A QoS 1/2 offer that a connected, progressing receiver refused because its queue was full
// (session::offer, `may_park`): the publisher offers it again later (router::offer_again).
// `s` is only compared, never followed: the session may end once route() has returned; it is
// found again by `client_id`.
struct refused_offer {
    const session* s = nullptr;
    std::string client_id;
    delivery d;
};

class router {
  public:
    router() = default;
    router(const router&) = delete;
    router& operator=(const router&) = delete;

    // Adds or replaces `s`'s subscription to `filter` (validated by the caller, possibly
    // shared). Returns true when it replaced an existing one.
    bool subscribe(session& s, std::string_view filter, const subscription_record& rec);
    // Returns false when `s` had no such subscription.
    bool unsubscribe(session& s, std::string_view filter);
    // Removes every subscription in `filters` (a session's list) for `s`; returns after a grace
    // period, so no route is still offering to `s` (see the class comment).
    void remove_session(session& s, const std::vector<std::string>& filters);

    // `s`'s cursors became durable (its detach's snapshot; session::covering_marks): its QoS
    // 1/2 subscriptions among `filters` (its list) join their covered groups, or update the
    // marks they are counted with there. The caller keeps `s` from ending meanwhile (as for
    // subscribe).
    void cover(session& s, const std::vector<std::string>& filters);

    // Offers `msg` to every matching session (overlapping subscriptions of one session are
    // merged into one delivery: highest QoS, all subscription identifiers) and to one member of
    // each matching shared group; skips covered groups whose members' cursors cover it.
    // Returns the number of sessions that matched (a session skipped in two covered groups
    // counts twice); sets *congested when an online receiver's queue is filling up
    // (session::offer). With `refused`, offers a full, progressing receiver refused are added
    // there instead of being dropped (a refusal also sets *congested).
    std::size_t route(const message_ptr& msg, const queue_limits& limits, bool* congested = nullptr,
                      std::vector<refused_offer>* refused = nullptr);
    // Offers a refused delivery again to `s` (alive: the caller holds it), counting a drop
    // as route() does; `may_park` as in session::offer (false: a last try, dropped if full).
    session::offer_result offer_again(session& s, delivery&& d, const queue_limits& limits,
                                      bool may_park);

    // Gives `d` (which came through shared subscription d.share) to another member of that
    // group than `leaving`. Returns false when no other member is left.
    bool redeliver_shared(delivery d, const session* leaving, const queue_limits& limits);

    // --- shared groups' backlogs (broker/share_backlog.hpp) -----------------------------
    struct share_state {
        bool exists = false;
        bool all_offline = false;  // every member offline and persistent (at least one)
        std::shared_ptr<share_backlog> backlog;
    };
    // The group of `share` ("$share/<group>/<filter>") as it is now.
    share_state share_state_of(std::string_view share) const;
    // Gives the group of b->share its backlog, unless it has one; false when it has, or
    // there is no such group.
    bool set_share_backlog(std::shared_ptr<share_backlog> b);
    // The members of `b`'s group, while `b` is its backlog: false (nothing added) when the
    // group is gone or has another backlog. The pointers are only valid while the caller
    // keeps sessions from ending (the registry lock, as for subscribe).
    struct share_member {
        session* s;
        subscription_record rec;
    };
    bool share_members(const share_backlog& b, std::vector<share_member>& out) const;

    std::size_t subscription_count() const { return count_.load(std::memory_order_relaxed); }
    // Offers refused by full session queues, offline QoS 0 and saturated connections.
    std::uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
    // Sessions skipped because their covered group's cursors covered the message (one per
    // member of each skipped group and message): the offers that were not made.
    std::uint64_t covered_skips() const { return covered_skips_.load(std::memory_order_relaxed); }

  private:
    struct subscriber {
        session* s;
        subscription_record rec;
    };
    struct shared_group {
        std::string name;
        std::string share;                // the full "$share/<group>/<filter>"; never changes
        std::vector<subscriber> members;  // sorted by session
        // Round-robin cursor; advanced under the shared lock, hence atomic (and mutable).
        mutable std::atomic<std::uint32_t> next{0};
        // Its backlog in the log, once all its members were offline (set under the exclusive
        // lock, never replaced; read in the match phase).
        std::shared_ptr<share_backlog> backlog;
    };
    // A member of a covered group, with the marks it is counted with in the group's bounds.
    struct covered_member {
        session* s;
        subscription_record rec;
        std::vector<session::covering_mark> marks;
    };
    struct partition_bound {
        const store::partition* partition;
        store::partition::ticket max_from;  // the largest mark of a member (never lowered)
        std::uint32_t members;              // members with a mark on this partition
    };
    struct covered_group {
        std::vector<covered_member> members;  // sorted by session
        std::vector<partition_bound> bounds;  // one per partition some member has a mark on
        // True when every member's cursors cover a message with `ticket` on `p`.
        bool covers(const store::partition* p, store::partition::ticket ticket) const;
        void count_marks(const std::vector<session::covering_mark>& marks);
        void uncount_marks(const std::vector<session::covering_mark>& marks);
    };
    struct node {
        level_map<node> children;  // every level but "+" and "#"
        std::unique_ptr<node> plus, hash;
        std::vector<subscriber> subs;  // sorted by session
        std::vector<std::unique_ptr<shared_group>> groups;
        std::unique_ptr<covered_group> covered;  // made by its first member, freed with its last
        bool empty() const {
            return children.empty() && !plus && !hash && subs.empty() && groups.empty() &&
                   !covered;
        }
    };
    // A receiver copied out of the trie in the match phase.
    struct target {
        session* s;
        subscription_record rec;
        const shared_group* group;  // non-null: came through this group (for its `share`)
    };
    using group_list = std::vector<std::unique_ptr<shared_group>>;
    // What one match phase may skip: the message's log position when it is a logged QoS 1/2
    // message (partition null otherwise: no group is skipped), and how many sessions it skipped.
    struct skip_state {
        const store::partition* partition = nullptr;
        store::partition::ticket ticket = 0;
        std::size_t skipped = 0;
    };

    node* find_or_create(const std::vector<std::string_view>& levels);
    const node* find(const std::vector<std::string_view>& levels) const;
    void collect(const node& n, const std::vector<std::string_view>& levels, std::size_t i,
                 skip_state& skip, std::vector<target>& out) const;
    void collect_node(const node& n, skip_state& skip, std::vector<target>& out) const;
    // Puts `s`'s plain subscription `rec` at `n` into its covered group (exclusive lock).
    static void add_covered(node& n, session& s, const subscription_record& rec,
                            std::vector<session::covering_mark> marks);
    // Takes `s` out of `n`'s covered group, freeing the group when it empties; false when
    // it was not there (exclusive lock).
    static bool remove_covered(node& n, const session& s);
    // Erases `s`'s subscription to `filter`; a group it empties moves to `freed`.
    bool erase(std::string_view filter, const session& s, group_list& freed);
    static void prune(node& n, const std::vector<std::string_view>& levels, std::size_t i);
    static const subscriber* pick_member(const shared_group& g, const session* skip);
    // The group `share` names, or null (either lock held).
    const shared_group* find_group(std::string_view share) const;
    void count(session::offer_result r, bool* congested);

    mutable writer_first_mutex mu_;  // guards root_ and everything under it
    node root_;
    std::atomic<std::size_t> count_{0};
    std::atomic<std::uint64_t> dropped_{0};  // only touched when a message is dropped
    std::atomic<std::uint64_t> covered_skips_{0};  // only touched when a group is skipped
};

// Splits a topic or filter into its levels ("a//b" -> "a", "", "b").
void split_levels(std::string_view topic, std::vector<std::string_view>& out);

}  // namespace sluice::broker

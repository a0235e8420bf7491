#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "broker/message.hpp"
#include "broker/session.hpp"

// The subscription trie: who receives a published message. One node per topic level; '+' and
// '#' are ordinary child keys. Shared subscriptions ($share/<group>/<filter>) hang off the
// filter's node as groups whose members take turns.
//
// Threads: any. `mu_` (a reader/writer lock) guards the whole trie: route() and redeliver take
// it shared, so publishers on different io threads match in parallel; subscribe/unsubscribe
// take it exclusive. Sessions are referenced by raw pointer: a session is removed from the trie
// (remove_session, exclusive) before it is destroyed, and deliveries happen under the shared
// lock, so a matched session is alive while it is offered a message.
namespace sluice::broker {

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
    // Removes every subscription in `filters` (a session's list) for `s`.
    void remove_session(session& s, const std::vector<std::string>& filters);

    // Offers `msg` to every matching session (overlapping subscriptions of one session are
    // merged into one delivery: highest QoS, all subscription identifiers) and to one member of
    // each matching shared group. Returns the number of sessions that matched; sets
    // *congested when an online receiver's queue is filling up (session::offer).
    std::size_t route(const message_ptr& msg, std::size_t max_queued, bool* congested = nullptr);

    // Gives `d` (which came through shared subscription d.share) to another member of that
    // group than `leaving`. Returns false when no other member is left.
    bool redeliver_shared(delivery d, const session* leaving, std::size_t max_queued);

    std::size_t subscription_count() const { return count_.load(std::memory_order_relaxed); }
    // Offers refused by full session queues, offline QoS 0 and saturated connections.
    std::uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

  private:
    struct subscriber {
        session* s;
        subscription_record rec;
    };
    struct shared_group {
        std::string name;
        std::string share;  // the full "$share/<group>/<filter>"
        std::vector<subscriber> members;
        // Round-robin cursor; advanced under the shared lock, hence atomic.
        std::atomic<std::uint32_t> next{0};
    };
    struct node {
        std::map<std::string, std::unique_ptr<node>, std::less<>> children;
        std::vector<subscriber> subs;
        std::vector<std::unique_ptr<shared_group>> groups;
        bool empty() const { return children.empty() && subs.empty() && groups.empty(); }
    };
    struct match {
        const subscriber* sub;
        shared_group* group;  // non-null: pick one member of this group
    };

    node* find_or_create(std::string_view filter);
    void collect(node& n, const std::vector<std::string_view>& levels, std::size_t i,
                 std::vector<match>& out) const;
    bool erase(std::string_view filter, const session& s);
    static void prune(node& n, const std::vector<std::string_view>& levels, std::size_t i);
    bool offer_to_group(shared_group& g, const message_ptr& msg, const session* skip,
                        delivery* prepared, std::size_t max_queued, bool* congested);
    void count(session::offer_result r, bool* congested);

    mutable std::shared_mutex mu_;  // guards root_ and everything under it
    node root_;
    std::atomic<std::size_t> count_{0};
    std::atomic<std::uint64_t> dropped_{0};  // only touched when a message is dropped
};

// Splits a topic or filter into its levels ("a//b" -> "a", "", "b").
void split_levels(std::string_view topic, std::vector<std::string_view>& out);

}  // namespace sluice::broker

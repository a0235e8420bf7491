#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "broker/message.hpp"

// Retained messages in memory (persistence in the log comes with the store), indexed by a
// topic tree: one node per topic level, children found by hash. A SUBSCRIBE visits only the
// nodes its filter can match: an exact level is one lookup, '+' visits one level of children,
// '#' the subtree below. Topics starting with '$' are not matched by a wildcard in the first
// level (as mqtt::topic_matches). Expired messages are dropped when a lookup meets them.
//
// Threads: any; `mu_` guards the tree (a put is one walk down a path).
namespace sluice::broker {

class retained_store {
  public:
    // Stores `msg` as the topic's retained message, or clears the topic when its payload is
    // empty.
    void put(const message_ptr& msg);
    // Appends the unexpired retained messages that `filter` (non-shared) matches.
    void collect(std::string_view filter, steady_clock::time_point now,
                 std::vector<message_ptr>& out);
    std::size_t size() const;

    // For the operations endpoints (broker/retained_inspect.cpp): every retained message, as
    // pointers copied in one walk under the lock (sorted and paged by the caller outside it),
    // and the removal of one topic's message without publishing anything. erase returns
    // whether there was one.
    std::vector<message_ptr> snapshot() const;
    bool erase(std::string_view topic);

  private:
    struct level_hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept {
            return std::hash<std::string_view>{}(s);
        }
    };
    struct node {
        std::unordered_map<std::string, std::unique_ptr<node>, level_hash, std::equal_to<>>
            children;
        message_ptr msg;  // the retained message of the topic ending here, if any
        bool empty() const { return !msg && children.empty(); }
    };

    // Each returns whether `n` is left empty (so the caller may erase it).
    bool match(node& n, const std::vector<std::string_view>& levels, std::size_t i,
               steady_clock::time_point now, std::vector<message_ptr>& out);
    bool take_subtree(node& n, steady_clock::time_point now, std::vector<message_ptr>& out);
    void take(node& n, steady_clock::time_point now, std::vector<message_ptr>& out);
    bool clear(node& n, const std::vector<std::string_view>& levels, std::size_t i);
    static void gather(const node& n, std::vector<message_ptr>& out);

    mutable std::mutex mu_;  // guards root_ and size_
    node root_;
    std::size_t size_ = 0;
};

}  // namespace sluice::broker

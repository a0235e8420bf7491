#pragma once

#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "broker/message.hpp"

// Retained messages by topic, in memory (persistence in the log comes with the store).
// Threads: any; `mu_` guards `by_topic_`.
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

  private:
    mutable std::mutex mu_;  // guards by_topic_
    std::unordered_map<std::string, message_ptr> by_topic_;
};

}  // namespace sluice::broker

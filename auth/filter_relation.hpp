#pragma once

#include <string_view>

// How two MQTT topic filters relate, for deciding whether an ACL rule's filter governs a
// SUBSCRIBE filter. Both arguments must be valid non-shared filters (mqtt/topic.hpp); the
// '$' rule applies: a filter starting with '+' or '#' matches no topic starting with '$'.
//
// Threads: stateless functions, any thread.
namespace sluice::auth {

// True when every topic `inner` can match is also matched by `outer`:
// filter_covers("a/#", "a/+/b"), filter_covers("+/x", "a/x"); not filter_covers("a/+", "a/#").
bool filter_covers(std::string_view outer, std::string_view inner);

// True when at least one topic is matched by both: filters_overlap("a/+", "+/b") ("a/b").
bool filters_overlap(std::string_view a, std::string_view b);

}  // namespace sluice::auth

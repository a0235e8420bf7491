#pragma once

#include <optional>
#include <string_view>

namespace sluice::mqtt {

// Topic names and filters (spec 4.7). Both must be 1..65,535 bytes of valid UTF-8 (utf8.hpp).

// A topic name as a PUBLISH carries it: no '+' or '#'.
bool valid_topic_name(std::string_view name);

// A topic filter as SUBSCRIBE/UNSUBSCRIBE carry it: '+' fills a whole level, '#' fills a whole
// level and is last. A "$share/<group>/<filter>" filter is valid when its group is non-empty
// without '/', '+' or '#' and its filter is a valid non-shared filter.
bool valid_topic_filter(std::string_view filter);

// A parsed filter: for "$share/g/a/+" group = "g", filter = "a/+"; for "a/+" group is empty.
struct topic_filter_parts {
    bool shared = false;
    std::string_view group{};
    std::string_view filter{};
};

// Splits a filter that valid_topic_filter() accepts; nullopt for an invalid one.
std::optional<topic_filter_parts> parse_topic_filter(std::string_view filter);

// True when topic name `topic` matches the non-shared filter `filter` (use
// parse_topic_filter for shared ones). A topic starting with '$' is not matched by a filter
// starting with a wildcard (spec 4.7.2): "#" does not match "$SYS/x", "$SYS/#" does.
bool topic_matches(std::string_view filter, std::string_view topic);

}  // namespace sluice::mqtt

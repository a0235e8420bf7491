#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "loadtest/mqtt/options.hpp"

namespace sluice::bench {

// Who publishes where and who should receive what, derived from the options alone so that
// every worker process computes the same plan.
//
// A receiving unit is a plain subscriber (unit = its index) or a `$share` group (unit =
// subscribers + group index): each unit whose filter matches a publisher's topic should get
// every message of that publisher exactly once.
//
// Threads: immutable after construction.
class topic_plan {
public:
    explicit topic_plan(const options& o);

    const std::string& publisher_topic(unsigned publisher) const { return pub_topics_[publisher]; }
    // The filter as subscribed (with the $share prefix when in a group).
    const std::string& subscriber_filter(unsigned subscriber) const { return sub_filters_[subscriber]; }
    std::uint32_t subscriber_unit(unsigned subscriber) const { return sub_units_[subscriber]; }
    // How many units should receive each message of `publisher`.
    std::uint32_t receivers_of(unsigned publisher) const { return receivers_[publisher]; }

private:
    std::vector<std::string> pub_topics_;
    std::vector<std::string> sub_filters_;
    std::vector<std::uint32_t> sub_units_;
    std::vector<std::uint32_t> receivers_;
};

}  // namespace sluice::bench

#include "loadtest/mqtt/topic_plan.hpp"

#include <map>
#include <set>
#include <unordered_map>

#include "mqtt/topic.hpp"

namespace sluice::bench {

topic_plan::topic_plan(const options& o) {
    pub_topics_.reserve(o.publishers);
    for (unsigned p = 0; p < o.publishers; ++p) pub_topics_.push_back(expand_template(o.pub_topic, p));

    // Units that share a filter are counted together: a plain filter's subscribers each count,
    // a group counts once.
    struct filter_units {
        std::uint32_t plain = 0;
        std::set<unsigned> groups;
    };
    std::map<std::string, filter_units> by_filter;
    sub_filters_.reserve(o.subscribers);
    sub_units_.reserve(o.subscribers);
    for (unsigned s = 0; s < o.subscribers; ++s) {
        std::string filter = expand_template(o.sub_topic, s);
        auto& units = by_filter[filter];
        if (o.share_groups > 0) {
            const unsigned group = s % o.share_groups;
            units.groups.insert(group);
            sub_filters_.push_back("$share/g" + std::to_string(group) + "/" + filter);
            sub_units_.push_back(o.subscribers + group);
        } else {
            ++units.plain;
            sub_filters_.push_back(std::move(filter));
            sub_units_.push_back(s);
        }
    }

    // Filters without wildcards are looked up by topic; the (usually few) wildcard filters are
    // matched one by one, so p2p runs with thousands of pairs stay linear.
    std::unordered_map<std::string, const filter_units*> exact;
    std::vector<std::pair<const std::string*, const filter_units*>> wild;
    for (const auto& [filter, units] : by_filter) {
        if (filter.find_first_of("+#") == std::string::npos) exact[filter] = &units;
        else wild.emplace_back(&filter, &units);
    }
    receivers_.reserve(o.publishers);
    for (const auto& topic : pub_topics_) {
        std::uint32_t plain = 0;
        std::set<unsigned> groups;
        auto add = [&](const filter_units& u) {
            plain += u.plain;
            groups.insert(u.groups.begin(), u.groups.end());
        };
        if (auto it = exact.find(topic); it != exact.end()) add(*it->second);
        for (const auto& [filter, units] : wild)
            if (mqtt::topic_matches(*filter, topic)) add(*units);
        receivers_.push_back(plain + static_cast<std::uint32_t>(groups.size()));
    }
}

}  // namespace sluice::bench

#include "broker/retained_store.hpp"

#include "mqtt/topic.hpp"

namespace sluice::broker {

void retained_store::put(const message_ptr& msg) {
    std::lock_guard lock(mu_);
    if (msg->payload_size() == 0) {
        by_topic_.erase(msg->topic());
        return;
    }
    by_topic_[msg->topic()] = msg;
}

void retained_store::collect(std::string_view filter, steady_clock::time_point now,
                             std::vector<message_ptr>& out) {
    std::lock_guard lock(mu_);
    bool exact = filter.find_first_of("+#") == std::string_view::npos;
    if (exact) {
        auto it = by_topic_.find(std::string(filter));
        if (it == by_topic_.end()) return;
        if (it->second->expired(now)) {
            by_topic_.erase(it);
            return;
        }
        out.push_back(it->second);
        return;
    }
    for (auto it = by_topic_.begin(); it != by_topic_.end();) {
        if (it->second->expired(now)) {
            it = by_topic_.erase(it);
            continue;
        }
        if (mqtt::topic_matches(filter, it->first)) out.push_back(it->second);
        ++it;
    }
}

std::size_t retained_store::size() const {
    std::lock_guard lock(mu_);
    return by_topic_.size();
}

}  // namespace sluice::broker

#include "broker/retained_store.hpp"

#include "broker/router.hpp"  // split_levels

namespace sluice::broker {

namespace {
bool starts_with_dollar(std::string_view level) {
    return !level.empty() && level.front() == '$';
}
}  // namespace

void retained_store::put(const message_ptr& msg) {
    std::vector<std::string_view> levels;
    split_levels(msg->topic(), levels);
    std::lock_guard lock(mu_);
    if (msg->payload_size() == 0) {
        clear(root_, levels, 0);
        return;
    }
    node* n = &root_;
    for (auto level : levels) {
        auto it = n->children.find(level);
        if (it == n->children.end())
            it = n->children.emplace(std::string(level), std::make_unique<node>()).first;
        n = it->second.get();
    }
    if (!n->msg) ++size_;
    n->msg = msg;
}

// Removes the message at `levels` and prunes the nodes left empty; returns whether `n` is
// empty afterwards. A miss changes nothing.
bool retained_store::clear(node& n, const std::vector<std::string_view>& levels, std::size_t i) {
    if (i == levels.size()) {
        if (n.msg) --size_;
        n.msg.reset();
        return n.empty();
    }
    auto it = n.children.find(levels[i]);
    if (it == n.children.end()) return n.empty();
    if (clear(*it->second, levels, i + 1)) n.children.erase(it);
    return n.empty();
}

void retained_store::take(node& n, steady_clock::time_point now, std::vector<message_ptr>& out) {
    if (!n.msg) return;
    if (n.msg->expired(now)) {
        n.msg.reset();
        --size_;
        return;
    }
    out.push_back(n.msg);
}

bool retained_store::take_subtree(node& n, steady_clock::time_point now,
                                  std::vector<message_ptr>& out) {
    take(n, now, out);
    for (auto it = n.children.begin(); it != n.children.end();) {
        if (take_subtree(*it->second, now, out))
            it = n.children.erase(it);
        else
            ++it;
    }
    return n.empty();
}

bool retained_store::match(node& n, const std::vector<std::string_view>& levels, std::size_t i,
                           steady_clock::time_point now, std::vector<message_ptr>& out) {
    if (i == levels.size()) {
        take(n, now, out);
        return n.empty();
    }
    const auto level = levels[i];
    if (level == "#" || level == "+") {
        // "a/#" also matches "a" itself (the root holds no message: topics are not empty).
        if (level == "#") take(n, now, out);
        for (auto it = n.children.begin(); it != n.children.end();) {
            // A topic starting with '$' is not matched by a wildcard in the first level.
            const bool skip = i == 0 && starts_with_dollar(it->first);
            const bool emptied =
                !skip && (level == "#" ? take_subtree(*it->second, now, out)
                                       : match(*it->second, levels, i + 1, now, out));
            if (emptied)
                it = n.children.erase(it);
            else
                ++it;
        }
        return n.empty();
    }
    auto it = n.children.find(level);
    if (it != n.children.end() && match(*it->second, levels, i + 1, now, out)) n.children.erase(it);
    return n.empty();
}

void retained_store::collect(std::string_view filter, steady_clock::time_point now,
                             std::vector<message_ptr>& out) {
    std::vector<std::string_view> levels;
    split_levels(filter, levels);
    std::lock_guard lock(mu_);
    match(root_, levels, 0, now, out);
}

std::size_t retained_store::size() const {
    std::lock_guard lock(mu_);
    return size_;
}

}  // namespace sluice::broker

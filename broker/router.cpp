#include "broker/router.hpp"

#include <algorithm>
#include <mutex>

#include "mqtt/topic.hpp"

namespace sluice::broker {

void split_levels(std::string_view topic, std::vector<std::string_view>& out) {
    out.clear();
    std::size_t start = 0;
    for (;;) {
        auto slash = topic.find('/', start);
        if (slash == std::string_view::npos) {
            out.push_back(topic.substr(start));
            return;
        }
        out.push_back(topic.substr(start, slash - start));
        start = slash + 1;
    }
}

router::node* router::find_or_create(std::string_view filter) {
    node* n = &root_;
    std::vector<std::string_view> levels;
    split_levels(filter, levels);
    for (auto level : levels) {
        auto it = n->children.find(level);
        if (it == n->children.end())
            it = n->children.emplace(std::string(level), std::make_unique<node>()).first;
        n = it->second.get();
    }
    return n;
}

bool router::subscribe(session& s, std::string_view filter, const subscription_record& rec) {
    auto parts = mqtt::parse_topic_filter(filter);
    if (!parts) return false;
    std::unique_lock lock(mu_);
    node* n = find_or_create(parts->filter);
    if (!parts->shared) {
        for (auto& sub : n->subs)
            if (sub.s == &s) {
                sub.rec = rec;
                return true;
            }
        n->subs.push_back({&s, rec});
        count_.fetch_add(1, std::memory_order_relaxed);
        return false;
    }
    shared_group* g = nullptr;
    for (auto& candidate : n->groups)
        if (candidate->name == parts->group) g = candidate.get();
    if (!g) {
        n->groups.push_back(std::make_unique<shared_group>());
        g = n->groups.back().get();
        g->name = std::string(parts->group);
        g->share = std::string(filter);
    }
    for (auto& m : g->members)
        if (m.s == &s) {
            m.rec = rec;
            return true;
        }
    g->members.push_back({&s, rec});
    count_.fetch_add(1, std::memory_order_relaxed);
    return false;
}

bool router::erase(std::string_view filter, const session& s) {
    auto parts = mqtt::parse_topic_filter(filter);
    if (!parts) return false;
    std::vector<std::string_view> levels;
    split_levels(parts->filter, levels);
    node* n = &root_;
    for (auto level : levels) {
        auto it = n->children.find(level);
        if (it == n->children.end()) return false;
        n = it->second.get();
    }
    bool found = false;
    if (!parts->shared) {
        auto it = std::find_if(n->subs.begin(), n->subs.end(),
                               [&](const subscriber& x) { return x.s == &s; });
        if (it != n->subs.end()) {
            n->subs.erase(it);
            found = true;
        }
    } else {
        for (auto g = n->groups.begin(); g != n->groups.end(); ++g) {
            if ((*g)->name != parts->group) continue;
            auto& members = (*g)->members;
            auto it = std::find_if(members.begin(), members.end(),
                                   [&](const subscriber& x) { return x.s == &s; });
            if (it != members.end()) {
                members.erase(it);
                found = true;
            }
            if (members.empty()) n->groups.erase(g);
            break;
        }
    }
    if (found) {
        count_.fetch_sub(1, std::memory_order_relaxed);
        if (n->empty()) prune(root_, levels, 0);
    }
    return found;
}

void router::prune(node& n, const std::vector<std::string_view>& levels, std::size_t i) {
    if (i == levels.size()) return;
    auto it = n.children.find(levels[i]);
    if (it == n.children.end()) return;
    prune(*it->second, levels, i + 1);
    if (it->second->empty()) n.children.erase(it);
}

bool router::unsubscribe(session& s, std::string_view filter) {
    std::unique_lock lock(mu_);
    return erase(filter, s);
}

void router::remove_session(session& s, const std::vector<std::string>& filters) {
    std::unique_lock lock(mu_);
    for (const auto& f : filters) erase(f, s);
}

void router::collect(node& n, const std::vector<std::string_view>& levels, std::size_t i,
                     std::vector<match>& out) const {
    if (i == levels.size()) {
        for (const auto& sub : n.subs) out.push_back({&sub, nullptr});
        for (const auto& g : n.groups) out.push_back({nullptr, g.get()});
        // "a/#" also matches "a".
        if (auto hash = n.children.find("#"); hash != n.children.end()) {
            for (const auto& sub : hash->second->subs) out.push_back({&sub, nullptr});
            for (const auto& g : hash->second->groups) out.push_back({nullptr, g.get()});
        }
        return;
    }
    if (auto it = n.children.find(levels[i]); it != n.children.end())
        collect(*it->second, levels, i + 1, out);
    // A topic starting with '$' is not matched by a wildcard in the first level.
    if (i == 0 && !levels[0].empty() && levels[0].front() == '$') return;
    if (auto plus = n.children.find("+"); plus != n.children.end())
        collect(*plus->second, levels, i + 1, out);
    if (auto hash = n.children.find("#"); hash != n.children.end()) {
        for (const auto& sub : hash->second->subs) out.push_back({&sub, nullptr});
        for (const auto& g : hash->second->groups) out.push_back({nullptr, g.get()});
    }
}

namespace {
mqtt::qos min_qos(mqtt::qos a, mqtt::qos b) {
    return a < b ? a : b;
}
}  // namespace

void router::count(session::offer_result r, bool* congested) {
    using result = session::offer_result;
    if (r == result::dropped || r == result::dropped_congested)
        dropped_.fetch_add(1, std::memory_order_relaxed);
    if ((r == result::congested || r == result::dropped_congested) && congested) *congested = true;
}

bool router::offer_to_group(shared_group& g, const message_ptr& msg, const session* skip,
                            delivery* prepared, std::size_t max_queued, bool* congested) {
    const std::size_t n = g.members.size();
    if (n == 0) return false;
    std::uint32_t start = g.next.fetch_add(1, std::memory_order_relaxed);
    // Prefer a member that is online; fall back to any (its session keeps the message).
    for (int pass = 0; pass < 2; ++pass) {
        for (std::size_t k = 0; k < n; ++k) {
            const subscriber& m = g.members[(start + k) % n];
            if (m.s == skip) continue;
            if (pass == 0 && !m.s->online()) continue;
            delivery d;
            if (prepared) {
                d = *prepared;
                d.qos_level = min_qos(prepared->msg->qos_level(), m.rec.options.max_qos);
            } else {
                d.msg = msg;
                d.qos_level = min_qos(msg->qos_level(), m.rec.options.max_qos);
                d.retain = m.rec.options.retain_as_published && msg->retain();
                d.share = g.share;
            }
            d.subscription_ids.clear();
            if (m.rec.subscription_id) d.subscription_ids.push_back(m.rec.subscription_id);
            count(m.s->offer(std::move(d), max_queued), congested);
            return true;
        }
    }
    return false;
}

std::size_t router::route(const message_ptr& msg, std::size_t max_queued, bool* congested) {
    thread_local std::vector<std::string_view> levels;
    thread_local std::vector<match> matches;
    split_levels(msg->topic(), levels);
    matches.clear();
    std::shared_lock lock(mu_);
    collect(root_, levels, 0, matches);
    if (matches.empty()) return 0;

    // Shared groups: one member each. Plain subscriptions: merged per session.
    std::size_t delivered = 0;
    auto plain_end = std::partition(matches.begin(), matches.end(),
                                    [](const match& m) { return m.group == nullptr; });
    for (auto it = plain_end; it != matches.end(); ++it)
        delivered +=
            offer_to_group(*it->group, msg, nullptr, nullptr, max_queued, congested) ? 1 : 0;

    const void* origin = msg->origin();
    std::sort(matches.begin(), plain_end,
              [](const match& a, const match& b) { return a.sub->s < b.sub->s; });
    for (auto it = matches.begin(); it != plain_end;) {
        session* s = it->sub->s;
        delivery d;
        bool any = false;
        for (; it != plain_end && it->sub->s == s; ++it) {
            const auto& rec = it->sub->rec;
            if (rec.options.no_local && origin == s) continue;
            mqtt::qos q = min_qos(msg->qos_level(), rec.options.max_qos);
            if (!any || q > d.qos_level) d.qos_level = q;
            if (rec.options.retain_as_published && msg->retain()) d.retain = true;
            if (rec.subscription_id) d.subscription_ids.push_back(rec.subscription_id);
            any = true;
        }
        if (!any) continue;
        d.msg = msg;
        count(s->offer(std::move(d), max_queued), congested);
        ++delivered;
    }
    return delivered;
}

bool router::redeliver_shared(delivery d, const session* leaving, std::size_t max_queued) {
    auto parts = mqtt::parse_topic_filter(d.share);
    if (!parts || !parts->shared) return false;
    std::vector<std::string_view> levels;
    split_levels(parts->filter, levels);
    std::shared_lock lock(mu_);
    const node* n = &root_;
    for (auto level : levels) {
        auto it = n->children.find(level);
        if (it == n->children.end()) return false;
        n = it->second.get();
    }
    for (const auto& g : n->groups)
        if (g->name == parts->group)
            return offer_to_group(*g, d.msg, leaving, &d, max_queued, nullptr);
    return false;
}

}  // namespace sluice::broker

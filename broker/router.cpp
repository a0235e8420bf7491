#include "broker/router.hpp"

#include <algorithm>
#include <mutex>
#include <shared_mutex>

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

namespace {

bool starts_with_dollar(std::string_view level) {
    return !level.empty() && level.front() == '$';
}

// Subscriber lists are sorted by session so that a session's entry is found by binary search.
template <class List>
auto find_subscriber(List& list, const session* s) {
    return std::lower_bound(list.begin(), list.end(), s, [](const auto& sub, const session* x) {
        return std::less<const session*>{}(sub.s, x);
    });
}

// Adds or replaces `s` in a sorted list; true when it replaced.
template <class List, class Record>
bool upsert(List& list, session& s, const Record& rec) {
    auto it = find_subscriber(list, &s);
    if (it != list.end() && it->s == &s) {
        it->rec = rec;
        return true;
    }
    list.insert(it, {&s, rec});
    return false;
}

template <class List>
bool remove(List& list, const session& s) {
    auto it = find_subscriber(list, &s);
    if (it == list.end() || it->s != &s) return false;
    list.erase(it);
    return true;
}

}  // namespace

router::node* router::find_or_create(const std::vector<std::string_view>& levels) {
    node* n = &root_;
    for (auto level : levels) {
        std::unique_ptr<node>* next;
        if (level == "+") {
            next = &n->plus;
        } else if (level == "#") {
            next = &n->hash;
        } else {
            next = &n->children.slot(level);
        }
        if (!*next) *next = std::make_unique<node>();
        n = next->get();
    }
    return n;
}

const router::node* router::find(const std::vector<std::string_view>& levels) const {
    const node* n = &root_;
    for (auto level : levels) {
        if (level == "+") {
            n = n->plus.get();
        } else if (level == "#") {
            n = n->hash.get();
        } else {
            n = n->children.find(level);
        }
        if (!n) return nullptr;
    }
    return n;
}

bool router::covered_group::covers(const store::partition* p,
                                   store::partition::ticket ticket) const {
    for (const auto& b : bounds)
        if (b.partition == p) return b.members == members.size() && ticket >= b.max_from;
    return false;
}

void router::covered_group::count_marks(const std::vector<session::covering_mark>& marks) {
    for (const auto& m : marks) {
        auto b = std::find_if(bounds.begin(), bounds.end(),
                              [&](const partition_bound& x) { return x.partition == m.partition; });
        if (b == bounds.end()) {
            bounds.push_back({m.partition, m.from, 1});
        } else {
            b->max_from = std::max(b->max_from, m.from);
            ++b->members;
        }
    }
}

void router::covered_group::uncount_marks(const std::vector<session::covering_mark>& marks) {
    for (const auto& m : marks) {
        auto b = std::find_if(bounds.begin(), bounds.end(),
                              [&](const partition_bound& x) { return x.partition == m.partition; });
        // The bound keeps its maximum while members are left (a smaller one would also be
        // right, but finding it costs a pass over the members); erased with its last one, so
        // a partition freed and another made at its address starts from nothing.
        if (b != bounds.end() && --b->members == 0) bounds.erase(b);
    }
}

void router::add_covered(node& n, session& s, const subscription_record& rec,
                         std::vector<session::covering_mark> marks) {
    if (!n.covered) n.covered = std::make_unique<covered_group>();
    auto& g = *n.covered;
    auto it = find_subscriber(g.members, &s);
    if (it != g.members.end() && it->s == &s) {
        g.uncount_marks(it->marks);
        it->rec = rec;
        it->marks = std::move(marks);
        g.count_marks(it->marks);
        return;
    }
    g.count_marks(marks);
    g.members.insert(it, {&s, rec, std::move(marks)});
}

bool router::remove_covered(node& n, const session& s) {
    if (!n.covered) return false;
    auto& g = *n.covered;
    auto it = find_subscriber(g.members, &s);
    if (it == g.members.end() || it->s != &s) return false;
    g.uncount_marks(it->marks);
    g.members.erase(it);
    if (g.members.empty()) n.covered.reset();  // only read in the match phase, under mu_
    return true;
}

bool router::subscribe(session& s, std::string_view filter, const subscription_record& rec) {
    auto parts = mqtt::parse_topic_filter(filter);
    if (!parts) return false;
    std::vector<std::string_view> levels;
    split_levels(parts->filter, levels);
    // A QoS 1/2 plain subscription of a session with durable cursors joins the covered group
    // (QoS 0 ones never do: a QoS 0 delivery is not the log's). Read before the exclusive
    // section, which stays an edit only.
    std::vector<session::covering_mark> marks;
    if (!parts->shared && rec.options.max_qos != mqtt::qos::at_most_once)
        marks = s.covering_marks();
    std::unique_lock lock(mu_);
    node* n = find_or_create(levels);
    if (!parts->shared) {
        bool replaced;
        if (marks.empty()) {
            replaced = remove_covered(*n, s);
            replaced = upsert(n->subs, s, rec) || replaced;
        } else {
            replaced = remove(n->subs, s);
            replaced = remove_covered(*n, s) || replaced;
            add_covered(*n, s, rec, std::move(marks));
        }
        if (!replaced) count_.fetch_add(1, std::memory_order_relaxed);
        return replaced;
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
    if (upsert(g->members, s, rec)) return true;
    count_.fetch_add(1, std::memory_order_relaxed);
    return false;
}

bool router::erase(std::string_view filter, const session& s, group_list& freed) {
    auto parts = mqtt::parse_topic_filter(filter);
    if (!parts) return false;
    std::vector<std::string_view> levels;
    split_levels(parts->filter, levels);
    node* n = const_cast<node*>(find(levels));  // under the exclusive lock
    if (!n) return false;
    bool found = false;
    if (!parts->shared) {
        found = remove(n->subs, s) || remove_covered(*n, s);
    } else {
        for (auto g = n->groups.begin(); g != n->groups.end(); ++g) {
            if ((*g)->name != parts->group) continue;
            found = remove((*g)->members, s);
            if ((*g)->members.empty()) {
                // A route may still read its `share` in its offer phase: freed after a grace
                // period by the caller.
                freed.push_back(std::move(*g));
                n->groups.erase(g);
            }
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
    const auto level = levels[i];
    if (level == "+" || level == "#") {
        auto& child = level == "+" ? n.plus : n.hash;
        if (!child) return;
        prune(*child, levels, i + 1);
        if (child->empty()) child.reset();
        return;
    }
    node* child = n.children.find(level);
    if (!child) return;
    prune(*child, levels, i + 1);
    if (child->empty()) n.children.erase(level);
}

bool router::unsubscribe(session& s, std::string_view filter) {
    group_list freed;
    bool found;
    {
        std::unique_lock lock(mu_);
        found = erase(filter, s, freed);
    }
    if (!freed.empty()) wait_for_readers();
    return found;
}

void router::remove_session(session& s, const std::vector<std::string>& filters) {
    group_list freed;
    {
        std::unique_lock lock(mu_);
        for (const auto& f : filters) erase(f, s, freed);
    }
    // Routes that matched `s` before it left the trie may still be offering to it.
    wait_for_readers();
}

void router::cover(session& s, const std::vector<std::string>& filters) {
    const auto marks = s.covering_marks();
    if (marks.empty()) return;
    std::vector<std::string_view> levels;
    std::unique_lock lock(mu_);
    for (const auto& f : filters) {
        auto parts = mqtt::parse_topic_filter(f);
        if (!parts || parts->shared) continue;
        split_levels(parts->filter, levels);
        node* n = const_cast<node*>(find(levels));  // under the exclusive lock
        if (!n) continue;
        if (auto it = find_subscriber(n->subs, &s); it != n->subs.end() && it->s == &s) {
            if (it->rec.options.max_qos == mqtt::qos::at_most_once) continue;
            const subscription_record rec = it->rec;
            n->subs.erase(it);
            add_covered(*n, s, rec, marks);
        } else if (n->covered) {
            // Already a member: counted with the marks it has now (a later detach may have
            // added partitions).
            auto m = find_subscriber(n->covered->members, &s);
            if (m != n->covered->members.end() && m->s == &s) add_covered(*n, s, m->rec, marks);
        }
    }
}

const router::subscriber* router::pick_member(const shared_group& g, const session* skip) {
    const std::size_t n = g.members.size();
    if (n == 0) return nullptr;
    const std::uint32_t start = g.next.fetch_add(1, std::memory_order_relaxed);
    // Prefer a member that is online; fall back to any (its session keeps the message).
    for (int pass = 0; pass < 2; ++pass) {
        for (std::size_t k = 0; k < n; ++k) {
            const subscriber& m = g.members[(start + k) % n];
            if (m.s == skip) continue;
            if (pass == 0 && !m.s->online()) continue;
            return &m;
        }
    }
    return nullptr;
}

void router::collect_node(const node& n, skip_state& skip, std::vector<target>& out) const {
    for (const auto& sub : n.subs) out.push_back({sub.s, sub.rec, nullptr});
    if (n.covered) {
        if (skip.partition && n.covered->covers(skip.partition, skip.ticket))
            skip.skipped += n.covered->members.size();
        else
            for (const auto& m : n.covered->members) out.push_back({m.s, m.rec, nullptr});
    }
    for (const auto& g : n.groups) {
        // The group's cursors cover it: the log's, for whichever member comes to read it.
        if (skip.partition && g->backlog && g->backlog->covers(skip.partition, skip.ticket)) {
            ++skip.skipped;
            continue;
        }
        if (const subscriber* m = pick_member(*g, nullptr)) out.push_back({m->s, m->rec, g.get()});
    }
}

void router::collect(const node& n, const std::vector<std::string_view>& levels, std::size_t i,
                     skip_state& skip, std::vector<target>& out) const {
    if (i == levels.size()) {
        collect_node(n, skip, out);
        if (n.hash) collect_node(*n.hash, skip, out);  // "a/#" also matches "a"
        return;
    }
    if (const node* child = n.children.find(levels[i])) collect(*child, levels, i + 1, skip, out);
    // A topic starting with '$' is not matched by a wildcard in the first level.
    if (i == 0 && starts_with_dollar(levels[0])) return;
    if (n.plus) collect(*n.plus, levels, i + 1, skip, out);
    if (n.hash) collect_node(*n.hash, skip, out);
}

void router::count(session::offer_result r, bool* congested) {
    using result = session::offer_result;
    if (r == result::dropped || r == result::dropped_congested)
        dropped_.fetch_add(1, std::memory_order_relaxed);
    if ((r == result::congested || r == result::dropped_congested || r == result::refused) &&
        congested)
        *congested = true;
}

session::offer_result router::offer_again(session& s, delivery&& d, const queue_limits& limits,
                                          bool may_park) {
    const auto r = s.offer(std::move(d), limits, may_park);
    count(r, nullptr);
    return r;
}

std::size_t router::route(const message_ptr& msg, const queue_limits& limits, bool* congested,
                          std::vector<refused_offer>* refused) {
    // A refused delivery is kept (offer leaves it as it was) for the caller to offer again.
    auto offer = [&](session* s, delivery&& d) {
        const auto r = s->offer(std::move(d), limits, refused != nullptr);
        if (r == session::offer_result::refused) refused->push_back({s, s->client_id, std::move(d)});
        count(r, congested);
    };
    thread_local std::vector<std::string_view> levels;
    thread_local std::vector<target> targets;
    split_levels(msg->topic(), levels);
    targets.clear();
    // Only a logged QoS 1/2 message can be under cursors (a QoS 0 one is never the log's).
    skip_state skip;
    if (msg->qos_level() != mqtt::qos::at_most_once && msg->logged().partition) {
        skip.partition = msg->logged().partition.get();
        skip.ticket = msg->logged().ticket;
    }
    read_section reading;  // opened before the match: see the class comment
    {
        std::shared_lock lock(mu_);
        collect(root_, levels, 0, skip, targets);
    }
    if (skip.skipped) covered_skips_.fetch_add(skip.skipped, std::memory_order_relaxed);
    if (targets.empty()) return skip.skipped;

    // Shared groups: the member picked in the match phase. Plain subscriptions: merged per
    // session.
    std::size_t delivered = 0;
    auto plain_end = std::partition(targets.begin(), targets.end(),
                                    [](const target& t) { return t.group == nullptr; });
    for (auto it = plain_end; it != targets.end(); ++it) {
        delivery d;
        d.msg = msg;
        d.qos_level = std::min(msg->qos_level(), it->rec.options.max_qos);
        d.retain = it->rec.options.retain_as_published && msg->retain();
        d.share = it->group->share;
        if (it->rec.subscription_id) d.subscription_ids.push_back(it->rec.subscription_id);
        offer(it->s, std::move(d));
        ++delivered;
    }

    const void* origin = msg->origin();
    std::sort(targets.begin(), plain_end, [](const target& a, const target& b) {
        return std::less<const session*>{}(a.s, b.s);
    });
    for (auto it = targets.begin(); it != plain_end;) {
        session* s = it->s;
        delivery d;
        bool any = false;
        for (; it != plain_end && it->s == s; ++it) {
            const auto& rec = it->rec;
            if (rec.options.no_local && origin == s) continue;
            mqtt::qos q = std::min(msg->qos_level(), rec.options.max_qos);
            if (!any || q > d.qos_level) d.qos_level = q;
            if (rec.options.retain_as_published && msg->retain()) d.retain = true;
            if (rec.subscription_id) d.subscription_ids.push_back(rec.subscription_id);
            any = true;
        }
        if (!any) continue;
        d.msg = msg;
        offer(s, std::move(d));
        ++delivered;
    }
    return delivered + skip.skipped;
}

const router::shared_group* router::find_group(std::string_view share) const {
    auto parts = mqtt::parse_topic_filter(share);
    if (!parts || !parts->shared) return nullptr;
    std::vector<std::string_view> levels;
    split_levels(parts->filter, levels);
    const node* n = find(levels);
    if (!n) return nullptr;
    for (const auto& g : n->groups)
        if (g->name == parts->group) return g.get();
    return nullptr;
}

router::share_state router::share_state_of(std::string_view share) const {
    std::shared_lock lock(mu_);
    share_state out;
    const shared_group* g = find_group(share);
    if (!g) return out;
    out.exists = true;
    out.backlog = g->backlog;
    out.all_offline = !g->members.empty() &&
                      std::all_of(g->members.begin(), g->members.end(), [](const subscriber& m) {
                          return !m.s->online() && m.s->persistent();
                      });
    return out;
}

bool router::set_share_backlog(std::shared_ptr<share_backlog> b) {
    std::unique_lock lock(mu_);
    auto* g = const_cast<shared_group*>(find_group(b->share));  // under the exclusive lock
    if (!g || g->backlog) return false;
    g->backlog = std::move(b);
    return true;
}

bool router::share_members(const share_backlog& b, std::vector<share_member>& out) const {
    std::shared_lock lock(mu_);
    const shared_group* g = find_group(b.share);
    if (!g || g->backlog.get() != &b) return false;
    for (const auto& m : g->members) out.push_back({m.s, m.rec});
    return true;
}

bool router::redeliver_shared(delivery d, const session* leaving, const queue_limits& limits) {
    auto parts = mqtt::parse_topic_filter(d.share);
    if (!parts || !parts->shared) return false;
    std::vector<std::string_view> levels;
    split_levels(parts->filter, levels);
    read_section reading;
    subscriber picked{};
    {
        std::shared_lock lock(mu_);
        const node* n = find(levels);
        if (!n) return false;
        const subscriber* m = nullptr;
        for (const auto& g : n->groups)
            if (g->name == parts->group) {
                m = pick_member(*g, leaving);
                break;
            }
        if (!m) return false;
        picked = *m;
    }
    d.qos_level = std::min(d.msg->qos_level(), picked.rec.options.max_qos);
    d.subscription_ids.clear();
    if (picked.rec.subscription_id) d.subscription_ids.push_back(picked.rec.subscription_id);
    count(picked.s->offer(std::move(d), limits), nullptr);
    return true;
}

}  // namespace sluice::broker

#include "kafka/group_coordinator.hpp"

#include <algorithm>

namespace sluice::kafka {

const char* to_string(group_state s) {
    switch (s) {
        case group_state::empty:
            return "Empty";
        case group_state::preparing_rebalance:
            return "PreparingRebalance";
        case group_state::completing_rebalance:
            return "CompletingRebalance";
        case group_state::stable:
            return "Stable";
        case group_state::dead:
            return "Dead";
    }
    return "Unknown";
}

struct group_coordinator::member {
    std::string id;
    std::string client_id;
    std::string client_host;
    std::int32_t session_timeout_ms = 0;
    std::int32_t rebalance_timeout_ms = 0;
    std::vector<join_group_request::protocol> protocols;
    byte_buffer assignment;
    time_ms session_deadline = 0;
    std::optional<std::uint64_t> join_token;  // a JoinGroup waiting for the rebalance
    std::optional<std::uint64_t> sync_token;  // a SyncGroup waiting for the leader

    const byte_buffer* metadata_for(const std::string& protocol) const {
        for (const auto& p : protocols)
            if (p.name == protocol) return &p.metadata;
        return nullptr;
    }
};

struct group_coordinator::group {
    std::string id;
    group_state state = group_state::empty;
    std::int32_t generation = 0;
    std::string protocol_type;
    std::string protocol;  // chosen at the end of the last join phase
    std::string leader;
    std::vector<member> members;             // in joining order: the first is the default leader
    std::map<std::string, time_ms> pending;  // ids handed out with MEMBER_ID_REQUIRED
    time_ms rebalance_deadline = 0;          // PreparingRebalance: complete by then anyway
    time_ms earliest_completion = 0;         // PreparingRebalance: not before (initial delay)

    member* find(const std::string& member_id) {
        for (auto& m : members)
            if (m.id == member_id) return &m;
        return nullptr;
    }
    bool all_joined() const {
        if (!pending.empty()) return false;
        return std::all_of(members.begin(), members.end(),
                           [](const member& m) { return m.join_token.has_value(); });
    }
};

namespace {

join_group_response join_error(error_code e, const std::string& member_id = {}) {
    join_group_response r;
    r.error = e;
    r.member_id = member_id;
    return r;
}

sync_group_response sync_error(error_code e) {
    sync_group_response r;
    r.error = e;
    return r;
}

bool same_protocols(const std::vector<join_group_request::protocol>& a,
                    const std::vector<join_group_request::protocol>& b) {
    return a == b;
}

}  // namespace

group_coordinator::group_coordinator(group_config config) : config_(std::move(config)) {}
group_coordinator::~group_coordinator() = default;

group_coordinator::group* group_coordinator::find(const std::string& id) {
    auto it = groups_.find(id);
    return it == groups_.end() ? nullptr : it->second.get();
}
const group_coordinator::group* group_coordinator::find(const std::string& id) const {
    auto it = groups_.find(id);
    return it == groups_.end() ? nullptr : it->second.get();
}

bool group_coordinator::supports_common_protocol(const group& g,
                                                 const join_group_request& req) const {
    for (const auto& p : req.protocols) {
        bool everyone = std::all_of(g.members.begin(), g.members.end(), [&](const member& m) {
            return m.id == req.member_id || m.metadata_for(p.name) != nullptr;
        });
        if (everyone) return true;
    }
    return false;
}

std::string group_coordinator::select_protocol(const group& g) const {
    // Candidates: protocols every member supports, in the first member's order of preference.
    std::vector<std::string> candidates;
    for (const auto& p : g.members.front().protocols) {
        bool everyone = std::all_of(g.members.begin(), g.members.end(),
                                    [&](const member& m) { return m.metadata_for(p.name); });
        if (everyone) candidates.push_back(p.name);
    }
    if (candidates.empty()) return {};
    // Each member votes for the candidate it lists first; most votes wins, ties go to the
    // earlier candidate.
    std::vector<int> votes(candidates.size(), 0);
    for (const auto& m : g.members) {
        for (const auto& p : m.protocols) {
            auto it = std::find(candidates.begin(), candidates.end(), p.name);
            if (it != candidates.end()) {
                ++votes[static_cast<std::size_t>(it - candidates.begin())];
                break;
            }
        }
    }
    auto best = std::max_element(votes.begin(), votes.end());
    return candidates[static_cast<std::size_t>(best - votes.begin())];
}

join_group_response group_coordinator::join_response(const group& g, const member& m) const {
    join_group_response r;
    r.generation_id = g.generation;
    r.protocol_name = g.protocol;
    r.leader = g.leader;
    r.member_id = m.id;
    if (m.id == g.leader) {
        for (const auto& x : g.members) {
            const byte_buffer* md = x.metadata_for(g.protocol);
            r.members.push_back({x.id, std::nullopt, md ? *md : byte_buffer{}});
        }
    }
    return r;
}

void group_coordinator::join(std::uint64_t token, const join_group_request& req,
                             const join_context& ctx, time_ms now, group_events& out) {
    auto answer = [&](join_group_response r) { out.joins.push_back({token, std::move(r)}); };
    if (req.group_id.empty()) return answer(join_error(error_code::invalid_group_id));
    if (req.session_timeout_ms < config_.min_session_timeout_ms ||
        req.session_timeout_ms > config_.max_session_timeout_ms)
        return answer(join_error(error_code::invalid_session_timeout, req.member_id));
    if (req.protocol_type.empty() || req.protocols.empty())
        return answer(join_error(error_code::inconsistent_group_protocol, req.member_id));

    group* g = find(req.group_id);
    if (!g) {
        if (!req.member_id.empty())
            return answer(join_error(error_code::unknown_member_id, req.member_id));
        auto fresh = std::make_unique<group>();
        fresh->id = req.group_id;
        g = fresh.get();
        groups_.emplace(req.group_id, std::move(fresh));
    }
    if (g->state == group_state::dead)
        return answer(join_error(error_code::coordinator_not_available, req.member_id));
    if (!g->members.empty() &&
        (req.protocol_type != g->protocol_type || !supports_common_protocol(*g, req)))
        return answer(join_error(error_code::inconsistent_group_protocol, req.member_id));

    auto add_member = [&](const std::string& id) {
        member m;
        m.id = id;
        m.client_id = ctx.client_id;
        m.client_host = ctx.client_host;
        m.session_timeout_ms = req.session_timeout_ms;
        // JoinGroup v0 has no rebalance timeout: it is the session timeout.
        m.rebalance_timeout_ms =
            req.rebalance_timeout_ms > 0 ? req.rebalance_timeout_ms : req.session_timeout_ms;
        m.protocols = req.protocols;
        m.session_deadline = now + m.session_timeout_ms;
        m.join_token = token;
        if (g->members.empty()) g->protocol_type = req.protocol_type;
        g->members.push_back(std::move(m));
        if (g->state == group_state::preparing_rebalance)
            maybe_complete_join(*g, now, out);
        else
            prepare_rebalance(*g, now, out);
    };

    if (req.member_id.empty()) {
        std::string id = (ctx.client_id.empty() ? std::string("member") : ctx.client_id) + "-" +
                         config_.instance_tag + "-" + std::to_string(next_member_++);
        if (ctx.version >= 4) {
            // The client must come back with this id: a member that never does cannot hold
            // up a rebalance for longer than its session timeout.
            g->pending[id] = now + req.session_timeout_ms;
            return answer(join_error(error_code::member_id_required, id));
        }
        return add_member(id);
    }
    if (auto p = g->pending.find(req.member_id); p != g->pending.end()) {
        g->pending.erase(p);
        return add_member(req.member_id);
    }
    member* m = g->find(req.member_id);
    if (!m) return answer(join_error(error_code::unknown_member_id, req.member_id));

    bool changed = !same_protocols(m->protocols, req.protocols);
    m->protocols = req.protocols;
    m->session_timeout_ms = req.session_timeout_ms;
    if (req.rebalance_timeout_ms > 0) m->rebalance_timeout_ms = req.rebalance_timeout_ms;
    m->client_id = ctx.client_id;
    m->client_host = ctx.client_host;
    m->session_deadline = now + m->session_timeout_ms;
    switch (g->state) {
        case group_state::preparing_rebalance:
            if (m->join_token)  // a retried JoinGroup replaces the earlier one
                out.joins.push_back(
                    {*m->join_token, join_error(error_code::rebalance_in_progress, m->id)});
            m->join_token = token;
            maybe_complete_join(*g, now, out);
            return;
        case group_state::completing_rebalance:
            if (!changed) return answer(join_response(*g, *m));
            m->join_token = token;
            prepare_rebalance(*g, now, out);
            return;
        case group_state::stable:
            if (!changed && m->id != g->leader) return answer(join_response(*g, *m));
            // The leader rejoining means it wants a new assignment (e.g. topics changed).
            m->join_token = token;
            prepare_rebalance(*g, now, out);
            return;
        case group_state::empty:
        case group_state::dead:
            break;
    }
    answer(join_error(error_code::unknown_member_id, req.member_id));
}

void group_coordinator::prepare_rebalance(group& g, time_ms now, group_events& out) {
    if (g.state == group_state::completing_rebalance) {
        for (auto& m : g.members) {
            if (m.sync_token) {
                out.syncs.push_back({*m.sync_token, sync_error(error_code::rebalance_in_progress)});
                m.sync_token.reset();
            }
        }
    }
    bool was_empty = g.state == group_state::empty;
    std::int32_t timeout = 0;
    for (const auto& m : g.members) timeout = std::max(timeout, m.rebalance_timeout_ms);
    g.state = group_state::preparing_rebalance;
    g.rebalance_deadline = now + timeout;
    // A group forming from nothing waits a little so that consumers started together land
    // in one generation instead of one rebalance each.
    g.earliest_completion =
        was_empty ? now + std::min(config_.initial_rebalance_delay_ms, timeout) : now;
    maybe_complete_join(g, now, out);
}

void group_coordinator::maybe_complete_join(group& g, time_ms now, group_events& out) {
    if (g.state != group_state::preparing_rebalance) return;
    if ((g.all_joined() && now >= g.earliest_completion) || now >= g.rebalance_deadline)
        complete_join(g, now, out);
}

void group_coordinator::complete_join(group& g, time_ms now, group_events& out) {
    // Members that did not rejoin in time are out; so are ids never claimed.
    std::erase_if(g.members, [](const member& m) { return !m.join_token; });
    g.pending.clear();
    ++g.generation;
    if (g.members.empty()) {
        g.state = group_state::empty;
        g.protocol.clear();
        g.leader.clear();
        return;
    }
    g.protocol = select_protocol(g);
    if (!g.find(g.leader)) g.leader = g.members.front().id;
    g.state = group_state::completing_rebalance;
    for (auto& m : g.members) {
        m.assignment.clear();
        m.session_deadline = now + m.session_timeout_ms;
        out.joins.push_back({*m.join_token, join_response(g, m)});
        m.join_token.reset();
    }
}

void group_coordinator::sync(std::uint64_t token, const sync_group_request& req, time_ms now,
                             group_events& out) {
    auto answer = [&](sync_group_response r) { out.syncs.push_back({token, std::move(r)}); };
    group* g = find(req.group_id);
    if (!g) return answer(sync_error(error_code::unknown_member_id));
    if (g->state == group_state::dead)
        return answer(sync_error(error_code::coordinator_not_available));
    member* m = g->find(req.member_id);
    if (!m) return answer(sync_error(error_code::unknown_member_id));
    if (req.generation_id != g->generation)
        return answer(sync_error(error_code::illegal_generation));
    switch (g->state) {
        case group_state::preparing_rebalance:
            return answer(sync_error(error_code::rebalance_in_progress));
        case group_state::completing_rebalance: {
            m->session_deadline = now + m->session_timeout_ms;
            if (m->sync_token)
                out.syncs.push_back(
                    {*m->sync_token, sync_error(error_code::rebalance_in_progress)});
            m->sync_token = token;
            if (m->id != g->leader) return;  // waits for the leader's assignment
            for (auto& x : g->members) {
                x.assignment.clear();
                for (const auto& a : req.assignments)
                    if (a.member_id == x.id) x.assignment = a.assignment;
            }
            g->state = group_state::stable;
            for (auto& x : g->members) {
                if (!x.sync_token) continue;
                sync_group_response r;
                r.assignment = x.assignment;
                out.syncs.push_back({*x.sync_token, std::move(r)});
                x.sync_token.reset();
            }
            return;
        }
        case group_state::stable: {
            m->session_deadline = now + m->session_timeout_ms;
            sync_group_response r;
            r.assignment = m->assignment;
            return answer(std::move(r));
        }
        case group_state::empty:
        case group_state::dead:
            break;
    }
    answer(sync_error(error_code::unknown_member_id));
}

error_code group_coordinator::heartbeat(const heartbeat_request& req, time_ms now) {
    group* g = find(req.group_id);
    if (!g) return error_code::unknown_member_id;
    if (g->state == group_state::dead) return error_code::coordinator_not_available;
    member* m = g->find(req.member_id);
    if (!m) return error_code::unknown_member_id;
    if (req.generation_id != g->generation) return error_code::illegal_generation;
    m->session_deadline = now + m->session_timeout_ms;
    if (g->state == group_state::preparing_rebalance) return error_code::rebalance_in_progress;
    return error_code::none;
}

error_code group_coordinator::leave(const leave_group_request& req, time_ms now,
                                    group_events& out) {
    group* g = find(req.group_id);
    if (!g) return error_code::unknown_member_id;
    if (g->state == group_state::dead) return error_code::coordinator_not_available;
    if (g->pending.erase(req.member_id) > 0) {
        maybe_complete_join(*g, now, out);
        return error_code::none;
    }
    if (!g->find(req.member_id)) return error_code::unknown_member_id;
    remove_member(*g, req.member_id, now, out);
    return error_code::none;
}

void group_coordinator::remove_member(group& g, const std::string& member_id, time_ms now,
                                      group_events& out) {
    member* m = g.find(member_id);
    if (!m) return;
    if (m->join_token)
        out.joins.push_back({*m->join_token, join_error(error_code::unknown_member_id, member_id)});
    if (m->sync_token)
        out.syncs.push_back({*m->sync_token, sync_error(error_code::unknown_member_id)});
    std::erase_if(g.members, [&](const member& x) { return x.id == member_id; });
    switch (g.state) {
        case group_state::stable:
        case group_state::completing_rebalance:
            prepare_rebalance(g, now, out);
            break;
        case group_state::preparing_rebalance:
            maybe_complete_join(g, now, out);
            break;
        case group_state::empty:
        case group_state::dead:
            break;
    }
}

error_code group_coordinator::check_commit(const std::string& group_id, std::int32_t generation,
                                           const std::string& member_id, time_ms now) {
    group* g = find(group_id);
    if (!g) return generation < 0 ? error_code::none : error_code::illegal_generation;
    if (g->state == group_state::dead) return error_code::coordinator_not_available;
    if (generation < 0 && member_id.empty() && g->state == group_state::empty)
        return error_code::none;
    member* m = g->find(member_id);
    if (!m) return error_code::unknown_member_id;
    if (generation != g->generation) return error_code::illegal_generation;
    // Commits during PreparingRebalance are allowed: consumers commit what they processed
    // before rejoining. Between join and sync the generation's assignment is not known yet.
    if (g->state == group_state::completing_rebalance) return error_code::rebalance_in_progress;
    m->session_deadline = now + m->session_timeout_ms;
    return error_code::none;
}

void group_coordinator::tick(time_ms now, group_events& out) {
    for (auto& [id, gp] : groups_) {
        group& g = *gp;
        std::erase_if(g.pending, [&](const auto& p) { return p.second <= now; });
        std::vector<std::string> expired;
        for (const auto& m : g.members)
            if (!m.join_token && m.session_deadline <= now) expired.push_back(m.id);
        for (const auto& mid : expired) remove_member(g, mid, now, out);
        maybe_complete_join(g, now, out);
    }
}

std::optional<time_ms> group_coordinator::next_deadline() const {
    std::optional<time_ms> best;
    auto consider = [&](time_ms t) {
        if (!best || t < *best) best = t;
    };
    for (const auto& [id, gp] : groups_) {
        const group& g = *gp;
        for (const auto& [mid, t] : g.pending) consider(t);
        for (const auto& m : g.members)
            if (!m.join_token) consider(m.session_deadline);
        if (g.state == group_state::preparing_rebalance) {
            consider(g.rebalance_deadline);
            if (g.all_joined()) consider(g.earliest_completion);
        }
    }
    return best;
}

describe_groups_response::group group_coordinator::describe(const std::string& group_id) const {
    describe_groups_response::group d;
    d.group_id = group_id;
    const group* g = find(group_id);
    if (!g) {
        d.group_state = to_string(group_state::dead);
        return d;
    }
    d.group_state = to_string(g->state);
    d.protocol_type = g->protocol_type;
    bool settled = g->state == group_state::stable || g->state == group_state::completing_rebalance;
    if (settled) d.protocol_data = g->protocol;
    for (const auto& m : g->members) {
        describe_groups_response::member x;
        x.member_id = m.id;
        x.client_id = m.client_id;
        x.client_host = m.client_host;
        if (settled) {
            if (const byte_buffer* md = m.metadata_for(g->protocol)) x.member_metadata = *md;
        }
        if (g->state == group_state::stable) x.member_assignment = m.assignment;
        d.members.push_back(std::move(x));
    }
    return d;
}

std::vector<list_groups_response::group> group_coordinator::list() const {
    std::vector<list_groups_response::group> out;
    for (const auto& [id, g] : groups_) out.push_back({id, g->protocol_type});
    return out;
}

error_code group_coordinator::remove(const std::string& group_id) {
    auto it = groups_.find(group_id);
    if (it == groups_.end()) return error_code::group_id_not_found;
    if (it->second->state != group_state::empty) return error_code::non_empty_group;
    groups_.erase(it);
    return error_code::none;
}

std::optional<group_state> group_coordinator::state(const std::string& group_id) const {
    const group* g = find(group_id);
    if (!g) return std::nullopt;
    return g->state;
}

std::int32_t group_coordinator::generation(const std::string& group_id) const {
    const group* g = find(group_id);
    return g ? g->generation : -1;
}

}  // namespace sluice::kafka

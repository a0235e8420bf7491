#include "broker/session_log.hpp"
#include "broker/internal_topic.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <unordered_map>

#include "broker/durable_log.hpp"
#include "broker/log.hpp"
#include "store/batch_builder.hpp"

namespace sluice::broker {

namespace {

std::vector<std::shared_ptr<append_outcome>>& pending() {
    thread_local std::vector<std::shared_ptr<append_outcome>> v;
    return v;
}

std::shared_ptr<store::partition> open_topic(store::store& s, std::string_view name,
                                             std::string& error) {
    const std::string topic(name);
    store::log_config cfg;
    cfg.cleanup = store::cleanup_policy::compact;
    cfg.retention_ms = -1;
    cfg.retention_bytes = -1;
    cfg.flush = store::durability::always;
    if (!ensure_internal_topic(s, topic, 1, cfg, error)) return nullptr;
    auto p = s.get(topic, 0);
    if (!p) error = "cannot open " + topic;
    return p;
}

}  // namespace

std::unique_ptr<session_log> session_log::open(store::store& s, std::string& error) {
    auto sessions = open_topic(s, sessions_topic, error);
    if (!sessions) return nullptr;
    auto queue = open_topic(s, session_queue_topic, error);
    if (!queue) return nullptr;
    return std::unique_ptr<session_log>(new session_log(std::move(sessions), std::move(queue)));
}

void session_log::append(store::partition& p, const store::record& r,
                         std::shared_ptr<append_outcome> outcome) {
    store::batch_builder b(store::compression::none);
    if (r.value)
        b.add(r.timestamp, r.key, std::string_view(*r.value), r.headers);
    else
        b.add(r.timestamp, r.key, std::nullopt, r.headers);
    auto batch = b.build();
    if (!batch) {
        if (outcome) outcome->finish(mqtt::reason_code::unspecified_error);
        return;
    }
    p.append(std::move(*batch), [outcome = std::move(outcome)](const store::append_result& res) {
        if (res.error != store::errc::ok)
            log_warn("a session record could not be written: ", store::to_string(res.error));
        if (outcome)
            outcome->finish(res.error == store::errc::ok ? mqtt::reason_code::success
                                                         : failure_reason(res.error));
    });
}

std::shared_ptr<append_outcome> session_log::save(session& s,
                                                  const mqtt::will_message* connection_will) {
    auto outcome = std::make_shared<append_outcome>();
    const auto now = wall_ms();
    std::lock_guard lock(write_mu_);
    store::record r;
    r.timestamp = now;
    r.key = s.client_id;
    if (s.persistent()) r.value = encode_session(s.snapshot(now, connection_will));
    append(*sessions_, r, outcome);
    return outcome;
}

void session_log::erase(const std::string& client_id, const std::vector<std::uint64_t>& seqs,
                        bool with_state, const std::vector<log_cursor>& cursors) {
    const auto now = wall_ms();
    if (with_state) {
        std::lock_guard lock(write_mu_);
        store::record r;
        r.timestamp = now;
        r.key = client_id;
        append(*sessions_, r, nullptr);
    }
    if (seqs.empty() && cursors.empty()) return;
    store::batch_builder b(store::compression::none);
    for (auto seq : seqs) b.add(now, std::string_view(queue_key(client_id, seq)), std::nullopt);
    for (const auto& c : cursors) b.add(now, std::string_view(cursor_key(client_id, c)), std::nullopt);
    if (auto batch = b.build()) queue_->append(std::move(*batch), [](const store::append_result&) {});
}

std::uint64_t session_log::queued(const std::string& client_id, const delivery& d) {
    const std::uint64_t seq = next_seq_.fetch_add(1, std::memory_order_relaxed);
    auto outcome = std::make_shared<append_outcome>();
    append(*queue_, delivery_to_record(client_id, seq, d, steady_clock::now(), wall_ms()),
           outcome);
    pending().push_back(std::move(outcome));
    return seq;
}

void session_log::done(const std::string& client_id, std::uint64_t seq) {
    store::record r;
    r.timestamp = wall_ms();
    r.key = queue_key(client_id, seq);
    append(*queue_, r, nullptr);
}

void session_log::released(const std::string& client_id, std::uint64_t seq,
                           std::uint16_t packet_id) {
    store::record r = released_to_record(client_id, seq, packet_id);
    r.timestamp = wall_ms();
    auto outcome = std::make_shared<append_outcome>();
    append(*queue_, r, outcome);
    pending().push_back(std::move(outcome));  // the PUBREL waits for it
}

std::shared_ptr<append_outcome> session_log::refilled(const std::string& client_id,
                                                      std::vector<delivery>& ds,
                                                      const log_cursor& cursor) {
    return append_refill(client_id, ds, cursor_record(client_id, cursor));
}

std::shared_ptr<append_outcome> session_log::share_refilled(const std::string& client_id,
                                                            std::vector<delivery>& ds,
                                                            std::string_view share,
                                                            const log_cursor& cursor) {
    return append_refill(client_id, ds, share_cursor_record(share, cursor));
}

std::shared_ptr<append_outcome> session_log::append_refill(const std::string& client_id,
                                                           std::vector<delivery>& ds,
                                                           const store::record& cursor) {
    const auto now = steady_clock::now();
    const auto now_ms = wall_ms();
    store::batch_builder b(store::compression::none);
    auto add = [&](const store::record& r) {
        if (r.value)
            b.add(now_ms, r.key, std::string_view(*r.value), r.headers);
        else
            b.add(now_ms, r.key, std::nullopt, r.headers);
    };
    for (auto& d : ds) {
        if (d.qos_level == mqtt::qos::at_most_once) continue;
        d.persist_seq = next_seq_.fetch_add(1, std::memory_order_relaxed);
        add(delivery_to_record(client_id, d.persist_seq, d, now, now_ms));
    }
    add(cursor);
    return append_batch(b);
}

std::shared_ptr<append_outcome> session_log::append_batch(store::batch_builder& b) {
    auto outcome = std::make_shared<append_outcome>();
    auto batch = b.build();
    if (!batch) {
        outcome->finish(mqtt::reason_code::unspecified_error);
        return outcome;
    }
    queue_->append(std::move(*batch), [outcome](const store::append_result& res) {
        if (res.error != store::errc::ok)
            log_warn("a session backlog record could not be written: ",
                     store::to_string(res.error));
        outcome->finish(res.error == store::errc::ok ? mqtt::reason_code::success
                                                     : failure_reason(res.error));
    });
    return outcome;
}

std::shared_ptr<append_outcome> session_log::save_share(std::string_view share,
                                                        const std::vector<log_cursor>& cursors) {
    if (cursors.empty()) {  // every marker failed: nothing to keep
        auto done = std::make_shared<append_outcome>();
        done->finish(mqtt::reason_code::success);
        return done;
    }
    const auto now_ms = wall_ms();
    store::batch_builder b(store::compression::none);
    for (const auto& c : cursors) {
        const auto r = share_cursor_record(share, c);
        b.add(now_ms, r.key, std::string_view(*r.value), r.headers);
    }
    return append_batch(b);
}

void session_log::erase_share(std::string_view share, const std::vector<log_cursor>& cursors) {
    if (cursors.empty()) return;
    const auto now_ms = wall_ms();
    store::batch_builder b(store::compression::none);
    for (const auto& c : cursors)
        b.add(now_ms, std::string_view(share_cursor_key(share, c)), std::nullopt);
    if (auto batch = b.build()) queue_->append(std::move(*batch), [](const store::append_result&) {});
}

std::map<std::string, std::vector<log_cursor>> session_log::take_restored_shares() {
    return std::exchange(restored_shares_, {});
}

void session_log::wait_for(std::shared_ptr<append_outcome> outcome) {
    pending().push_back(std::move(outcome));
}

std::vector<std::shared_ptr<append_outcome>> session_log::take_pending() {
    std::vector<std::shared_ptr<append_outcome>> out;
    out.swap(pending());
    return out;
}

bool session_log::has_pending() {
    return !pending().empty();
}

std::vector<session_log::replayed> session_log::replay(std::string& error) {
    // Latest record per key (the topics are compacted; the tail is not yet).
    std::unordered_map<std::string, std::optional<std::string>> states;
    auto e = sessions_->for_each_record(sessions_->log_start_offset(), [&](const store::record& r) {
        if (r.key) states[*r.key] = r.value;
        return true;
    });
    if (e != store::errc::ok) {
        error = "cannot read " + std::string(sessions_topic) + ": " + store::to_string(e);
        return {};
    }
    std::unordered_map<std::string, std::map<std::uint64_t, store::record>> queues;
    // Backlog cursors written with refills: the latest per key (-1: erased).
    std::unordered_map<std::string, std::map<std::pair<std::string, int>, std::int64_t>> cursors;
    // Shared groups' backlog cursors: the latest per key (-1: erased).
    std::map<std::string, std::map<std::pair<std::string, int>, std::int64_t>> shares;
    std::uint64_t highest = 0;
    e = queue_->for_each_record(queue_->log_start_offset(), [&](const store::record& r) {
        if (!r.key) return true;
        if (auto c = parse_cursor_record(r)) {
            cursors[c->first][{c->second.log_topic, c->second.partition}] = c->second.next;
            return true;
        }
        if (auto c = parse_share_cursor_record(r)) {
            shares[c->first][{c->second.log_topic, c->second.partition}] = c->second.next;
            return true;
        }
        auto k = parse_queue_key(*r.key);
        if (!k) return true;
        highest = std::max(highest, k->second);
        auto& q = queues[k->first];
        if (r.value)
            q[k->second] = r;
        else
            q.erase(k->second);
        return true;
    });
    if (e != store::errc::ok) {
        error = "cannot read " + std::string(session_queue_topic) + ": " + store::to_string(e);
        return {};
    }
    next_seq_.store(highest + 1);
    restored_shares_.clear();
    for (const auto& [share, of] : shares)
        for (const auto& [where, next] : of)
            if (next >= 0) restored_shares_[share].push_back({where.first, where.second, next});

    const auto now = steady_clock::now();
    const auto now_ms = wall_ms();
    std::vector<replayed> out;
    for (auto& [id, value] : states) {
        if (!value) continue;
        auto st = decode_session(*value);
        if (!st) {
            log_warn("session ", id, ": its record in ", sessions_topic,
                     " is not readable; not restored");
            continue;
        }
        replayed r;
        r.client_id = id;
        r.state = std::move(*st);
        if (auto it = cursors.find(id); it != cursors.end()) {
            // Cursors only move forward: the larger of the snapshot's and the refill's.
            for (const auto& entry : it->second) {
                const auto& topic = entry.first.first;
                const int partition = entry.first.second;
                const std::int64_t next = entry.second;
                if (next < 0) continue;
                auto c = std::find_if(r.state.cursors.begin(), r.state.cursors.end(),
                                      [&](const log_cursor& x) {
                                          return x.log_topic == topic && x.partition == partition;
                                      });
                if (c == r.state.cursors.end())
                    r.state.cursors.push_back({topic, partition, next});
                else
                    c->next = std::max(c->next, next);
            }
        }
        if (auto it = queues.find(id); it != queues.end()) {
            std::vector<std::uint64_t> gone;
            for (auto& [seq, rec] : it->second) {
                auto q = queued_from_record(rec, now, now_ms);
                if (q.what == queued_entry::kind::message)
                    r.messages.push_back({seq, std::move(q.d), 0});
                else if (q.what == queued_entry::kind::released)
                    r.messages.push_back({seq, delivery{}, q.packet_id});
                else
                    gone.push_back(seq);  // expired or unreadable
            }
            queues.erase(it);
            erase(id, gone, false);
        }
        out.push_back(std::move(r));
    }
    // Messages of sessions that ended (their end's tombstones may not have made it).
    for (auto& [id, q] : queues) {
        std::vector<std::uint64_t> gone;
        for (auto& [seq, rec] : q) gone.push_back(seq);
        erase(id, gone, false);
    }
    return out;
}

std::shared_ptr<append_outcome> join_outcomes(std::vector<std::shared_ptr<append_outcome>> parts) {
    std::erase(parts, nullptr);
    if (parts.size() == 1) return parts.front();
    auto joined = std::make_shared<append_outcome>();
    if (parts.empty()) {
        joined->finish(mqtt::reason_code::success);
        return joined;
    }
    struct state {
        std::atomic<std::size_t> left;
        std::atomic<std::uint8_t> failure{0};
    };
    auto st = std::make_shared<state>();
    st->left.store(parts.size());
    for (auto& p : parts)
        p->wait([st, joined](mqtt::reason_code rc) {
            if (mqtt::is_error(rc)) {
                std::uint8_t none = 0;
                st->failure.compare_exchange_strong(none, static_cast<std::uint8_t>(rc));
            }
            if (st->left.fetch_sub(1) == 1) {
                const auto f = st->failure.load();
                joined->finish(f ? static_cast<mqtt::reason_code>(f) : mqtt::reason_code::success);
            }
        });
    return joined;
}

}  // namespace sluice::broker

#include "broker/broker_core.hpp"
#include "broker/internal_topic.hpp"

#include <algorithm>
#include <random>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "broker/backlog_reader.hpp"
#include "broker/durable_log.hpp"
#include "broker/log.hpp"
#include "broker/retained_log.hpp"
#include "broker/version.hpp"

namespace sluice::broker {

namespace asio = boost::asio;

broker_core::broker_core(const config& cfg, io_pool& pool)
    : cfg_(cfg),
      pool_(pool),
      stats_(pool.size()),
      started_at_(steady_clock::now()),
      limits_{cfg.mqtt_opts.max_queued_messages, cfg.mqtt_opts.max_queued_bytes,
              cfg.mqtt_opts.queued_bytes_budget},
      deadline_timer_(std::make_shared<asio::steady_timer>(pool.context(0))) {}

void broker_core::set_backlog_reader(backlog_reader* r) {
    backlog_ = r;
    if (!r) return;
    // The reader's view of a shared group: its members that are online, held alive. Under
    // the registry lock, so a session in the trie has not ended (end_session_locked).
    r->set_share_hooks(
        [this](const share_backlog& b, std::vector<backlog_reader::share_target>& out) {
            std::vector<router::share_member> members;
            std::lock_guard reg(registry_mu_);
            if (!router_.share_members(b, members)) return false;
            for (const auto& m : members) {
                if (!m.s->online()) continue;
                auto it = sessions_.find(std::string_view(m.s->client_id));
                if (it != sessions_.end() && it->get() == m.s) out.push_back({*it, m.rec});
            }
            return true;
        },
        [this](const share_backlog& b) {
            if (session_log_) session_log_->erase_share(b.share, b.cursors());
            log_debug("shared group ", b.share, " is gone: its backlog cursors are erased");
        });
    r->set_summaries([this](const store::partition* p) -> std::shared_ptr<const topic_summary> {
        return log_ ? log_->summary_of(p) : nullptr;
    });
}

void broker_core::set_persistence(retained_log* retained, session_log* sessions) {
    retained_log_ = retained;
    session_log_ = sessions;
    set_session_journal(sessions);
}

std::size_t broker_core::publish(const message_ptr& msg, bool* congested,
                                 std::vector<std::shared_ptr<append_outcome>>* durable,
                                 const std::string& client_id,
                                 std::vector<refused_offer>* refused) {
    if (msg->retain() && settings().retain_available) {
        // $SYS values describe this process: they are not carried into the next one.
        if (retained_log_ && !msg->topic().starts_with("$SYS/")) {
            auto outcome = retained_log_->put(retained_, msg, client_id);
            if (durable) durable->push_back(std::move(outcome));
        } else {
            retained_.put(msg);
        }
    }
    const std::size_t n = router_.route(msg, limits_, congested, refused);
    // Records made for persistent receivers on this thread: the caller waits for them, or
    // nobody does (wills, $SYS).
    if (session_log::has_pending()) {
        auto made = session_log::take_pending();
        if (durable) durable->insert(durable->end(), made.begin(), made.end());
    }
    return n;
}

void broker_core::offer_parked(std::vector<refused_offer>& offers, bool last,
                               std::vector<std::shared_ptr<append_outcome>>* durable) {
    std::erase_if(offers, [&](refused_offer& o) {
        // The session, if it still exists, held here so it cannot end under the offer. A new
        // session of the same id is not the one that subscribed.
        auto s = find_session(o.client_id);
        const bool same = s && s.get() == o.s;
        if (!o.d.share.empty() && (!same || !s->online()))
            if (router_.redeliver_shared(o.d, o.s, limits_) || !same) return true;  // another member
        if (!same) return true;
        return router_.offer_again(*s, std::move(o.d), limits_, !last) !=
               session::offer_result::refused;
    });
    if (session_log::has_pending()) {
        auto made = session_log::take_pending();
        if (durable) durable->insert(durable->end(), made.begin(), made.end());
    }
}

void broker_core::publish_will(mqtt::will_message will) {
    mqtt::publish p;
    p.topic = std::move(will.topic);
    p.payload = std::move(will.payload);
    p.qos_level = will.qos_level;
    p.retain = will.retain;
    p.props = std::move(will.props);
    p.props.will_delay_interval.reset();  // a will property, not a PUBLISH one
    log_debug("publishing will on ", p.topic);
    stats_.add_local(&counter_slot::messages_in, 1);
    publish(make_message(std::move(p), nullptr));
}

std::string broker_core::assign_client_id() {
    thread_local std::mt19937_64 rng{std::random_device{}()};
    char buf[32];
    std::snprintf(buf, sizeof buf, "sluice-%016llx", static_cast<unsigned long long>(rng()));
    return buf;
}

broker_core::opened broker_core::open_session(const std::string& client_id, bool clean_start,
                                              session_owner* owner, std::uint32_t expiry,
                                              const mqtt::will_message* will) {
    std::lock_guard reg(registry_mu_);
    std::shared_ptr<session> existing;
    if (auto it = sessions_.find(std::string_view(client_id)); it != sessions_.end())
        existing = *it;
    if (existing) {
        // A session whose connection asked for expiry 0 lasts only as long as that connection
        // (MQTT-3.1.2-6): a takeover ends it even when the new connection wants to resume.
        const bool resumable = !clean_start && existing->expiry() != 0;
        existing->kick_owner(mqtt::reason_code::session_taken_over, resumable);
        cancel_deadlines_locked(existing.get());
        if (resumable) {
            // Reconnected within the will delay: the delayed will is never sent (MQTT-3.1.3-9).
            existing->attach(owner, /*cancel_will=*/true, expiry);
            if (backlog_ && existing->has_backlog()) backlog_->watch(existing);
            if (backlog_) backlog_->wake();  // its shared groups may have a backlog for it
            return {existing, true, save_session(existing, will)};
        }
        // A new connection within the will delay means no will, even when it starts a clean
        // session and so ends the old one (MQTT-3.1.2-8).
        existing->drop_will();
        end_session_locked(existing);
    }
    auto s = std::make_shared<session>(client_id);
    s->attach(owner, false, expiry);
    // Any previous entry for this id was erased by end_session_locked above.
    sessions_.insert(s);
    return {s, false, save_session(s, will)};
}

std::shared_ptr<append_outcome> broker_core::save_session(const std::shared_ptr<session>& s,
                                                          const mqtt::will_message* will) {
    if (!session_log_ || (!s->persistent() && !s->recorded())) return nullptr;
    return session_log_->save(*s, will);
}

void broker_core::end_session_locked(const std::shared_ptr<session>& s) {
    if (auto it = sessions_.find(std::string_view(s->client_id));
        it != sessions_.end() && *it == s)
        sessions_.erase(it);
    // Out of the trie first (exclusive router lock: no route is mid-offer to it), then no
    // offer can reach it and its queue is final.
    router_.remove_session(*s, s->subscription_filters());
    cancel_deadlines_locked(s.get());
    auto ending = s->end();
    if (session_log_ &&
        (ending.was_recorded || !ending.recorded.empty() || !ending.cursors.empty()))
        session_log_->erase(s->client_id, ending.recorded, ending.was_recorded, ending.cursors);
    // Unacknowledged shared-subscription messages go to another member of their group.
    for (auto& d : ending.orphans)
        router_.redeliver_shared(std::move(d), s.get(), limits_);
    if (session_log::has_pending()) session_log::take_pending();  // nobody waits for these
    if (ending.will) publish_will(std::move(*ending.will));
    log_debug("session ", s->client_id, " ended");
}

bool broker_core::close_session(const std::shared_ptr<session>& s, session_owner* owner,
                                std::unique_ptr<mqtt::will_message>& will, std::uint32_t expiry) {
    // The will either goes out now or waits in the session for its delay; the decision is
    // recorded in the same lock section that detaches us (session::detach), so a resume on
    // another thread cannot slip in between and be undone by a will set after it.
    const std::uint32_t will_delay = will ? will->props.will_delay_interval.value_or(0) : 0;
    const bool delayed = will && will_delay > 0 && expiry > 0;
    std::unique_ptr<mqtt::will_message> none;
    // A persistent session's logged messages wait in the log from now on: a marker per
    // partition, placed as it goes offline (docs/offline-backlog-design.md).
    std::vector<logged_partition> logged;
    std::shared_ptr<offline_cursors> cursors;
    if (expiry != 0 && backlog_ && session_log_ && log_) {
        logged = logged_partitions();
        if (!logged.empty()) cursors = std::make_shared<offline_cursors>();
    }
    auto gen = s->detach(owner, expiry, delayed ? will : none, cursors ? &logged : nullptr, cursors);
    if (!gen) return false;  // taken over: `will` is left to the caller
    if (cursors) {
        // Once every marker reported: the snapshot with the cursors; publishers whose
        // messages they cover wait for it.
        // Once that snapshot is durable, the router may skip the session as part of a covered
        // group (no publisher needs to wait for it any more); on an io thread, so the writer
        // that finished the append takes no broker lock.
        cursors->arm([this, weak = std::weak_ptr<session>(s), c = cursors.get()] {
            auto live = weak.lock();
            if (!live) return c->durable->finish(mqtt::reason_code::success);
            session_log_->save(*live, nullptr)->wait([this, weak, d = c->durable](mqtt::reason_code rc) {
                d->finish(rc);
                if (rc == mqtt::reason_code::success)
                    asio::post(pool_.context(0), [this, weak] { cover_session(weak); });
            });
        });
    }
    // Its shared groups keep their position in the log once all their members are away.
    if (cursors) open_share_backlogs(s->subscription_filters(), logged);
    if (will) publish_will(std::move(*std::exchange(will, nullptr)));
    std::weak_ptr<session> weak = s;
    const auto now = steady_clock::now();
    if (expiry == 0) {
        std::lock_guard reg(registry_mu_);
        if (s->unchanged_since(*gen)) end_session_locked(s);
        return true;
    }
    std::lock_guard reg(registry_mu_);
    if (!s->unchanged_since(*gen)) return true;  // resumed meanwhile: nothing to wait for
    if (delayed) {
        schedule_locked(s.get(), deadline_kind::will,
                        now + std::chrono::seconds(std::min(will_delay, expiry)),
                        [this, weak, g = *gen] { will_due_locked(weak, g); });
    }
    if (expiry != never_expires) {
        schedule_locked(s.get(), deadline_kind::expiry, now + std::chrono::seconds(expiry),
                        [this, weak, g = *gen] {
                            auto s = weak.lock();
                            if (s && s->unchanged_since(g)) end_session_locked(s);
                        });
    }
    // Offline now, with its will and deadlines: what a restart must find (nobody waits).
    save_session(s, nullptr);
    return true;
}

void broker_core::cover_session(const std::weak_ptr<session>& weak) {
    auto s = weak.lock();
    if (!s) return;
    // Under the registry lock, as a SUBSCRIBE: the session cannot end (and leave the trie)
    // while its subscriptions move, so the trie never keeps a pointer to an ended session.
    std::lock_guard reg(registry_mu_);
    auto it = sessions_.find(std::string_view(s->client_id));
    if (it == sessions_.end() || *it != s || s->ended()) return;
    s->settle_backlog();
    router_.cover(*s, s->subscription_filters());
}

void broker_core::open_share_backlogs(const std::vector<std::string>& filters,
                                      const std::vector<logged_partition>& logged) {
    if (std::none_of(filters.begin(), filters.end(),
                     [](const std::string& f) { return f.starts_with("$share/"); }))
        return;
    // The registry lock serialises the members' detaches: of two going offline together, the
    // second sees both offline and opens the backlog, once.
    std::lock_guard reg(registry_mu_);
    for (const auto& f : filters)
        if (f.starts_with("$share/")) open_share_backlog_locked(f, logged);
}

void broker_core::open_share_backlog_locked(const std::string& share,
                                            const std::vector<logged_partition>& logged) {
    if (!backlog_ || !session_log_ || logged.empty()) return;
    const auto st = router_.share_state_of(share);
    if (!st.exists || !st.all_offline || st.backlog) return;
    auto b = std::make_shared<share_backlog>(share);
    if (!router_.set_share_backlog(b)) return;
    // Markers only now that routes see the backlog (share_backlog.hpp): a route that found
    // no mark appended before them.
    auto cursors = b->open(logged);
    cursors->arm([this, share, cursors] {
        // Publishers whose messages the cursors cover wait for this record.
        session_log_->save_share(share, cursors->cursors())
            ->wait([d = cursors->durable](mqtt::reason_code rc) { d->finish(rc); });
    });
    backlog_->watch_share(std::move(b));
    log_debug("shared group ", share, ": every member is offline, its position is kept in the log");
}

void broker_core::restore_share_backlogs(const std::vector<std::string>& shares,
                                         const std::vector<logged_partition>& logged) {
    if (!backlog_ || !session_log_) return;
    for (auto& [share, cursors] : session_log_->take_restored_shares()) {
        auto b = std::make_shared<share_backlog>(share);
        std::vector<std::pair<logged_partition, std::int64_t>> marks;
        for (const auto& where : logged)
            for (const auto& c : cursors)
                if (c.log_topic == where.log_topic && c.partition == where.index)
                    marks.emplace_back(where, c.next);
        b->restore(std::move(marks));
        // No member came back with the restart (the group is gone): its records go.
        if (!router_.set_share_backlog(b)) {
            session_log_->erase_share(share, cursors);
            continue;
        }
        backlog_->watch_share(std::move(b));
    }
    // Groups without a backlog whose members are all offline (all of them, at start) keep
    // their position from here (nothing can race: no connection exists yet).
    for (const auto& share : shares) open_share_backlog_locked(share, logged);
}

void broker_core::will_due_locked(const std::weak_ptr<session>& weak, std::uint32_t generation) {
    auto s = weak.lock();
    if (!s) return;
    auto w = s->take_will_if(generation);
    if (!w) return;
    publish_will(std::move(*w));
    save_session(s, nullptr);  // the will is gone: a restart must not publish it again
}

std::vector<logged_partition> broker_core::logged_partitions() {
    std::vector<logged_partition> out;
    if (!log_) return out;
    for (const auto& rule : log_->rules().rules()) {
        if (!rule.logged) continue;
        if (std::any_of(out.begin(), out.end(),
                        [&](const logged_partition& p) { return p.log_topic == rule.log_topic; }))
            continue;
        for (int i = 0; i < rule.partitions; ++i)
            if (auto p = log_->partition(rule, i)) out.push_back({rule.log_topic, i, std::move(p)});
    }
    return out;
}

std::size_t broker_core::restore_sessions(std::vector<session_log::replayed> all) {
    const auto now = steady_clock::now();
    const std::int64_t now_ms = wall_ms();
    auto at = [&](std::int64_t ms) {
        return now + std::chrono::milliseconds(std::max<std::int64_t>(0, ms - now_ms));
    };
    std::size_t restored = 0;
    std::vector<mqtt::will_message> wills;
    std::optional<std::vector<logged_partition>> logged;  // read once, if a cursor needs it
    std::lock_guard reg(registry_mu_);
    std::vector<std::string> shares;  // the shared groups' filters, each once
    for (auto& r : all) {
        auto& st = r.state;
        // A session that was online when the broker died went offline at the restart.
        if (st.offline_since_ms == 0) st.offline_since_ms = now_ms;
        const bool forever = st.expiry == never_expires;
        const std::int64_t ends_at = st.offline_since_ms + static_cast<std::int64_t>(st.expiry) * 1000;
        if (st.expiry == 0 || (!forever && ends_at <= now_ms)) {
            // Expired while the broker was down: gone, and its will goes out at its end.
            if (st.will) wills.push_back(std::move(*st.will));
            std::vector<std::uint64_t> seqs;
            for (const auto& m : r.messages) seqs.push_back(m.seq);
            if (session_log_) session_log_->erase(r.client_id, seqs, true, st.cursors);
            log_debug("session ", r.client_id, " expired while the broker was down");
            continue;
        }
        if (st.will && st.will_at_ms == 0) {
            // The will of a connection the broker's end cut: its delay counts from the restart.
            const std::uint32_t delay =
                std::min(st.will->props.will_delay_interval.value_or(0), st.expiry);
            st.will_at_ms = st.offline_since_ms + static_cast<std::int64_t>(delay) * 1000;
        }
        auto s = std::make_shared<session>(r.client_id);
        const std::uint32_t gen = s->restore(st, std::move(r.messages));
        if (backlog_ && !st.cursors.empty()) {
            // Its backlog is where its cursors point; every append of this process is after
            // them (ticket 0), since no connection exists yet.
            if (!logged) logged = logged_partitions();
            std::vector<std::pair<logged_partition, std::int64_t>> marks;
            for (auto& where : *logged)
                for (const auto& c : st.cursors)
                    if (c.log_topic == where.log_topic && c.partition == where.index)
                        marks.emplace_back(where, c.next);
            s->restore_backlog(std::move(marks));
        }
        sessions_.insert(s);
        for (const auto& sub : st.subscriptions) {
            router_.subscribe(*s, sub.filter, sub.rec);
            if (sub.filter.starts_with("$share/") &&
                std::find(shares.begin(), shares.end(), sub.filter) == shares.end())
                shares.push_back(sub.filter);
        }
        std::weak_ptr<session> weak = s;
        if (st.will)
            schedule_locked(s.get(), deadline_kind::will, at(st.will_at_ms),
                            [this, weak, gen] { will_due_locked(weak, gen); });
        if (!forever)
            schedule_locked(s.get(), deadline_kind::expiry, at(ends_at), [this, weak, gen] {
                auto s = weak.lock();
                if (s && s->unchanged_since(gen)) end_session_locked(s);
            });
        ++restored;
    }
    if (backlog_ && session_log_) {
        if (!logged) logged = logged_partitions();
        restore_share_backlogs(shares, *logged);
    }
    for (auto& w : wills) publish_will(std::move(w));
    return restored;
}

void broker_core::schedule_locked(const session* s, deadline_kind kind,
                                  steady_clock::time_point when, deadline_queue::callback cb) {
    auto& d = deadline_of_[s];
    auto& h = kind == deadline_kind::expiry ? d.expiry : d.will;
    deadlines_.cancel(h);
    h = deadlines_.schedule(when, std::move(cb));
    if (when < armed_for_) {
        // The timer lives on io thread 0: ask it to re-arm for the earlier deadline.
        armed_for_ = when;
        asio::post(pool_.context(0), [this] { arm_deadline_timer(); });
    }
}

void broker_core::cancel_deadlines_locked(const session* s) {
    auto it = deadline_of_.find(s);
    if (it == deadline_of_.end()) return;
    deadlines_.cancel(it->second.expiry);
    deadlines_.cancel(it->second.will);
    deadline_of_.erase(it);
}

void broker_core::arm_deadline_timer() {
    std::optional<steady_clock::time_point> next;
    {
        std::lock_guard reg(registry_mu_);
        next = deadlines_.next_deadline();
        armed_for_ = next.value_or(steady_clock::time_point::max());
    }
    if (!deadline_timer_) return;
    if (!next) {
        deadline_timer_->cancel();
        return;
    }
    deadline_timer_->expires_at(*next);
    deadline_timer_->async_wait([this, keep = deadline_timer_](const boost::system::error_code& ec) {
        if (!ec) on_deadline_timer();
    });
}

void broker_core::on_deadline_timer() {
    {
        std::lock_guard reg(registry_mu_);
        deadlines_.run_due(steady_clock::now());
        armed_for_ = steady_clock::time_point::max();
    }
    arm_deadline_timer();
}

void broker_core::stop_timers() {
    if (deadline_timer_) deadline_timer_->cancel();
    deadline_timer_.reset();
}

std::size_t broker_core::pending_deadlines() {
    std::lock_guard reg(registry_mu_);
    return deadlines_.size();
}

std::optional<bool> broker_core::subscribe(const std::shared_ptr<session>& s, session_owner* owner,
                                           const std::string& filter,
                                           const subscription_record& rec) {
    // The registry lock keeps the session from ending between the trie and its own list, so
    // the trie never keeps a pointer to an ended session.
    std::lock_guard reg(registry_mu_);
    if (!s->owned_by(owner)) return std::nullopt;
    bool existed = router_.subscribe(*s, filter, rec);
    s->set_subscription(filter, rec);
    return existed;
}

std::optional<bool> broker_core::unsubscribe(const std::shared_ptr<session>& s,
                                             session_owner* owner, const std::string& filter) {
    std::lock_guard reg(registry_mu_);
    if (!s->owned_by(owner)) return std::nullopt;
    bool existed = router_.unsubscribe(*s, filter);
    s->erase_subscription(filter);
    return existed;
}

void broker_core::after(std::chrono::milliseconds delay, std::function<void()> fn) {
    auto timer = std::make_shared<asio::steady_timer>(pool_.context(0), delay);
    timer->async_wait([timer, fn = std::move(fn)](const boost::system::error_code& ec) {
        if (!ec) fn();
    });
}

void broker_core::start() {
    if (settings().sys_interval_s == 0) return;
    after(std::chrono::milliseconds(0), [this] { publish_sys(); });
}

void broker_core::publish_sys() {
    auto put = [this](const std::string& topic, const std::string& value) {
        mqtt::publish p;
        p.topic = "$SYS/broker/" + topic;
        p.retain = true;
        p.payload = mqtt::shared_bytes(std::string_view(value));
        publish(make_message(std::move(p), nullptr));
    };
    auto t = stats_.totals();
    auto uptime =
        std::chrono::duration_cast<std::chrono::seconds>(steady_clock::now() - started_at_);
    put("version", std::string("sluice ") + version);
    put("uptime", std::to_string(uptime.count()) + " seconds");
    put("clients/connected", std::to_string(stats_.clients_connected.load()));
    put("messages/received", std::to_string(t.messages_in));
    put("messages/sent", std::to_string(t.messages_out));
    put("messages/dropped", std::to_string(t.dropped + router_.dropped()));
    put("messages/dropped/budget", std::to_string(session::budget_drops()));
    put("messages/queued/bytes", std::to_string(session::all_queued_bytes()));
    put("bytes/received", std::to_string(t.bytes_in));
    put("bytes/sent", std::to_string(t.bytes_out));
    put("subscriptions/count", std::to_string(router_.subscription_count()));
    put("retained messages/count", std::to_string(retained_.size()));
    after(std::chrono::seconds(settings().sys_interval_s), [this] { publish_sys(); });
}

bool broker_core::reserve_unauthenticated(std::size_t bytes) {
    const std::uint64_t limit = settings().unauthenticated_bytes;
    std::uint64_t now = unauthenticated_.load(std::memory_order_relaxed);
    do {
        if (now + bytes > limit) return false;
    } while (!unauthenticated_.compare_exchange_weak(now, now + bytes, std::memory_order_relaxed));
    return true;
}

void broker_core::release_unauthenticated(std::size_t bytes) {
    unauthenticated_.fetch_sub(bytes, std::memory_order_relaxed);
}

void broker_core::connection_opened() {
    std::lock_guard lock(live_mu_);
    ++live_;
}

void broker_core::connection_closed() {
    std::lock_guard lock(live_mu_);
    if (--live_ == 0) live_cv_.notify_all();
}

bool broker_core::wait_for_connections(std::chrono::milliseconds timeout) {
    std::unique_lock lock(live_mu_);
    return live_cv_.wait_for(lock, timeout, [this] { return live_ == 0; });
}

}  // namespace sluice::broker

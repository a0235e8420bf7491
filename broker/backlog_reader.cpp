#include "broker/backlog_reader.hpp"

#include <algorithm>
#include <chrono>

#include "broker/internal_topic.hpp"
#include "broker/log.hpp"

namespace sluice::broker {

namespace {
// A watched session whose records are not committed yet is looked at again after this, in
// case no commit hook reaches us (a store reopened after a failure has a new hook).
constexpr auto idle_poll = std::chrono::milliseconds(200);
}  // namespace

backlog_reader::backlog_reader(std::size_t max_queued, backlog_limits limits,
                               std::uint64_t step_bytes, std::uint64_t cache_bytes)
    : max_queued_(std::max<std::size_t>(max_queued, 1)),
      limits_(limits),
      chunks_(step_bytes, cache_bytes) {}

backlog_reader::~backlog_reader() { stop(); }

void backlog_reader::start() {
    set_backlog_waker(this);
    thread_ = std::thread([this] { run(); });
}

void backlog_reader::stop() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
    set_backlog_waker(nullptr);
}

void backlog_reader::watch(const std::shared_ptr<session>& s) {
    {
        std::lock_guard lock(mu_);
        if (std::none_of(watched_.begin(), watched_.end(),
                         [&](const std::weak_ptr<session>& w) { return w.lock() == s; }))
            watched_.push_back(s);
        woken_ = true;
    }
    cv_.notify_one();
}

void backlog_reader::set_share_hooks(share_members_fn members, share_gone_fn gone) {
    share_members_ = std::move(members);
    share_gone_ = std::move(gone);
}

void backlog_reader::watch_share(std::shared_ptr<share_backlog> b) {
    {
        std::lock_guard lock(mu_);
        if (std::find(shares_.begin(), shares_.end(), b) == shares_.end())
            shares_.push_back(std::move(b));
        woken_ = true;
    }
    cv_.notify_one();
}

std::size_t backlog_reader::share_backlogs() const {
    std::lock_guard lock(mu_);
    return shares_.size();
}

void backlog_reader::wake() {
    {
        std::lock_guard lock(mu_);
        if (woken_ || (watched_.empty() && shares_.empty())) return;
        woken_ = true;
    }
    cv_.notify_one();
}

void backlog_reader::refill_durable(std::weak_ptr<session> s) {
    {
        std::lock_guard lock(mu_);
        durable_.push_back(std::move(s));
        woken_ = true;
    }
    cv_.notify_one();
}

void backlog_reader::run() {
    std::vector<std::shared_ptr<session>> batch;
    std::vector<std::weak_ptr<session>> released;
    std::vector<std::pair<std::shared_ptr<session>, session::backlog_job>> jobs;
    std::vector<std::shared_ptr<share_backlog>> shares;
    while (true) {
        bool idle = false;
        {
            std::unique_lock lock(mu_);
            idle = !cv_.wait_for(lock, idle_poll, [&] { return woken_ || stopping_; });
            if (stopping_) {
                chunks_.clear();  // the partitions they hold go with the store
                return;
            }
            woken_ = false;
            batch.clear();
            released.swap(durable_);
            // Sessions that went away, ended or have no backlog left leave the set; offline
            // ones too (attach watches them again).
            std::erase_if(watched_, [&](const std::weak_ptr<session>& w) {
                auto s = w.lock();
                if (!s || s->ended() || !s->online() || !s->has_backlog()) return true;
                batch.push_back(std::move(s));
                return false;
            });
            shares = shares_;
        }
        // Nothing happened for a while: the decoded chunks go (memory for nobody). One
        // session alone has nobody to share them with: they are not kept at all.
        if (idle) chunks_.clear();
        chunks_.keep(batch.size() + shares.size() > 1);
        // Refills whose records are durable go to their queues first (no lock held).
        for (auto& w : released)
            if (auto s = w.lock()) s->release_held();
        released.clear();
        // Every session's job first, so that a read knows all the cursors of this pass it
        // can cover (it starts at the lowest one: docs/offline-backlog-design.md).
        jobs.clear();
        for (auto& s : batch) {
            auto job = s->take_backlog_job(max_queued_);
            if (!job) continue;
            for (const auto& c : job->cursors)
                if (c.next < std::min(c.where.partition->high_watermark().value, c.stop))
                    chunks_.expect(c.where.partition, c.next);
            jobs.emplace_back(s, std::move(*job));
        }
        bool moved = false;
        for (auto& [s, job] : jobs) moved = serve(s, job) || moved;
        jobs.clear();
        for (auto& b : shares) moved = serve_share(b) || moved;
        shares.clear();
        chunks_.end_pass();
        reads_.store(chunks_.reads(), std::memory_order_relaxed);
        read_bytes_.store(chunks_.bytes_read(), std::memory_order_relaxed);
        decoded_.store(chunks_.records_decoded(), std::memory_order_relaxed);
        not_ingested_.store(chunks_.records_not_ingested(), std::memory_order_relaxed);
        if (moved) {
            std::lock_guard lock(mu_);
            woken_ = true;  // more may be there: another pass without waiting
        }
    }
}

replay_step backlog_reader::step(const logged_partition& where, const replay_request& req,
                                 const backlog_subscriber& sub, backlog_usage& used) {
    const store::partition& p = *where.partition;
    replay_step out;
    const std::int64_t at = replay_start(p, req.from, req.until, out);
    if (out.done) return out;
    std::int64_t read_until = req.until;
    if (auto summary = summary_of_ ? summary_of_(&p) : nullptr) {
        // Past what none of the filters can match, without reading it; and a read that stops
        // where the summary says the next skip begins. Shared subscriptions never match a
        // session's own backlog (match_backlog).
        std::vector<topic_summary::tokens> filters;
        for (const auto& [filter, rec] : sub.subscriptions)
            if (!filter.starts_with("$share/")) filters.push_back(topic_summary::of_filter(filter));
        const auto sk = summary->skip(at, std::min(req.until, p.high_watermark().value), filters);
        if (sk.next > at) {
            skipped_.fetch_add(static_cast<std::uint64_t>(sk.next - at), std::memory_order_relaxed);
            out.next = sk.next;
            out.done = sk.next >= req.until;
            return out;
        }
        read_until = std::min(read_until, sk.read_until);
    }
    store::errc error = store::errc::ok;
    auto chunk = chunks_.find(where.partition, at, read_until, req.now_ms, error);
    if (!chunk) {
        out.error = error;
        return out;
    }
    replay_request from_start = req;
    from_start.from = at;
    auto selected = select_backlog(*chunk, from_start, sub, limits_, used);
    selected.lost_to_retention = out.lost_to_retention;
    // A session behind the others goes on through the chunks they have read already, in the
    // same refill: it catches up with them (and shares their next read) instead of trailing
    // by one refill's durability wait for ever, out of the kept chunks' reach.
    while (!selected.done && selected.deliveries.size() < req.room &&
           selected.next == chunk->next) {
        chunk = chunks_.kept_at(&p, selected.next);
        if (!chunk) break;
        replay_request more = req;
        more.from = selected.next;
        more.room = req.room - selected.deliveries.size();
        auto next = select_backlog(*chunk, more, sub, limits_, used);
        for (auto& d : next.deliveries) selected.deliveries.push_back(std::move(d));
        selected.over_limits += next.over_limits;
        selected.unreadable += next.unreadable;
        selected.next = next.next;
        selected.done = next.done;
    }
    return selected;
}

bool backlog_reader::serve(const std::shared_ptr<session>& sp, session::backlog_job& job) {
    session& s = *sp;
    bool moved = false;
    std::size_t room = job.room;
    for (auto& c : job.cursors) {
        if (room == 0) break;
        const logged_partition& where = c.where;
        const std::int64_t cursor = c.next;
        const std::int64_t watermark = where.partition->high_watermark().value;
        replay_request req;
        req.from = cursor;
        req.until = std::min(watermark, c.stop);
        req.room = room;
        req.now_ms = wall_ms();
        auto step = this->step(where, req, job.subscriber, job.used);
        if (step.error != store::errc::ok) {
            log_warn("session ", s.client_id, ": cannot read ", where.log_topic, "/",
                     where.index, " at offset ", cursor, ": ", store::to_string(step.error));
            continue;
        }
        if (step.lost_to_retention) {
            lost_.fetch_add(step.lost_to_retention, std::memory_order_relaxed);
            log_warn("session ", s.client_id, ": ", step.lost_to_retention,
                     " record(s) of ", where.log_topic, "/", where.index,
                     " were removed by retention before it read them");
        }
        if (step.over_limits) {
            over_limits_.fetch_add(step.over_limits, std::memory_order_relaxed);
            log_debug("session ", s.client_id, ": ", step.over_limits, " message(s) of ",
                      where.log_topic, "/", where.index, " past the backlog limits skipped");
        }
        if (step.next == cursor && step.deliveries.empty()) continue;
        std::vector<delivery> ds;
        ds.reserve(step.deliveries.size());
        for (auto& [offset, d] : step.deliveries) ds.push_back(std::move(d));
        const std::size_t n = ds.size();
        std::shared_ptr<append_outcome> durable;
        // Caught up: this step reached the watermark it started from.
        const bool caught_up = step.done && n < req.room && req.until == watermark;
        if (!s.refill(job.generation, where.partition.get(), cursor, step.next, std::move(ds),
                      durable, job.used, caught_up))
            break;  // the session moved on (offline, or taken over)
        replayed_.fetch_add(n, std::memory_order_relaxed);
        room = room > n ? room - n : 0;
        moved = true;
        // One refill held at a time per session: the next pass waits for this one.
        if (n > 0) {
            if (durable) {
                durable->wait([this, w = std::weak_ptr<session>(sp)](mqtt::reason_code) {
                    refill_durable(w);
                });
                return false;  // woken by refill_durable
            }
            s.release_held();
        }
    }
    return moved;
}

bool backlog_reader::serve_share(const std::shared_ptr<share_backlog>& b) {
    if (!share_members_ || b->held.load()) return false;  // a held refill's durability wakes us
    auto cursors = b->cursors_behind();
    std::vector<share_target> members;
    auto forget = [&] {
        share_gone_(*b);
        std::lock_guard lock(mu_);
        std::erase(shares_, b);
    };
    if (cursors.empty()) {
        // Nothing to read: only whether the group is still there (its records go with it).
        if (!share_members_(*b, members)) forget();
        return false;
    }
    if (!share_members_(*b, members)) {
        forget();
        return false;
    }
    if (members.empty()) return false;  // nobody online: it waits in the log
    // The next member in turn that has room; the whole step goes to it.
    const std::size_t n = members.size();
    std::optional<session::share_room> room;
    std::size_t picked = 0;
    for (std::size_t k = 0; k < n && !room; ++k) {
        picked = (b->next_member + k) % n;
        room = members[picked].s->take_share_room(max_queued_);
    }
    if (!room) return false;  // each member's queue drains first (backlog_room wakes us)
    b->next_member = picked + 1;
    session& s = *members[picked].s;
    backlog_subscriber sub;
    subscription_record rec = members[picked].rec;
    rec.since_ms = 0;  // the group's stretch starts at its cursor, whoever subscribed when
    rec.options.no_local = false;  // not allowed on a shared subscription (MQTT-3.8.3-4)
    sub.subscriptions.emplace_back(b->filter, rec);
    bool moved = false;
    std::size_t left = room->room;
    for (auto& [where, cursor] : cursors) {
        if (left == 0) break;
        replay_request req;
        req.from = cursor;
        req.until = where.partition->high_watermark().value;
        req.room = left;
        req.now_ms = wall_ms();
        auto step = this->step(where, req, sub, b->used);
        if (step.error != store::errc::ok) {
            log_warn("shared group ", b->share, ": cannot read ", where.log_topic, "/",
                     where.index, " at offset ", cursor, ": ", store::to_string(step.error));
            continue;
        }
        if (step.lost_to_retention) {
            lost_.fetch_add(step.lost_to_retention, std::memory_order_relaxed);
            log_warn("shared group ", b->share, ": ", step.lost_to_retention, " record(s) of ",
                     where.log_topic, "/", where.index,
                     " were removed by retention before it read them");
        }
        over_limits_.fetch_add(step.over_limits, std::memory_order_relaxed);
        if (step.next == cursor && step.deliveries.empty()) continue;
        if (step.done && step.deliveries.size() < req.room) b->used = {};  // caught up
        std::vector<delivery> ds;
        ds.reserve(step.deliveries.size());
        for (auto& [offset, d] : step.deliveries) {
            d.share = b->share;
            ds.push_back(std::move(d));
        }
        const std::size_t count = ds.size();
        std::shared_ptr<append_outcome> durable;
        const log_cursor next{where.log_topic, where.index, step.next};
        if (!s.refill_shared(room->generation, std::move(ds), b->share, next, durable))
            break;  // the member went offline (or holds a refill): another pass picks again
        b->advance(where.partition.get(), cursor, step.next);
        replayed_.fetch_add(count, std::memory_order_relaxed);
        left = left > count ? left - count : 0;
        moved = true;
        if (count > 0) {
            if (durable) {
                // One refill of the group at a time: the member gets it once it is durable.
                b->held.store(true);
                durable->wait([this, b, w = std::weak_ptr<session>(members[picked].s)](
                                  mqtt::reason_code) {
                    b->held.store(false);
                    refill_durable(w);
                });
                return false;
            }
            s.release_held();
        }
    }
    return moved;
}

void backlog_reader::collect_metrics(metrics::family_list& out) const {
    out.counter("sluice_backlog_replayed_total",
                "Messages read back from the log into persistent sessions' queues")
        .add(static_cast<double>(replayed()));
    out.counter("sluice_backlog_lost_total",
                "Records retention removed before a persistent session read them")
        .add(static_cast<double>(lost_to_retention()));
    out.counter("sluice_backlog_over_limits_total",
                "Messages of persistent sessions' backlogs skipped by the backlog limits")
        .add(static_cast<double>(over_limits()));
    out.counter("sluice_backlog_reads_total",
                "Reads of the log by the backlog reader (each shared by every session whose "
                "cursor lies in what it read)")
        .add(static_cast<double>(reads()));
    out.counter("sluice_backlog_read_bytes_total",
                "Bytes of log the backlog reader read for persistent sessions' backlogs")
        .add(static_cast<double>(read_bytes()));
    out.counter("sluice_backlog_decoded_records_total",
                "Log records the backlog reader decoded into messages")
        .add(static_cast<double>(decoded_records()));
    out.counter("sluice_backlog_not_ingested_total",
                "Log records the backlog reader skipped because the broker's MQTT ingest did "
                "not write them (a Kafka producer's records, which only egress rules publish)")
        .add(static_cast<double>(not_ingested_records()));
    out.counter("sluice_backlog_skipped_unread_total",
                "Log offsets the backlog reader passed over without reading: the partition's "
                "topic summary showed no subscriber's filter could match there")
        .add(static_cast<double>(summary_skipped()));
    out.gauge("sluice_backlog_share_groups",
              "Shared subscription groups whose position is kept as cursors into the log")
        .add(static_cast<double>(share_backlogs()));
}

}  // namespace sluice::broker

#include "broker/session.hpp"
#include "broker/internal_topic.hpp"

#include <algorithm>

#include "broker/session_record.hpp"
#include "broker/thread_slots.hpp"
#include "mqtt/topic.hpp"

namespace sluice::broker {

namespace {
// How long a congested receiver may go without progress and still slow its publishers down.
constexpr auto progress_grace = std::chrono::seconds(1);
// Bytes a delivery is counted as, besides its payload, when filling the byte room.
constexpr std::size_t delivery_overhead = 16;

// Every session's queued payload bytes together, for the broker-wide budget (process-wide:
// one broker per process), and the messages that budget dropped.
//
// Counted in one slot per thread (broker/thread_slots.hpp: a publisher adds on its thread, the
// receiver subtracts on its own; a slot may go negative, the sum may not): one shared counter
// made every message bounce a cache line between the io threads and cost about 16% of the
// QoS 0 rate, and a locked add on a slot shared by index cost about 7 ns per message more than
// the plain load and store a slot of its own allows.
struct queued_slot {
    std::atomic<std::int64_t> bytes{0};
};
struct queued_tag {};
using queued_slots = thread_slots<queued_slot, queued_tag>;
std::atomic<std::uint64_t> budget_dropped{0};

void add_to_my_slot(std::int64_t n) {
    auto& b = queued_slots::mine().bytes;
    b.store(b.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

std::uint64_t all_queued_total() {
    std::int64_t sum = 0;
    queued_slots::for_each(
        [&](const queued_slot& slot) { sum += slot.bytes.load(std::memory_order_relaxed); });
    return sum > 0 ? static_cast<std::uint64_t>(sum) : 0;
}

// The budget is about backlogs: a session with only a few messages queued is passing them on,
// and checking the total for it would read every slot for every message.
constexpr std::size_t budget_check_from = 16;

// Where persistent sessions record their messages (session.hpp); set once at start.
std::atomic<session_journal*> journal{nullptr};
// Who refills backlogs (session.hpp); set once at start.
std::atomic<backlog_waker*> waker{nullptr};


// The publisher offering on this thread (session::publishing_as); null: none to wake.
thread_local session_owner* publishing_as_current = nullptr;
// Publishers one session remembers at most; the others come back when their pause ends.
constexpr std::size_t max_waiting_publishers = 1024;

// Tells the journal, outside the session's lock, which recorded deliveries left it.
void journal_done(const std::string& client_id, const std::vector<std::uint64_t>& seqs) {
    if (seqs.empty()) return;
    if (auto* j = journal.load(std::memory_order_acquire))
        for (auto seq : seqs) j->done(client_id, seq);
}

std::size_t delivery_bytes(const delivery& d) {
    return d.msg ? d.msg->payload_size() + d.msg->topic().size() + delivery_overhead
                 : delivery_overhead;
}
}  // namespace

void set_session_journal(session_journal* j) {
    journal.store(j, std::memory_order_release);
}

void set_backlog_waker(backlog_waker* w) {
    waker.store(w, std::memory_order_release);
}

session::rare_fields& session::rare() {
    if (!rare_) rare_ = std::make_unique<rare_fields>();
    return *rare_;
}

bool session::progressing(steady_clock::time_point now) const {
    return now - last_progress_ < progress_grace;
}

session::~session() {
    add_to_my_slot(-static_cast<std::int64_t>(queued_bytes_));
}

std::uint64_t session::all_queued_bytes() {
    return all_queued_total();
}

std::uint64_t session::budget_drops() {
    return budget_dropped.load(std::memory_order_relaxed);
}

void session::add_queued_bytes(std::uint64_t n) {
    queued_bytes_ += n;
    add_to_my_slot(static_cast<std::int64_t>(n));
}

void session::sub_queued_bytes(std::uint64_t n) {
    queued_bytes_ -= n;
    add_to_my_slot(-static_cast<std::int64_t>(n));
}

session::room session::room_for(std::uint64_t bytes, const queue_limits& limits) const {
    if (queue_.size() >= limits.max_messages ||
        (limits.max_bytes && queued_bytes_ + bytes > limits.max_bytes))
        return room::full;
    if (limits.budget_bytes && queue_.size() >= budget_check_from &&
        all_queued_total() + bytes > limits.budget_bytes)
        return room::over_budget;
    return room::fits;
}

void session::count_drop(room why) {
    ++dropped_;
    if (why == room::over_budget) budget_dropped.fetch_add(1, std::memory_order_relaxed);
}

bool session::fits_limits(std::uint64_t bytes, const queue_limits& limits) {
    const room r = room_for(bytes, limits);
    if (r == room::fits) return true;
    count_drop(r);
    return false;
}

// --- router side ----------------------------------------------------------------------------

session::publishing_as::publishing_as(session_owner* publisher)
    : previous_(publishing_as_current) {
    publishing_as_current = publisher;
}

session::publishing_as::~publishing_as() { publishing_as_current = previous_; }

void session::note_waiting_publisher() {
    if (!publishing_as_current) return;
    auto p = publishing_as_current->weak_owner();  // made only here, off the common path
    if (p.expired()) return;
    auto& r = rare();
    for (const auto& w : r.waiting_publishers)
        if (!w.owner_before(p) && !p.owner_before(w)) return;  // the same publisher
    if (r.waiting_publishers.size() >= max_waiting_publishers) return;
    if (r.waiting_publishers.empty()) r.wake_publishers_at = queue_.size() / 2;
    r.waiting_publishers.push_back(std::move(p));
}

session::offer_result session::offer(delivery&& d, const queue_limits& limits, bool may_park) {
    std::lock_guard lock(mu_);
    if (ended_) return offer_result::dropped;
    // The clock only when congestion is in question: a read per offer cost ~3% at full speed.
    auto progressing_now = [this] { return progressing(steady_clock::now()); };
    const std::size_t max_queued = limits.max_messages;
    // A subscription with QoS 0 of a session whose QoS 1/2 subscriptions the router skipped as
    // covered: the merged delivery (highest QoS) is the log's, not this copy.
    if (d.qos_level == mqtt::qos::at_most_once && rare_ && rare_->backlog &&
        merged_delivery_covered(d) && covered_by_marks(d.msg->logged()))
        return offer_result::queued;
    if (d.qos_level == mqtt::qos::at_most_once && (!owner_ || owner_saturated_)) {
        ++dropped_;
        // Its publisher's pause ends by its timer only: woken early, a QoS 0 burst into a full
        // send queue is dropped (measured at full speed).
        return owner_ && progressing_now() ? offer_result::dropped_congested
                                          : offer_result::dropped;
    }
    // With cursors: a logged message queued at or after the marker of its partition is in the
    // log past the cursor, online or not; the backlog reader delivers it from there and
    // nothing is stored here (docs/offline-backlog-design.md). Messages through a shared
    // group are not the session's own backlog.
    if (rare_ && rare_->backlog && d.qos_level != mqtt::qos::at_most_once && d.share.empty() &&
        d.msg && d.msg->logged().partition && covered_by_marks(d.msg->logged()))
        return offer_result::queued;
    const std::uint64_t bytes = d.msg ? d.msg->payload_size() : 0;
    if (const room r = room_for(bytes, limits); r != room::fits) {
        const bool progressing = owner_ && progressing_now();
        // A connected receiver that is taking its messages, only slower than they come: the
        // publisher holds this one back and offers it again (no loss for a transient stall).
        if (progressing && d.qos_level != mqtt::qos::at_most_once) note_waiting_publisher();
        if (r == room::full && progressing && may_park && d.qos_level != mqtt::qos::at_most_once)
            return offer_result::refused;
        count_drop(r);
        return progressing ? offer_result::dropped_congested : offer_result::dropped;
    }
    // A persistent session's QoS 1/2 message is recorded before it can be taken (and so
    // acknowledged): the record's tombstone always follows it. Nothing for other sessions.
    d.persist_seq = 0;
    if (expiry_interval_ != 0 && d.qos_level != mqtt::qos::at_most_once)
        if (auto* j = journal.load(std::memory_order_relaxed)) d.persist_seq = j->queued(client_id, d);
    add_queued_bytes(bytes);
    const mqtt::qos d_qos = d.qos_level;
    queue_.push_back(std::move(d));
    if (!owner_) return offer_result::queued;
    if (!wake_posted_) {
        wake_posted_ = true;
        owner_->wake();
    }
    if (queue_.size() > max_queued / 2 && progressing_now()) {
        if (d_qos != mqtt::qos::at_most_once) note_waiting_publisher();
        return offer_result::congested;
    }
    return offer_result::queued;
}

bool session::covered_by_marks(const log_position& at) {
    auto& b = *rare_->backlog;
    for (const auto& m : b.marks) {
        if (m.where.partition != at.partition) continue;
        if (at.ticket < m.from) return false;  // raced the disconnect: queued
        ++b.covered;
        // No PUBACK before the cursor that covers it is durable.
        if (m.source && !m.source->durable->finished())
            if (auto* j = journal.load(std::memory_order_relaxed)) j->wait_for(m.source->durable);
        return true;
    }
    return false;
}

bool session::merged_delivery_covered(const delivery& d) const {
    if (!d.share.empty() || !d.msg || d.msg->qos_level() == mqtt::qos::at_most_once ||
        !d.msg->logged().partition)
        return false;
    const void* origin = d.msg->origin();
    for (const auto& [filter, rec] : rare_->subscriptions) {
        if (rec.options.max_qos == mqtt::qos::at_most_once) continue;
        if (rec.options.no_local && origin == this) continue;
        if (filter.starts_with("$share/")) continue;  // its own delivery, never covered
        if (mqtt::topic_matches(filter, d.msg->topic())) return true;
    }
    return false;
}

// --- owner side -----------------------------------------------------------------------------

session::result session::take_deliveries(const session_owner* me, const take_limits& limits,
                                          bool saturated, std::vector<outgoing>& out,
                                          steady_clock::time_point now) {
    std::vector<std::uint64_t> expired_recorded;
    std::unique_lock lock(mu_);
    if (owner_ != me || ended_) return result::not_owner;
    wake_posted_ = false;
    const std::size_t queued_before = queue_.size();
    std::size_t room = limits.byte_room;
    auto fits = [&](const delivery& d) {
        std::size_t n = delivery_bytes(d);
        if (n > room && !out.empty()) return false;  // always make progress by one
        room = n > room ? 0 : room - n;
        return true;
    };
    if (limits.resend) {
        // Everything inflight goes out again (spec 4.4), but no more at once than the client's
        // window: the rest waits, in order, for acknowledgements.
        for (auto& m : inflight_) m.resend = true;
        inflight_to_resend_ = static_cast<std::uint16_t>(inflight_.size());  // ids: at most 65535
    }
    if (inflight_to_resend_ > 0) {
        std::size_t in_window = inflight_.size() - inflight_to_resend_;
        for (auto& m : inflight_) {
            if (in_window >= limits.window || room == 0) break;
            if (!m.resend) continue;
            if (!fits(m.d)) break;
            // In their original order: PUBLISH again with DUP, or PUBREL again.
            outgoing o;
            o.packet_id = m.packet_id;
            o.pubrel = m.released;
            o.dup = !m.released;
            if (!m.released) o.d = m.d;
            out.push_back(std::move(o));
            m.resend = false;
            --inflight_to_resend_;
            ++in_window;
        }
    }
    std::uint64_t taken_bytes = 0;  // subtracted once: the total is a shared counter
    while (!queue_.empty() && room > 0) {
        delivery& d = queue_.front();
        if (d.msg->expired(now)) {
            taken_bytes += d.msg->payload_size();
            if (d.persist_seq) expired_recorded.push_back(d.persist_seq);
            queue_.pop_front();  // expired messages are never delivered
            continue;
        }
        if (d.qos_level != mqtt::qos::at_most_once && inflight_.size() >= limits.window) break;
        if (!fits(d)) break;
        if (d.qos_level != mqtt::qos::at_most_once) {
            std::uint16_t id = allocate_packet_id();
            if (id == 0) break;
            taken_bytes += d.msg->payload_size();
            outgoing& o = out.emplace_back();
            o.packet_id = id;
            o.dup = d.redelivered;  // restored after a restart: it may have been sent before
            o.d = d;  // the inflight entry keeps its own reference
            inflight_.push_back(inflight_message{id, std::move(d), false, false});
        } else {
            taken_bytes += d.msg->payload_size();
            out.emplace_back().d = std::move(d);  // moved once, straight into place
        }
        queue_.pop_front();
    }
    if (taken_bytes) sub_queued_bytes(taken_bytes);
    owner_saturated_ = saturated || room == 0;
    if (limits.drained || queue_.size() < queued_before) last_progress_ = now;
    const bool room_for_backlog = queue_.size() < queued_before && rare_ && rare_->backlog;
    std::vector<std::weak_ptr<session_owner>> drained_for;
    if (rare_ && !rare_->waiting_publishers.empty() && !owner_saturated_ &&
        queue_.size() <= rare_->wake_publishers_at)
        drained_for.swap(rare_->waiting_publishers);
    lock.unlock();
    // Publishers paused for us go on now, not at the end of their pause (no lock held: each
    // posts to its own thread).
    for (const auto& w : drained_for)
        if (auto p = w.lock()) p->receiver_drained();
    journal_done(client_id, expired_recorded);
    if (room_for_backlog)
        if (auto* w = waker.load(std::memory_order_acquire)) w->backlog_room();
    return result::ok;
}

void session::release_idle_memory(const session_owner* me) {
    std::lock_guard lock(mu_);
    if (owner_ == me) queue_.release();
}

void session::drop_inflight(const session_owner* me, std::uint16_t packet_id) {
    std::vector<std::uint64_t> gone;
    {
        std::lock_guard lock(mu_);
        if (owner_ != me) return;
        auto it = std::find_if(inflight_.begin(), inflight_.end(),
                               [&](const inflight_message& m) { return m.packet_id == packet_id; });
        if (it == inflight_.end()) return;
        if (it->d.persist_seq) gone.push_back(it->d.persist_seq);
        forget_inflight(it);
    }
    journal_done(client_id, gone);
}

std::optional<std::size_t> session::enqueue(const session_owner* me, std::vector<delivery>& ds,
                                            const queue_limits& limits) {
    std::lock_guard lock(mu_);
    if (owner_ != me || ended_) return std::nullopt;
    std::size_t n = 0;
    for (auto& d : ds) {
        const std::uint64_t bytes = d.msg ? d.msg->payload_size() : 0;
        if (!fits_limits(bytes, limits)) continue;
        d.persist_seq = 0;
        if (expiry_interval_ != 0 && d.qos_level != mqtt::qos::at_most_once)
            if (auto* j = journal.load(std::memory_order_relaxed))
                d.persist_seq = j->queued(client_id, d);
        add_queued_bytes(bytes);
        queue_.push_back(std::move(d));
        ++n;
    }
    return n;
}

void session::forget_inflight(inflight_message* it) {
    if (it->resend) --inflight_to_resend_;
    inflight_.erase(it);
}

bool session::ack(const session_owner* me, std::uint16_t packet_id) {
    std::vector<std::uint64_t> gone;
    {
        std::lock_guard lock(mu_);
        if (owner_ != me) return false;
        auto it = std::find_if(inflight_.begin(), inflight_.end(), [&](const inflight_message& m) {
            return m.packet_id == packet_id && m.d.qos_level == mqtt::qos::at_least_once;
        });
        if (it == inflight_.end()) return false;
        if (it->d.persist_seq) gone.push_back(it->d.persist_seq);
        forget_inflight(it);
    }
    journal_done(client_id, gone);
    return true;
}

session::pubrec_result session::release(const session_owner* me, std::uint16_t packet_id,
                                        bool refused) {
    std::uint64_t seq = 0;
    {
        std::lock_guard lock(mu_);
        if (owner_ != me) return pubrec_result::not_owner;
        auto it = std::find_if(inflight_.begin(), inflight_.end(), [&](const inflight_message& m) {
            return m.packet_id == packet_id && m.d.qos_level == mqtt::qos::exactly_once;
        });
        if (it == inflight_.end()) return pubrec_result::unknown_id;
        seq = it->d.persist_seq;
        if (refused) {
            forget_inflight(it);  // the receiver refused it: the exchange ends here
        } else if (!it->released) {
            if (it->resend) --inflight_to_resend_;
            it->resend = false;  // the PUBREL sent now is its retransmission
            it->released = true;
            it->d.msg.reset();  // only the id is needed from now on
        } else {
            seq = 0;  // PUBREC again: already recorded as released
        }
    }
    if (seq)
        if (auto* j = journal.load(std::memory_order_acquire)) {
            if (refused)
                j->done(client_id, seq);
            else
                j->released(client_id, seq, packet_id);
        }
    return refused ? pubrec_result::refused : pubrec_result::released;
}

bool session::complete(const session_owner* me, std::uint16_t packet_id) {
    std::vector<std::uint64_t> gone;
    {
        std::lock_guard lock(mu_);
        if (owner_ != me) return false;
        auto it = std::find_if(inflight_.begin(), inflight_.end(), [&](const inflight_message& m) {
            return m.packet_id == packet_id && m.released;
        });
        if (it == inflight_.end()) return false;
        if (it->d.persist_seq) gone.push_back(it->d.persist_seq);
        forget_inflight(it);
    }
    journal_done(client_id, gone);
    return true;
}

session::qos2_result session::accept_qos2(const session_owner* me, std::uint16_t packet_id,
                                          std::size_t limit, bool remember) {
    std::lock_guard lock(mu_);
    if (owner_ != me) return qos2_result::not_owner;
    if (rare_) {
        auto& ids = rare_->incoming_qos2;
        if (std::find(ids.begin(), ids.end(), packet_id) != ids.end()) return qos2_result::repeat;
        if (ids.size() >= limit) return qos2_result::over_window;
    } else if (limit == 0) {
        return qos2_result::over_window;
    }
    if (remember) rare().incoming_qos2.push_back(packet_id);
    return qos2_result::fresh;
}

std::optional<bool> session::release_qos2(const session_owner* me, std::uint16_t packet_id) {
    std::lock_guard lock(mu_);
    if (owner_ != me) return std::nullopt;
    if (!rare_) return false;
    auto& ids = rare_->incoming_qos2;
    auto it = std::find(ids.begin(), ids.end(), packet_id);
    if (it == ids.end()) return false;
    ids.erase(it);
    return true;
}

bool session::qos2_pending(std::uint16_t packet_id) const {
    std::lock_guard lock(mu_);
    if (!rare_) return false;
    auto& q = rare_->incoming_qos2;
    return std::find(q.begin(), q.end(), packet_id) != q.end();
}

std::size_t session::qos2_pending_count() const {
    std::lock_guard lock(mu_);
    return rare_ ? rare_->incoming_qos2.size() : 0;
}

// --- durable ingest -------------------------------------------------------------------------

bool session::has_producer() const {
    std::lock_guard lock(mu_);
    return rare_ && rare_->producer;
}

std::optional<ingest::delivery_id> session::assign_delivery(
    const session_owner* me, std::string_view log_topic, int partition,
    std::optional<std::int64_t> fresh_producer_id) {
    std::lock_guard lock(mu_);
    if (owner_ != me || ended_) return std::nullopt;
    if (!rare_ || !rare_->producer) {
        if (!fresh_producer_id) return std::nullopt;
        rare().producer = std::make_unique<ingest::session_producer>(*fresh_producer_id);
    }
    return rare_->producer->assign(log_topic, partition);
}

void session::producer_failed(const ingest::delivery_id& failed) {
    std::lock_guard lock(mu_);
    if (!rare_) return;
    auto& producer = rare_->producer;
    if (!producer || producer->producer_id() != failed.producer_id ||
        producer->epoch() != failed.epoch)
        return;
    if (!producer->bump_epoch()) producer.reset();
}

std::shared_ptr<append_outcome> session::find_inbound(const session_owner* me,
                                                      std::uint16_t packet_id) const {
    std::lock_guard lock(mu_);
    if (owner_ != me || !rare_) return nullptr;
    auto& q = rare_->inbound_logged;
    for (auto it = q.end(); it != q.begin();) {
        --it;
        if (it->packet_id == packet_id) return it->outcome;
    }
    return nullptr;
}

void session::remember_inbound(const session_owner* me, std::uint16_t packet_id,
                               std::shared_ptr<append_outcome> outcome, std::size_t keep) {
    std::lock_guard lock(mu_);
    if (owner_ != me) return;
    auto& q = rare().inbound_logged;
    for (auto it = q.begin(); it != q.end(); ++it)
        if (it->packet_id == packet_id) {
            q.erase(it);
            break;
        }
    q.push_back({packet_id, std::move(outcome)});
    while (q.size() > keep && q.front().outcome->finished()) q.pop_front();
}

std::size_t session::inbound_remembered() const {
    std::lock_guard lock(mu_);
    return rare_ ? rare_->inbound_logged.size() : 0;
}

// --- registry side --------------------------------------------------------------------------

std::uint32_t session::expiry() const {
    std::lock_guard lock(mu_);
    return expiry_interval_;
}

void session::attach(session_owner* owner, bool cancel_will, std::uint32_t expiry) {
    std::lock_guard lock(mu_);
    // A new connection of this session fences the appends the old one may still have queued.
    if (rare_ && rare_->producer && !rare_->producer->bump_epoch()) rare_->producer.reset();
    expiry_interval_ = expiry;
    owner_ = owner;
    wake_posted_ = false;
    owner_saturated_ = false;
    online_.store(owner != nullptr, std::memory_order_relaxed);
    ++generation_;
    if (owner) last_progress_ = steady_clock::now();
    if (cancel_will && rare_) rare_->pending_will.reset();
    if (rare_ && rare_->backlog) rare_->backlog->used = {};  // a new replay: limits anew
}

void session::kick_owner(mqtt::reason_code reason, bool session_continues) {
    std::lock_guard lock(mu_);
    if (!owner_) return;
    owner_->kick(reason, session_continues);
    owner_ = nullptr;
    online_.store(false, std::memory_order_relaxed);
    ++generation_;
}

std::optional<std::uint32_t> session::detach(const session_owner* owner, std::uint32_t expiry,
                                             std::unique_ptr<mqtt::will_message>& delayed_will,
                                             const std::vector<logged_partition>* logged,
                                             std::shared_ptr<offline_cursors> cursors) {
    std::lock_guard lock(mu_);
    if (owner_ != owner || !owner) return std::nullopt;
    if (expiry != 0 && logged && cursors) {
        // In the lock section that takes it offline: an offer that saw it online had its
        // append queued before these markers (docs/offline-backlog-design.md). Partitions
        // that have a mark keep it: its cursor is past everything it did not deliver.
        // A mark on an older object of the same partition (the log was reopened after a
        // write failure since it was made) is replaced, so a session never has two cursors
        // into one partition; what it covered carries over (carry_over).
        auto& r = rare();
        if (!r.backlog) r.backlog = std::make_unique<rare_fields::backlog_state>();
        auto& b = *r.backlog;
        rare_fields::resolve(b);
        for (const auto& where : *logged) {
            auto old = std::find_if(b.marks.begin(), b.marks.end(), [&](const auto& m) {
                return m.where.index == where.index && m.where.log_topic == where.log_topic;
            });
            if (old != b.marks.end() && old->where.partition == where.partition) continue;
            cursors->expect_one();
            const auto t = where.partition->mark(
                [cursors, where](const store::partition::mark_result& res) {
                    cursors->reported(where, res);
                });
            rare_fields::backlog_state::mark fresh{where, t, -1, cursors, nullptr};
            if (old == b.marks.end()) {
                b.marks.push_back(std::move(fresh));
                continue;
            }
            rare_fields::carry_over(*old, fresh);
            *old = std::move(fresh);
        }
    }
    owner_ = nullptr;
    online_.store(false, std::memory_order_relaxed);
    ++generation_;
    expiry_interval_ = expiry;
    // Only persistence reads it (a session without a record takes the time of its snapshot).
    if (expiry != 0 || recorded_ || rare_) rare().offline_since_ms = wall_ms();
    if (delayed_will)
        rare().pending_will = std::move(delayed_will);
    else if (rare_)
        rare_->pending_will.reset();
    return generation_;
}

void session::drop_will() {
    std::lock_guard lock(mu_);
    if (rare_) rare_->pending_will.reset();
}

std::unique_ptr<mqtt::will_message> session::take_will_if(std::uint32_t generation) {
    std::lock_guard lock(mu_);
    if (generation_ != generation || ended_ || !rare_) return nullptr;
    return std::move(rare_->pending_will);
}

bool session::unchanged_since(std::uint32_t generation) const {
    std::lock_guard lock(mu_);
    return generation_ == generation && !ended_;
}

bool session::owned_by(const session_owner* owner) const {
    std::lock_guard lock(mu_);
    return owner_ == owner && !ended_;
}

void session::set_subscription(const std::string& filter, const subscription_record& rec) {
    std::lock_guard lock(mu_);
    auto& subs = rare().subscriptions;
    auto it = subs.find(filter);
    // A subscription replaced keeps its start (its filter matched all along); a new one of a
    // session that reads the log starts now (docs/mqtt.md, "Backlogs as cursors into the log").
    const std::int64_t since = it != subs.end() ? it->second.since_ms
                               : rare_->backlog   ? wall_ms()
                                                  : 0;
    subscription_record& kept = it != subs.end() ? it->second : subs[filter];
    kept = rec;
    kept.since_ms = since;
}

void session::erase_subscription(const std::string& filter) {
    std::lock_guard lock(mu_);
    if (rare_) rare_->subscriptions.erase(filter);
}

std::vector<std::string> session::subscription_filters() const {
    std::lock_guard lock(mu_);
    std::vector<std::string> out;
    if (!rare_) return out;
    out.reserve(rare_->subscriptions.size());
    for (const auto& [f, rec] : rare_->subscriptions) out.push_back(f);
    return out;
}

std::size_t session::subscription_count() const {
    std::lock_guard lock(mu_);
    return rare_ ? rare_->subscriptions.size() : 0;
}

session::ending session::end() {
    std::lock_guard lock(mu_);
    ending e;
    ended_ = true;
    e.was_recorded = recorded_;
    for (const auto& d : queue_)
        if (d.persist_seq) e.recorded.push_back(d.persist_seq);
    for (const auto& m : inflight_)
        if (m.d.persist_seq) e.recorded.push_back(m.d.persist_seq);
    for (auto& d : queue_)
        if (!d.share.empty() && d.qos_level != mqtt::qos::at_most_once)
            e.orphans.push_back(std::move(d));
    for (auto& m : inflight_)
        if (!m.d.share.empty() && !m.released) e.orphans.push_back(std::move(m.d));
    queue_.clear();
    inflight_.clear();
    sub_queued_bytes(queued_bytes_);
    inflight_to_resend_ = 0;
    if (rare_) {
        rare_->subscriptions.clear();
        rare_->incoming_qos2.clear();
        e.will = std::move(rare_->pending_will);
        if (rare_->backlog) {
            for (const auto& d : rare_->backlog->held)
                if (d.persist_seq) e.recorded.push_back(d.persist_seq);
            rare_fields::resolve(*rare_->backlog);
            for (const auto& m : rare_->backlog->marks)
                e.cursors.push_back({m.where.log_topic, m.where.index, m.cursor});
            rare_->backlog.reset();
        }
    }
    return e;
}

bool session::ended() const {
    std::lock_guard lock(mu_);
    return ended_;
}

bool session::persistent() const {
    std::lock_guard lock(mu_);
    return expiry_interval_ != 0 && !ended_;
}

bool session::recorded() const {
    std::lock_guard lock(mu_);
    return recorded_;
}

persisted_session session::snapshot(std::int64_t now_ms,
                                    const mqtt::will_message* connection_will) {
    std::lock_guard lock(mu_);
    recorded_ = true;
    persisted_session st;
    st.expiry = expiry_interval_;
    const std::int64_t offline_since = rare_ ? rare_->offline_since_ms : 0;
    st.offline_since_ms = owner_ ? 0 : (offline_since ? offline_since : now_ms);
    const rare_fields* r = rare_.get();
    if (r && r->producer) {
        st.producer_id = r->producer->producer_id();
        st.producer_epoch = r->producer->epoch();
    }
    if (r) {
        for (const auto& [f, rec] : r->subscriptions) st.subscriptions.push_back({f, rec});
        for (auto id : rare_->incoming_qos2) st.incoming_qos2.push_back(id);
    }
    if (rare_ && rare_->backlog) {
        rare_fields::resolve(*rare_->backlog);
        for (const auto& m : rare_->backlog->marks)
            if (m.cursor >= 0) st.cursors.push_back({m.where.log_topic, m.where.index, m.cursor});
    }
    if (owner_) {
        if (connection_will) st.will = *connection_will;
    } else if (r && r->pending_will) {
        const auto& will = *r->pending_will;
        st.will = will;
        // Due when close_session scheduled it: the will delay, capped by the expiry.
        const std::uint32_t delay =
            std::min(will.props.will_delay_interval.value_or(0), expiry_interval_);
        st.will_at_ms = st.offline_since_ms + static_cast<std::int64_t>(delay) * 1000;
    }
    return st;
}

void session::rare_fields::resolve(backlog_state& b) {
    for (auto& m : b.marks) {
        if (m.source && (m.cursor < 0 || (m.skip && m.skip->to < 0)))
            if (auto c = m.source->find(m.where.partition.get())) {
                if (m.cursor < 0) m.cursor = c->next;
                if (m.skip && m.skip->to < 0) m.skip->to = c->next;
            }
        // At the stretch the memory queue had: past it.
        if (m.skip && m.skip->to >= 0 && m.cursor >= m.skip->from) {
            m.cursor = std::max(m.cursor, m.skip->to);
            m.skip.reset();
        }
        // Nothing more to learn from the block, and no publisher needs to wait for it: a mark
        // without a source counts as durable (covered_by_marks, covering_marks).
        if (m.source && m.cursor >= 0 && (!m.skip || m.skip->to >= 0) &&
            m.source->durable->finished())
            m.source.reset();
    }
}

void session::settle_backlog() {
    std::lock_guard lock(mu_);
    if (rare_ && rare_->backlog) rare_fields::resolve(*rare_->backlog);
}

void session::rare_fields::carry_over(backlog_state::mark& old, backlog_state::mark& fresh) {
    // The reopened partition is the same log on disk: an offset of the old object is one of
    // the new. Offers on the new object before `fresh`'s marker were not covered by `old`
    // (another object): they went to the memory queue, and lie between the old object's
    // end and `fresh`'s marker's log end. So the replay goes on from `old`'s cursor to the
    // old object's end, then jumps to where `fresh`'s marker reports.
    // `old`'s marker failed (no cursor): every append on the old object at or after it
    // failed as well, so nothing of it is owed; `fresh` starts at its own marker.
    if (old.cursor < 0) return;
    // Where what `old` covered ends: the old object's committed end (appends past it failed;
    // the recovery may keep their records, which their publishers sent again). A stretch
    // `old` had itself and never resolved (its marker failed) held nothing of `old`'s either.
    const std::int64_t end = old.skip && old.skip->to < 0
                                 ? old.skip->from
                                 : old.where.partition->high_watermark().value;
    if (old.cursor >= end) return;  // caught up with the old object: `fresh` alone
    // A stretch of `old` still ahead of its cursor, resolved, is not kept: replayed again
    // (duplicates, only after two reopens within one catch-up) rather than lost.
    fresh.cursor = old.cursor;
    fresh.skip = std::make_unique<backlog_state::skipped_stretch>();
    fresh.skip->from = end;
}

std::optional<session::backlog_job> session::take_backlog_job(std::size_t max_queued) {
    std::lock_guard lock(mu_);
    if (!owner_ || ended_ || !rare_ || !rare_->backlog) return std::nullopt;
    auto& b = *rare_->backlog;
    if (!b.held.empty() || queue_.size() >= max_queued) return std::nullopt;
    rare_fields::resolve(b);
    // Most passes find nothing new (the reader is woken by every commit): decide that before
    // copying anything.
    if (std::none_of(b.marks.begin(), b.marks.end(), [](const auto& m) {
            return m.cursor >= 0 && m.cursor < m.where.partition->high_watermark().value &&
                   (!m.skip || m.cursor < m.skip->from);
        }))
        return std::nullopt;
    backlog_job job;
    for (const auto& m : b.marks)
        if (m.cursor >= 0) {
            backlog_cursor& c = job.cursors.emplace_back();
            c.where = m.where;
            c.next = m.cursor;
            if (m.skip) c.stop = m.skip->from;
        }
    job.generation = generation_;
    job.room = max_queued - queue_.size();
    job.used = b.used;
    job.subscriber.client_id = client_id;
    for (const auto& [f, rec] : rare_->subscriptions) job.subscriber.subscriptions.emplace_back(f, rec);
    return job;
}

bool session::refill(std::uint32_t generation, const store::partition* partition,
                     std::int64_t from, std::int64_t next, std::vector<delivery> ds,
                     std::shared_ptr<append_outcome>& durable, const backlog_usage& used,
                     bool caught_up) {
    std::lock_guard lock(mu_);
    if (ended_ || generation != generation_ || !rare_ || !rare_->backlog) return false;
    auto& b = *rare_->backlog;
    auto m = std::find_if(b.marks.begin(), b.marks.end(), [&](const auto& x) {
        return x.where.partition.get() == partition;
    });
    if (m == b.marks.end() || m->cursor != from) return false;
    b.used = caught_up ? backlog_usage{} : used;
    if (next == from && ds.empty()) return true;
    // Reached the stretch the memory queue had after a reopen of the log: past it.
    if (m->skip && next >= m->skip->from) {
        rare_fields::resolve(b);
        if (m->skip && m->skip->to >= 0) {
            next = std::max(next, m->skip->to);
            m->skip.reset();
        }
    }
    // The deliveries and the cursor past them in one append: after a crash both are there
    // or neither (then the replay reads them again from the old cursor).
    if (expiry_interval_ != 0)
        if (auto* j = journal.load(std::memory_order_relaxed))
            durable = j->refilled(client_id, ds, log_cursor{m->where.log_topic, m->where.index, next});
    m->cursor = next;
    for (auto& d : ds) b.held.push_back(std::move(d));
    return true;
}

std::optional<session::share_room> session::take_share_room(std::size_t max_queued) const {
    std::lock_guard lock(mu_);
    if (!owner_ || ended_ || queue_.size() >= max_queued) return std::nullopt;
    if (rare_ && rare_->backlog && !rare_->backlog->held.empty()) return std::nullopt;
    return share_room{generation_, max_queued - queue_.size()};
}

bool session::refill_shared(std::uint32_t generation, std::vector<delivery> ds,
                            std::string_view share, const log_cursor& cursor,
                            std::shared_ptr<append_outcome>& durable) {
    std::lock_guard lock(mu_);
    if (ended_ || !owner_ || generation != generation_) return false;
    auto& r = rare();
    // A member that never had a backlog of its own holds the group's refill in the same place.
    if (!r.backlog) r.backlog = std::make_unique<rare_fields::backlog_state>();
    auto& b = *r.backlog;
    if (!b.held.empty()) return false;
    // The deliveries and the group's cursor past them in one append (session::refill).
    if (auto* j = journal.load(std::memory_order_relaxed))
        durable = j->share_refilled(client_id, ds, share, cursor);
    for (auto& d : ds) b.held.push_back(std::move(d));
    return true;
}

void session::wait_for_durable(std::shared_ptr<append_outcome> outcome) {
    if (auto* j = journal.load(std::memory_order_relaxed)) j->wait_for(std::move(outcome));
}

void session::release_held() {
    std::lock_guard lock(mu_);
    if (ended_ || !rare_ || !rare_->backlog || rare_->backlog->held.empty()) return;
    for (auto& d : rare_->backlog->held) {
        add_queued_bytes(d.msg->payload_size());
        queue_.push_back(std::move(d));
    }
    rare_->backlog->held.clear();
    if (owner_ && !wake_posted_) {
        wake_posted_ = true;
        owner_->wake();
    }
}

bool session::has_backlog() const {
    std::lock_guard lock(mu_);
    return rare_ && rare_->backlog && !rare_->backlog->marks.empty();
}

void session::restore_backlog(std::vector<std::pair<logged_partition, std::int64_t>> cursors) {
    std::lock_guard lock(mu_);
    if (cursors.empty()) return;
    auto& r = rare();
    if (!r.backlog) r.backlog = std::make_unique<rare_fields::backlog_state>();
    for (auto& [where, next] : cursors)
        r.backlog->marks.push_back({std::move(where), 0, next, nullptr, nullptr});
}

std::vector<log_cursor> session::backlog_cursors() const {
    std::lock_guard lock(mu_);
    std::vector<log_cursor> out;
    if (rare_ && rare_->backlog)
        for (const auto& m : rare_->backlog->marks)
            if (m.cursor >= 0) out.push_back({m.where.log_topic, m.where.index, m.cursor});
    return out;
}

std::uint64_t session::covered() const {
    std::lock_guard lock(mu_);
    return rare_ && rare_->backlog ? rare_->backlog->covered : 0;
}

std::vector<session::covering_mark> session::covering_marks() const {
    std::lock_guard lock(mu_);
    std::vector<covering_mark> out;
    if (ended_ || !rare_ || !rare_->backlog) return out;
    for (const auto& m : rare_->backlog->marks)
        if (!m.source || m.source->durable->finished())
            out.push_back({m.where.partition.get(), m.from});
    return out;
}

std::uint32_t session::restore(const persisted_session& st,
                               std::vector<restored_message> messages) {
    std::lock_guard lock(mu_);
    recorded_ = true;
    expiry_interval_ = st.expiry;
    auto& r = rare();
    r.offline_since_ms = st.offline_since_ms;
    if (st.producer_id >= 0)
        r.producer = std::make_unique<ingest::session_producer>(st.producer_id, st.producer_epoch);
    for (const auto& sub : st.subscriptions) r.subscriptions[sub.filter] = sub.rec;
    for (auto id : st.incoming_qos2) r.incoming_qos2.push_back(id);
    if (st.will) r.pending_will = std::make_unique<mqtt::will_message>(*st.will);
    for (auto& m : messages) {
        if (!m.d.msg) {
            // PUBREC came before the restart: only the PUBREL is left to send (on resume).
            inflight_message im;
            im.packet_id = m.packet_id;
            im.d.qos_level = mqtt::qos::exactly_once;
            im.d.persist_seq = m.seq;
            im.released = true;
            last_packet_id_ = m.packet_id;
            inflight_.push_back(std::move(im));
            continue;
        }
        m.d.persist_seq = m.seq;
        m.d.redelivered = true;
        add_queued_bytes(m.d.msg->payload_size());
        queue_.push_back(std::move(m.d));
    }
    return ++generation_;
}

std::size_t session::queued() const {
    std::lock_guard lock(mu_);
    return queue_.size();
}

std::vector<delivery> session::take_queued() {
    std::lock_guard lock(mu_);
    std::vector<delivery> out;
    out.reserve(queue_.size());
    for (auto& d : queue_) out.push_back(std::move(d));
    queue_.clear();
    sub_queued_bytes(queued_bytes_);
    return out;
}

std::size_t session::inflight_count() const {
    std::lock_guard lock(mu_);
    return inflight_.size();
}

std::uint64_t session::dropped() const {
    std::lock_guard lock(mu_);
    return dropped_;
}

std::uint16_t session::allocate_packet_id() {
    // Ids are handed out in sequence and `inflight_` is in allocation order, so every inflight
    // id lies in the cyclic range [front, last]: the next id can only collide with the front.
    std::uint16_t next =
        static_cast<std::uint16_t>(last_packet_id_ == 65535 ? 1 : last_packet_id_ + 1);
    if (inflight_.empty() || inflight_.front().packet_id != next) {
        last_packet_id_ = next;
        return next;
    }
    for (int tries = 0; tries < 65535; ++tries) {
        last_packet_id_ =
            static_cast<std::uint16_t>(last_packet_id_ == 65535 ? 1 : last_packet_id_ + 1);
        std::uint16_t id = last_packet_id_;
        bool used = std::any_of(inflight_.begin(), inflight_.end(),
                                [id](const inflight_message& m) { return m.packet_id == id; });
        if (!used) return id;
    }
    return 0;
}

}  // namespace sluice::broker

#include "store/partition.hpp"

#include <unistd.h>

#include "store/compactor.hpp"

namespace sluice::store {

std::shared_ptr<partition> partition::open(const std::string& dir, const log_config& config,
                                           writer_pool& pool, clock_fn clock, errc& error) {
    auto log = partition_log::open(dir, config, std::move(clock), error);
    if (!log) return nullptr;
    return std::make_shared<partition>(std::move(log), pool, pool.next_worker());
}

partition::partition(std::unique_ptr<partition_log> log, writer_pool& pool, std::size_t worker)
    : log_(std::move(log)), pool_(pool), worker_(worker) {
    if (auto e = log_->epochs().latest_epoch()) epoch_ = leader_epoch{*e};
}

partition::ticket partition::append(record_batch batch, append_callback done) {
    return enqueue({std::move(batch), std::move(done), false});
}

std::future<append_result> partition::append(record_batch batch) {
    auto promise = std::make_shared<std::promise<append_result>>();
    auto f = promise->get_future();
    append(std::move(batch), [promise](const append_result& r) { promise->set_value(r); });
    return f;
}

partition::ticket partition::append_as_follower(record_batch batch, append_callback done) {
    return enqueue({std::move(batch), std::move(done), true});
}

partition::ticket partition::mark(mark_callback done) {
    // A queue entry like an append, so it takes its place among them; its completion carries
    // the log end it saw as the base offset.
    return enqueue({record_batch{},
                    [done = std::move(done)](const append_result& r) {
                        done(mark_result{r.error, r.base_offset});
                    },
                    false, true});
}

partition::ticket partition::enqueue(pending p) {
    bool post = false;
    ticket t = 0;
    {
        std::lock_guard lock(mu_);
        t = ++last_ticket_;  // under the queue's lock: ticket order is queue (offset) order
        if (!closed_) {
            queue_.push_back(std::move(p));
            post = !std::exchange(scheduled_, true);
            p.done = nullptr;
        }
    }
    if (p.done) {  // closed: complete at once, on the caller's thread
        p.done(append_result{errc::closed});
        return t;
    }
    if (post) pool_.post_round(worker_, [self = shared_from_this()] { self->drain(); });
    return t;
}

void partition::drain() {
    std::vector<pending> group;
    {
        std::lock_guard lock(mu_);
        scheduled_ = false;
        group.swap(queue_);
    }
    if (group.empty()) return;
    std::vector<append_result> results(group.size());
    bool wrote = false;
    for (std::size_t i = 0; i < group.size(); ++i) {
        if (log_closed_) {
            results[i].error = errc::closed;
            continue;
        }
        auto& p = group[i];
        if (p.marker) {  // the log end between the appends before and after it
            results[i].base_offset = log_->log_end_offset();
            continue;
        }
        const std::size_t size = p.batch.size();  // the log takes the batch's bytes
        results[i] = p.follower ? log_->append_as_follower(p.batch) : log_->append(p.batch, epoch_);
        if (results[i].error == errc::ok && !results[i].duplicate) {
            wrote = true;
            batches_.fetch_add(1, std::memory_order_relaxed);
            bytes_.fetch_add(size, std::memory_order_relaxed);
        }
    }
    errc e = log_closed_ ? errc::ok : log_->flush_writes();
    if (wrote) groups_.fetch_add(1, std::memory_order_relaxed);
    if (e == errc::ok && wrote && log_->config().flush == durability::always) {
        // The fdatasync and the completions wait for the end of the writer's round, beside
        // the other partitions' (writer_pool.hpp); nothing else of this partition runs before.
        // A held round may drain the partition again: its one sync covers both groups.
        const bool sync_deferred = !unsynced_.empty();
        writer_pool::note_appends(group.size());
        unsynced_.reserve(unsynced_.size() + group.size());
        for (std::size_t i = 0; i < group.size(); ++i)
            unsynced_.emplace_back(std::move(group[i].done), results[i]);
        if (!sync_deferred) pool_.defer([self = shared_from_this()] { self->sync_and_complete(); });
        return;
    }
    complete(group, results, e, wrote);
}

void partition::sync_and_complete() {
    const auto started = std::chrono::steady_clock::now();
    errc e = log_->sync();
    sync_latency_.observe(std::chrono::steady_clock::now() - started);
    syncs_.fetch_add(1, std::memory_order_relaxed);
    auto done = std::move(unsynced_);
    unsynced_.clear();
    if (e == errc::ok) {
        log_->commit();
        if (hook_) hook_->notify(*this);
    }
    for (auto& [fn, r] : done) {
        if (e != errc::ok && r.error == errc::ok) r = append_result{e};
        if (fn) fn(r);
    }
    // After the completions, so the zeros never delay them; the next sync covers them.
    if (e == errc::ok) log_->zero_ahead();
}

void partition::complete(std::vector<pending>& group, std::vector<append_result>& results, errc e,
                         bool wrote) {
    if (e == errc::ok) {
        log_->commit();
        if (wrote && log_->config().flush == durability::interval) schedule_interval_flush();
        if (wrote && hook_) hook_->notify(*this);
    } else {
        for (auto& r : results)
            if (r.error == errc::ok) r = append_result{e};
    }
    for (std::size_t i = 0; i < group.size(); ++i)
        if (group[i].done) group[i].done(results[i]);
}

void partition::schedule_interval_flush() {
    if (flush_scheduled_) return;
    flush_scheduled_ = true;
    pool_.post_after(worker_, std::chrono::milliseconds(log_->config().flush_interval_ms),
                     [self = shared_from_this()] {
                         self->flush_scheduled_ = false;
                         if (!self->log_closed_) {
                             const auto started = std::chrono::steady_clock::now();
                             self->log_->sync();
                             self->sync_latency_.observe(std::chrono::steady_clock::now() -
                                                         started);
                             self->syncs_.fetch_add(1, std::memory_order_relaxed);
                         }
                     });
}

template <typename T, typename Fn>
std::future<T> partition::on_writer(Fn fn, T closed_value, bool even_if_closed) {
    auto promise = std::make_shared<std::promise<T>>();
    auto f = promise->get_future();
    {
        std::lock_guard lock(mu_);
        if (closed_ && !even_if_closed) {
            promise->set_value(closed_value);
            return f;
        }
    }
    // Runs after every append queued before it: such an append either posted its drain
    // before this task or joined a queue whose drain task is still ahead of this one.
    pool_.post(worker_, [self = shared_from_this(), promise, fn = std::move(fn)]() mutable {
        promise->set_value(fn(*self));
    });
    return f;
}

std::future<errc> partition::set_leader_epoch(leader_epoch e) {
    return on_writer<errc>(
        [e](partition& p) {
            p.epoch_ = e;
            return errc::ok;
        },
        errc::closed);
}

std::future<errc> partition::truncate_to(offset o) {
    return on_writer<errc>(
        [o](partition& p) { return p.log_closed_ ? errc::closed : p.log_->truncate_to(o); },
        errc::closed);
}

std::future<errc> partition::flush() {
    return on_writer<errc>(
        [](partition& p) {
            if (p.log_closed_) return errc::closed;
            if (auto e = p.log_->flush_writes(); e != errc::ok) return e;
            return p.log_->sync();
        },
        errc::closed);
}

std::future<std::size_t> partition::enforce_retention(std::int64_t now_ms) {
    return on_writer<std::size_t>(
        [now_ms](partition& p) {
            return p.log_closed_ ? std::size_t{0} : p.log_->enforce_retention(now_ms);
        },
        std::size_t{0});
}

std::size_t partition::compact(std::int64_t now_ms, errc& error) {
    std::lock_guard lock(compact_mu_);
    compaction_plan plan;
    error = build_compaction(*log_, now_ms, plan);
    if (error != errc::ok) {
        for (auto& item : plan.items) ::unlink(item.cleaned_path.c_str());
        return 0;
    }
    for (auto& item : plan.items) {
        auto e = on_writer<errc>(
                     [&item](partition& p) {
                         if (p.log_closed_) return errc::closed;
                         return p.log_->replace_segment(item.old, item.cleaned_path);
                     },
                     errc::closed)
                     .get();
        if (e == errc::closed) ::unlink(item.cleaned_path.c_str());
        // invalid_argument: the segment went away meanwhile (truncated or retention).
        if (e != errc::ok && e != errc::invalid_argument) error = e;
    }
    return plan.records_removed;
}

errc partition::close() {
    {
        std::lock_guard lock(mu_);
        if (closed_) return errc::ok;
        closed_ = true;
    }
    return on_writer<errc>(
               [](partition& p) {
                   if (p.log_closed_) return errc::ok;
                   p.log_closed_ = true;
                   return p.log_->close_clean();
               },
               errc::closed, true)
        .get();
}

}  // namespace sluice::store

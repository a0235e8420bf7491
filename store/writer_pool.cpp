#include "store/writer_pool.hpp"

#include <algorithm>
#include <utility>

namespace sluice::store {
namespace {

// The round of the round task running on this thread (defer() appends to it), and its count
// of appends (note_appends() adds to it).
thread_local std::vector<std::function<void()>>* current_round = nullptr;
thread_local std::size_t* current_round_appends = nullptr;

}  // namespace

writer_pool::writer_pool(std::size_t threads, std::size_t parallel_syncs,
                         std::chrono::microseconds round_gap)
    : round_gap_(round_gap) {
    if (threads == 0) threads = 1;
    for (std::size_t i = 0; i < threads; ++i) {
        workers_.push_back(std::make_unique<worker>());
        worker& w = *workers_.back();
        if (parallel_syncs > 1) w.crew = std::make_unique<sync_crew>(parallel_syncs - 1);
        w.thread = std::thread([this, &w] { run(w); });
    }
}

writer_pool::~writer_pool() {
    stop();
}

std::size_t writer_pool::next_worker() {
    std::lock_guard lock(rr_mu_);
    return rr_++ % workers_.size();
}

void writer_pool::enqueue(std::size_t worker_index, task t) {
    worker& w = *workers_[worker_index % workers_.size()];
    bool wake = false;
    {
        std::lock_guard lock(w.mu);
        w.tasks.push_back(std::move(t));
        wake = !w.holding;  // a holding worker takes it when the gap is over
    }
    if (wake) w.cv.notify_one();
}

void writer_pool::post(std::size_t worker_index, std::function<void()> fn) {
    enqueue(worker_index, task{std::move(fn), false});
}

void writer_pool::post_round(std::size_t worker_index, std::function<void()> fn) {
    enqueue(worker_index, task{std::move(fn), true});
}

void writer_pool::defer(std::function<void()> fn) {
    // Outside a round task (never in the store's own code) the work runs at once.
    if (!current_round) return fn();
    current_round->push_back(std::move(fn));
}

void writer_pool::note_appends(std::size_t n) {
    if (current_round_appends) *current_round_appends += n;
}

bool writer_pool::held(const worker& w, std::chrono::steady_clock::time_point now) const {
    return !w.round_end.empty() && round_gap_.count() > 0 && now < w.next_round &&
           std::max(w.round_appends, w.last_round_appends) > 1;
}

void writer_pool::post_after(std::size_t worker_index, std::chrono::milliseconds delay,
                             std::function<void()> fn) {
    worker& w = *workers_[worker_index % workers_.size()];
    {
        std::lock_guard lock(w.mu);
        if (w.stopping) return;
        w.timers.emplace(std::chrono::steady_clock::now() + delay, std::move(fn));
    }
    w.cv.notify_one();
}

void writer_pool::stop() {
    for (auto& w : workers_) {
        {
            std::lock_guard lock(w->mu);
            w->stopping = true;
        }
        w->cv.notify_one();
    }
    for (auto& w : workers_)
        if (w->thread.joinable()) w->thread.join();
}

void writer_pool::finish_round(worker& w) {
    if (w.round_end.empty()) return;
    if (round_gap_.count() > 0) w.next_round = std::chrono::steady_clock::now() + round_gap_;
    w.last_round_appends = std::exchange(w.round_appends, 0);
    rounds_.fetch_add(1, std::memory_order_relaxed);
    deferred_.fetch_add(w.round_end.size(), std::memory_order_relaxed);
    if (w.crew && w.round_end.size() > 1) {
        w.crew->run(w.round_end);
    } else {
        for (auto& fn : w.round_end) fn();
    }
    w.round_end.clear();
}

void writer_pool::run(worker& w) {
    std::deque<task> batch;
    std::unique_lock lock(w.mu);
    for (;;) {
        auto now = std::chrono::steady_clock::now();
        if (!w.tasks.empty()) {
            // Everything queued so far joins the round.
            batch.swap(w.tasks);
            lock.unlock();
            for (auto& t : batch) {
                if (t.round) {
                    current_round = &w.round_end;
                    current_round_appends = &w.round_appends;
                    t.fn();
                    current_round = nullptr;
                    current_round_appends = nullptr;
                } else {
                    finish_round(w);  // a plain task never overtakes deferred work
                    t.fn();
                }
            }
            batch.clear();
            // Held when the last round started less than the gap ago and appends come
            // together (see the header).
            if (!held(w, std::chrono::steady_clock::now())) finish_round(w);
            lock.lock();
            continue;
        }
        if (!w.round_end.empty()) {  // a held round, nothing more queued yet
            if (w.stopping || !held(w, now)) {
                lock.unlock();
                finish_round(w);
                lock.lock();
            } else {
                w.holding = true;
                w.cv.wait_until(lock, w.next_round);
                w.holding = false;
            }
            continue;
        }
        if (w.stopping) {
            w.timers.clear();
            return;
        }
        if (!w.timers.empty() && w.timers.begin()->first <= now) {
            auto fn = std::move(w.timers.begin()->second);
            w.timers.erase(w.timers.begin());
            lock.unlock();
            fn();
            lock.lock();
            continue;
        }
        if (w.timers.empty())
            w.cv.wait(lock);
        else
            w.cv.wait_until(lock, w.timers.begin()->first);
    }
}

// --- sync_crew --------------------------------------------------------------------------------

writer_pool::sync_crew::sync_crew(std::size_t helpers) {
    for (std::size_t i = 0; i < helpers; ++i) threads_.emplace_back([this] { help(); });
}

writer_pool::sync_crew::~sync_crew() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
}

void writer_pool::sync_crew::work() {
    auto& jobs = *jobs_;
    for (std::size_t i = next_.fetch_add(1); i < jobs.size(); i = next_.fetch_add(1)) jobs[i]();
}

void writer_pool::sync_crew::run(std::vector<std::function<void()>>& jobs) {
    {
        std::lock_guard lock(mu_);
        jobs_ = &jobs;
        next_.store(0);
        ++generation_;
    }
    cv_.notify_all();
    work();
    std::unique_lock lock(mu_);
    // Every job has been taken; wait for the helpers still running one.
    done_cv_.wait(lock, [this] { return running_ == 0; });
    jobs_ = nullptr;
}

void writer_pool::sync_crew::help() {
    std::unique_lock lock(mu_);
    std::uint64_t seen = 0;
    for (;;) {
        cv_.wait(lock, [&] { return stopping_ || generation_ != seen; });
        if (stopping_) return;
        seen = generation_;
        if (!jobs_) continue;  // woke after the round ended
        ++running_;
        lock.unlock();
        work();
        lock.lock();
        if (--running_ == 0) done_cv_.notify_all();
    }
}

}  // namespace sluice::store

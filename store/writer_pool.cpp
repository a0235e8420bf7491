#include "store/writer_pool.hpp"

namespace sluice::store {

writer_pool::writer_pool(std::size_t threads) {
    if (threads == 0) threads = 1;
    for (std::size_t i = 0; i < threads; ++i) {
        workers_.push_back(std::make_unique<worker>());
        worker& w = *workers_.back();
        w.thread = std::thread([&w] { run(w); });
    }
}

writer_pool::~writer_pool() {
    stop();
}

std::size_t writer_pool::next_worker() {
    std::lock_guard lock(rr_mu_);
    return rr_++ % workers_.size();
}

void writer_pool::post(std::size_t worker_index, std::function<void()> task) {
    worker& w = *workers_[worker_index % workers_.size()];
    {
        std::lock_guard lock(w.mu);
        w.tasks.push_back(std::move(task));
    }
    w.cv.notify_one();
}

void writer_pool::post_after(std::size_t worker_index, std::chrono::milliseconds delay,
                             std::function<void()> task) {
    worker& w = *workers_[worker_index % workers_.size()];
    {
        std::lock_guard lock(w.mu);
        if (w.stopping) return;
        w.timers.emplace(std::chrono::steady_clock::now() + delay, std::move(task));
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

void writer_pool::run(worker& w) {
    std::unique_lock lock(w.mu);
    for (;;) {
        auto now = std::chrono::steady_clock::now();
        if (!w.tasks.empty()) {
            auto task = std::move(w.tasks.front());
            w.tasks.pop_front();
            lock.unlock();
            task();
            lock.lock();
            continue;
        }
        if (w.stopping) {
            w.timers.clear();
            return;
        }
        if (!w.timers.empty() && w.timers.begin()->first <= now) {
            auto task = std::move(w.timers.begin()->second);
            w.timers.erase(w.timers.begin());
            lock.unlock();
            task();
            lock.lock();
            continue;
        }
        if (w.timers.empty())
            w.cv.wait(lock);
        else
            w.cv.wait_until(lock, w.timers.begin()->first);
    }
}

}  // namespace sluice::store

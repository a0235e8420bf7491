#include "broker/io_pool.hpp"

#include "broker/log.hpp"

namespace sluice::broker {
namespace {
thread_local int this_thread_index = -1;
}

int current_io_thread() {
    return this_thread_index;
}

io_pool::io_pool(std::size_t threads) {
    if (threads == 0) threads = 1;
    for (std::size_t i = 0; i < threads; ++i) {
        // Concurrency hint 1: each context is run by exactly one thread, so Asio can skip
        // its internal locking.
        contexts_.push_back(std::make_unique<boost::asio::io_context>(1));
        guards_.emplace_back(boost::asio::make_work_guard(*contexts_.back()));
    }
}

io_pool::~io_pool() {
    stop();
    join();
}

boost::asio::io_context& io_pool::next() {
    return *contexts_[next_.fetch_add(1, std::memory_order_relaxed) % contexts_.size()];
}

void io_pool::start() {
    for (std::size_t i = 0; i < contexts_.size(); ++i) {
        threads_.emplace_back([this, i] {
            this_thread_index = static_cast<int>(i);
            for (;;) {
                try {
                    contexts_[i]->run();
                    return;
                } catch (const std::exception& e) {
                    // A handler threw: log it and keep the thread serving its connections.
                    log_error("io thread ", i, ": unhandled exception: ", e.what());
                }
            }
        });
    }
}

void io_pool::stop() {
    for (auto& g : guards_) g.reset();
    for (auto& c : contexts_) c->stop();
}

void io_pool::join() {
    for (auto& t : threads_)
        if (t.joinable()) t.join();
    threads_.clear();
}

}  // namespace sluice::broker

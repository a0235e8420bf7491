#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

// A pool of io_contexts, one thread each (docs/architecture.md, "Threads"). A connection is
// placed on one context for its whole life, so everything a connection owns is touched by one
// thread and needs no lock. Threads: next()/size()/context() from any thread; run()/stop()/join()
// from the main thread.
namespace sluice::broker {

class io_pool {
  public:
    explicit io_pool(std::size_t threads);
    io_pool(const io_pool&) = delete;
    io_pool& operator=(const io_pool&) = delete;
    ~io_pool();

    std::size_t size() const { return contexts_.size(); }
    boost::asio::io_context& context(std::size_t i) { return *contexts_[i]; }
    // Round-robin: the context the next accepted connection lives on.
    boost::asio::io_context& next();

    void start();  // one thread per context
    void stop();   // drops the work guards and stops every context
    void join();

  private:
    using guard = boost::asio::executor_work_guard<boost::asio::io_context::executor_type>;
    std::vector<std::unique_ptr<boost::asio::io_context>> contexts_;
    std::vector<std::optional<guard>> guards_;
    std::vector<std::thread> threads_;
    std::atomic<std::size_t> next_{0};
};

// The index of the io thread running the caller (0..size-1), or -1 off the pool. Used to pick
// a per-thread counter slot without contention.
int current_io_thread();

}  // namespace sluice::broker

#pragma once
// The threads that write partitions. Each partition is pinned to one worker, so it has
// exactly one writer and its tasks run in the order they were posted; one worker serves many
// partitions. A task may also be posted to run after a delay (interval fsync).
// Thread: post*() from any thread; tasks run on their worker.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace sluice::store {

class writer_pool {
  public:
    explicit writer_pool(std::size_t threads);
    ~writer_pool();
    writer_pool(const writer_pool&) = delete;
    writer_pool& operator=(const writer_pool&) = delete;

    std::size_t size() const { return workers_.size(); }
    // Round-robin choice of a worker for a new partition.
    std::size_t next_worker();
    void post(std::size_t worker, std::function<void()> task);
    void post_after(std::size_t worker, std::chrono::milliseconds delay,
                    std::function<void()> task);
    // Runs the tasks already queued, drops pending timers, joins the threads.
    void stop();

  private:
    struct worker {
        std::mutex mu;  // guards tasks, timers, stopping
        std::condition_variable cv;
        std::deque<std::function<void()>> tasks;
        std::multimap<std::chrono::steady_clock::time_point, std::function<void()>> timers;
        bool stopping = false;
        std::thread thread;
    };
    static void run(worker& w);

    std::vector<std::unique_ptr<worker>> workers_;
    std::mutex rr_mu_;  // guards rr_
    std::size_t rr_ = 0;
};

}  // namespace sluice::store

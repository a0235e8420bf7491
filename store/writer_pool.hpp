#pragma once
// The threads that write partitions. Each partition is pinned to one worker, so it has
// exactly one writer and its tasks run in the order they were posted; one worker serves many
// partitions. A task may also be posted to run after a delay (interval fsync).
//
// Sync rounds (group commit across partitions): a worker takes every task queued so far at
// once; that batch is a round. A task posted with post_round() (a partition's drain) may leave
// work for the end of the round with defer(): the drain writes its group, defers the fdatasync
// and the completions, and the worker runs the round's deferred work once the batch is done,
// up to `parallel_syncs` of them at the same time (fdatasync waits for the disk, not the CPU,
// and syncs of different files running together share journal commits and cache flushes).
// While a round syncs, new appends queue up and form the next round, so a group grows with
// the load instead of every partition syncing after its own few appends. Deferred work runs
// before any plain task (post(), timers) that comes after it, so flush, truncate or close of a
// partition never overtakes its deferred sync.
//
// Round gap: a worker starts a round's deferred work (the syncs) at least `round_gap` after it
// started the previous round's. A round that would start sooner is held: the worker sleeps
// until the gap is over, appends queue without waking it, and everything queued by then is
// written and joins the held round. Only when appends come together, though: a round is held
// only if it or the round before carried more than one append (note_appends), so a lone
// client that waits for each acknowledgement before sending the next is never made to wait. An fdatasync costs this kind of virtual machine about as
// much CPU as a hundred small appends (docs/store.md, "Appending"), so at moderate rates
// (a few thousand appends per second) syncing as often as the disk allows spends cores on
// syncs of two or three messages each; the gap bounds the syncs per second per worker. It
// never delays an append after a quiet spell (the last round started long ago), and at full
// speed a round's syncs take longer than the gap, so it changes nothing there.
//
// Thread: post*() from any thread; tasks run on their worker; defer() only from a round task;
// deferred work runs on the worker or one of its sync helpers, while the worker waits for it,
// so a partition's state is still touched by one thread at a time.

#include <atomic>
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
    // parallel_syncs: how many deferred works of one round run at once (1: one after another
    // on the worker itself; the store's default, since waking helpers for every round cost
    // more CPU than the overlapping syncs saved in docs/benchmarks.md).
    // round_gap: the shortest time from the start of one round's deferred work to the next's,
    // for rounds of more than one append (zero: a round ends as soon as its tasks ran).
    explicit writer_pool(std::size_t threads, std::size_t parallel_syncs = 1,
                         std::chrono::microseconds round_gap = std::chrono::microseconds(0));
    ~writer_pool();
    writer_pool(const writer_pool&) = delete;
    writer_pool& operator=(const writer_pool&) = delete;

    std::size_t size() const { return workers_.size(); }
    // Round-robin choice of a worker for a new partition.
    std::size_t next_worker();
    void post(std::size_t worker, std::function<void()> task);
    // A task that may defer() work to the end of its round.
    void post_round(std::size_t worker, std::function<void()> task);
    void post_after(std::size_t worker, std::chrono::milliseconds delay,
                    std::function<void()> task);
    // From a task posted with post_round(), on its worker: runs fn at the end of the round.
    static void defer(std::function<void()> fn);
    // From a task posted with post_round(): the round carries `n` more appends (the round gap
    // holds only rounds of more than one, see above).
    static void note_appends(std::size_t n);
    // Runs the tasks already queued, drops pending timers, joins the threads.
    void stop();

    // Counters for tests and benchmarks: rounds that had deferred work, and the deferred
    // works they ran.
    std::uint64_t rounds() const { return rounds_.load(std::memory_order_relaxed); }
    std::uint64_t deferred() const { return deferred_.load(std::memory_order_relaxed); }

  private:
    struct task {
        std::function<void()> fn;
        bool round = false;
    };
    // Helper threads that run a round's deferred works beside the worker.
    class sync_crew {
      public:
        explicit sync_crew(std::size_t helpers);
        ~sync_crew();
        // Runs every job, up to helpers + 1 at a time (one on the calling thread); returns
        // when all are done.
        void run(std::vector<std::function<void()>>& jobs);

      private:
        void help();
        void work();  // takes jobs until none is left
        std::mutex mu_;  // guards jobs_, generation_, stopping_, running_
        std::condition_variable cv_;
        std::condition_variable done_cv_;
        std::vector<std::function<void()>>* jobs_ = nullptr;
        std::atomic<std::size_t> next_{0};
        std::size_t running_ = 0;  // helpers inside work()
        std::uint64_t generation_ = 0;
        bool stopping_ = false;
        std::vector<std::thread> threads_;
    };
    struct worker {
        std::mutex mu;  // guards tasks, timers, stopping
        std::condition_variable cv;
        std::deque<task> tasks;
        std::multimap<std::chrono::steady_clock::time_point, std::function<void()>> timers;
        bool stopping = false;
        bool holding = false;  // waiting out the round gap: enqueue() does not wake it
        // Worker thread only:
        std::vector<std::function<void()>> round_end;
        std::size_t round_appends = 0;       // note_appends() of the current round
        std::size_t last_round_appends = 0;  // and of the round before
        std::chrono::steady_clock::time_point next_round{};  // the gap ends
        std::unique_ptr<sync_crew> crew;               // null when parallel_syncs is 1
        std::thread thread;
    };
    void run(worker& w);
    void finish_round(worker& w);
    // The current round waits for the gap (see the header).
    bool held(const worker& w, std::chrono::steady_clock::time_point now) const;
    void enqueue(std::size_t worker, task t);

    std::vector<std::unique_ptr<worker>> workers_;
    const std::chrono::microseconds round_gap_;
    std::mutex rr_mu_;  // guards rr_
    std::size_t rr_ = 0;
    std::atomic<std::uint64_t> rounds_{0};
    std::atomic<std::uint64_t> deferred_{0};
};

}  // namespace sluice::store

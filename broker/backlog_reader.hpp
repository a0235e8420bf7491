#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "broker/backlog_chunks.hpp"
#include "broker/backlog_replay.hpp"
#include "broker/metrics.hpp"
#include "broker/session.hpp"
#include "broker/share_backlog.hpp"
#include "broker/topic_summary.hpp"

// Refills online persistent sessions from their backlogs in the log
// (docs/offline-backlog-design.md): for each session that has cursors, selects from each
// cursor (select_backlog) as far as the session's queue has room and hands the deliveries to
// session::refill (journaled together with the advanced cursor). Pull only: a session with
// a mark on a partition takes its logged QoS 1/2 messages from there, online or not.
//
// Sessions share reads: a pass takes every session's job first, and the stretch of log a
// cursor needs is read and decoded once (backlog_chunks) for every session whose cursor lies
// in it, in this pass or a later one while it is kept.
//
// Shared groups' backlogs (broker/share_backlog.hpp) are served in the same passes, from the
// same chunks: a step of a group's cursor goes to one of its members that is online and has
// room (round robin), as a refill of that member that carries the group's cursor.
//
// Before it reads for a cursor, a step asks the partition's topic summary (when there is one)
// how far none of the subscriber's filters can match, and moves the cursor past that without
// reading (docs/offline-backlog-design.md, "Topic summaries").
//
// Woken by attach (watch()), by a session that took messages from its queue
// (backlog_waker), and by the store's commit hook (new records readable); a pass that made
// progress runs again at once. Disk reads happen here, never on an io thread.
//
// Threads: its own thread; watch() and the wake-ups from any thread. `mu_` (a leaf lock)
// guards the watched set and the wake flag.
namespace sluice::broker {

class backlog_reader final : public backlog_waker {
  public:
    // `step_bytes`: log bytes per read; `cache_bytes`: about what decoded chunks may hold.
    backlog_reader(std::size_t max_queued, backlog_limits limits,
                   std::uint64_t step_bytes = 1 << 20, std::uint64_t cache_bytes = 16 << 20);
    ~backlog_reader();
    backlog_reader(const backlog_reader&) = delete;
    backlog_reader& operator=(const backlog_reader&) = delete;

    void start();
    void stop();  // joins the thread; idempotent

    // A session with a backlog attached: refill it from now on (until it goes offline).
    void watch(const std::shared_ptr<session>& s);
    // New records may be readable (the store's commit hook; any thread, short).
    void wake();
    void backlog_room() override { wake(); }

    // Shared groups: their members that are online, as sessions held alive (false: the group
    // is gone or has another backlog), and what to do once a group is gone (erase its
    // records). Set before start().
    struct share_target {
        std::shared_ptr<session> s;
        subscription_record rec;
    };
    using share_members_fn = std::function<bool(const share_backlog&, std::vector<share_target>&)>;
    using share_gone_fn = std::function<void(const share_backlog&)>;
    void set_share_hooks(share_members_fn members, share_gone_fn gone);
    // The topic summary of a partition, or null (then every step reads). Set before start().
    using summary_fn = std::function<std::shared_ptr<const topic_summary>(const store::partition*)>;
    void set_summaries(summary_fn fn) { summary_of_ = std::move(fn); }
    // A shared group's backlog to serve from now on, until its group is gone.
    void watch_share(std::shared_ptr<share_backlog> b);
    // Shared groups whose backlog is served (for /metrics).
    std::size_t share_backlogs() const;

    // Offsets removed by retention before a watched session read them (all sessions).
    std::uint64_t lost_to_retention() const { return lost_.load(std::memory_order_relaxed); }
    std::uint64_t replayed() const { return replayed_.load(std::memory_order_relaxed); }
    std::uint64_t over_limits() const { return over_limits_.load(std::memory_order_relaxed); }
    // Reads of the log, bytes read, records decoded (shared by the sessions they served; as
    // of the last finished pass).
    std::uint64_t reads() const { return reads_.load(std::memory_order_relaxed); }
    std::uint64_t read_bytes() const { return read_bytes_.load(std::memory_order_relaxed); }
    std::uint64_t decoded_records() const { return decoded_.load(std::memory_order_relaxed); }
    // Records read and not replayed because the MQTT ingest did not write them (a Kafka
    // producer's: egress rules publish those, the live path never routes them).
    std::uint64_t not_ingested_records() const {
        return not_ingested_.load(std::memory_order_relaxed);
    }
    // Offsets passed over without reading: no subscriber's filter could match there (the
    // partition's topic summary).
    std::uint64_t summary_skipped() const { return skipped_.load(std::memory_order_relaxed); }
    // sluice_backlog_* counters for /metrics.
    void collect_metrics(metrics::family_list& out) const;

  private:
    void run();
    // One pass over `s` with its job; true when it moved (worth another pass at once).
    bool serve(const std::shared_ptr<session>& s, session::backlog_job& job);
    // One pass over a shared group's backlog; true when it moved.
    bool serve_share(const std::shared_ptr<share_backlog>& b);
    // One step for `sub` on one partition, from the chunk that covers its cursor.
    replay_step step(const logged_partition& where, const replay_request& req,
                     const backlog_subscriber& sub, backlog_usage& used);
    // A refill of `s` is durable: its held deliveries may go (any thread; a leaf lock).
    void refill_durable(std::weak_ptr<session> s);

    const std::size_t max_queued_;
    const backlog_limits limits_;
    mutable std::mutex mu_;  // guards watched_, shares_, durable_, woken_, stopping_
    std::condition_variable cv_;
    std::vector<std::weak_ptr<session>> watched_;
    std::vector<std::weak_ptr<session>> durable_;  // refills whose records are durable
    std::vector<std::shared_ptr<share_backlog>> shares_;
    share_members_fn share_members_;  // set before start
    share_gone_fn share_gone_;
    summary_fn summary_of_;  // set before start
    bool woken_ = false;
    bool stopping_ = false;
    backlog_chunks chunks_;  // the reader thread's only
    std::thread thread_;
    std::atomic<std::uint64_t> lost_{0};
    std::atomic<std::uint64_t> replayed_{0};
    std::atomic<std::uint64_t> over_limits_{0};
    std::atomic<std::uint64_t> reads_{0};
    std::atomic<std::uint64_t> read_bytes_{0};
    std::atomic<std::uint64_t> decoded_{0};
    std::atomic<std::uint64_t> not_ingested_{0};
    std::atomic<std::uint64_t> skipped_{0};
};

}  // namespace sluice::broker

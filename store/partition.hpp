#pragma once
// A partition as the rest of Sluice uses it: append from any thread with a completion
// callback (the moment an acknowledgement may be sent), read from any thread.
//
// Appends are queued and handed to the partition's single writer (a writer_pool worker),
// which takes everything queued so far, writes it with one pwritev, and under `always` covers
// it with one fdatasync (group commit) before completing the callbacks. The fdatasync waits
// for the end of the writer's round (writer_pool.hpp): the worker first writes the groups of
// every partition that has appends queued, then syncs them together. Appends arriving while
// a round syncs form the next group.
//
// Thread: every public member may be called from any thread. Callbacks run on the writer
// thread: keep them short (post the result to your own thread).

#include <atomic>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "store/latency_histogram.hpp"
#include "store/partition_log.hpp"
#include "store/writer_pool.hpp"

namespace sluice::store {

class partition;

// Who wants to know when appended records become readable (the high watermark moved): the
// Kafka listener wakes its long-poll Fetches with it, the broker's egress follows its log
// topics with it. Each observer belongs to an owner (one per owner). One hook is shared by
// every partition of a store; notify() runs on the partition's writer thread after each group
// is committed, so observers must be short (post to your own thread).
// Thread: set() from any thread; notify() from writer threads.
class commit_hook {
  public:
    using observer = std::function<void(const partition&)>;
    // Adds or replaces the observer of `owner`; a null `fn` removes it.
    void set(const void* owner, observer fn) {
        std::lock_guard lock(mu_);
        std::erase_if(fns_, [owner](const auto& e) { return e.first == owner; });
        if (fn) fns_.emplace_back(owner, std::move(fn));
        armed_.store(!fns_.empty(), std::memory_order_release);
    }
    void notify(const partition& p) const {
        if (!armed_.load(std::memory_order_acquire)) return;
        std::lock_guard lock(mu_);
        for (const auto& e : fns_) e.second(p);
    }

  private:
    mutable std::mutex mu_;  // guards fns_; observers run under it (they take only leaf locks)
    std::vector<std::pair<const void*, observer>> fns_;
    std::atomic<bool> armed_{false};
};

class partition : public std::enable_shared_from_this<partition> {
  public:
    using append_callback = std::function<void(const append_result&)>;
    // A place in this partition's queue to the writer: every append and every marker takes
    // the next one under the lock that queues it, so ticket order is offset order. Tickets
    // start at 1 for each partition object (a reopened store starts again).
    using ticket = std::uint64_t;
    // What a marker saw on the writer: every append with a smaller ticket has an offset below
    // `log_end`, every one with a larger ticket an offset at or above it. `error` is ok, the
    // error of the group it was drained with (its appends failed), or closed.
    struct mark_result {
        errc error = errc::ok;
        offset log_end{-1};
    };
    using mark_callback = std::function<void(const mark_result&)>;

    static std::shared_ptr<partition> open(const std::string& dir, const log_config& config,
                                           writer_pool& pool, clock_fn clock, errc& error);

    // Leader append: offsets and the current leader epoch are stamped into the batch.
    // Returns the append's ticket.
    ticket append(record_batch batch, append_callback done);
    std::future<append_result> append(record_batch batch);
    // Follower append: the batch keeps the leader's offsets and epoch; its base offset must
    // be the log end offset.
    ticket append_as_follower(record_batch batch, append_callback done);
    // A marker: takes a ticket like an append and, on the writer, reads the log end offset
    // between the appends queued before it and those queued after it, so a caller that knows
    // an append's ticket knows on which side of the marker its offset lies before the offset
    // exists. `done` runs on the writer (at once, on the caller's thread, with closed once the
    // partition is closed); it is not ordered with the completions of the appends before it.
    ticket mark(mark_callback done);

    read_result read(offset from, std::uint64_t max_bytes) const {
        return log_->read(from, max_bytes);
    }
    errc read_copy(offset from, std::uint64_t max_bytes, byte_buffer& out, offset& next) const {
        return log_->read_copy(from, max_bytes, out, next);
    }
    std::optional<offset> offset_for_timestamp(std::int64_t ts) const {
        return log_->offset_for_timestamp(ts);
    }
    // Every record from `from` to the high watermark, decoded, until fn returns false
    // (replay of internal topics such as sessions and retained messages at start-up).
    errc for_each_record(offset from, const std::function<bool(const record&)>& fn) const {
        return log_->for_each_record(from, fn);
    }
    offset log_start_offset() const { return log_->log_start_offset(); }
    offset log_end_offset() const { return log_->log_end_offset(); }
    offset high_watermark() const { return log_->high_watermark(); }
    std::optional<std::pair<std::int32_t, offset>> end_offset_for_epoch(std::int32_t epoch) const {
        return log_->epochs().end_offset_for(epoch, log_->log_end_offset());
    }
    const recovery_report& recovery() const { return log_->recovery(); }
    // Counters for tests and benchmarks: groups drained and fdatasyncs done for appends.
    std::uint64_t groups_written() const { return groups_.load(std::memory_order_relaxed); }
    std::uint64_t syncs() const { return syncs_.load(std::memory_order_relaxed); }
    // For the operations page (docs/operations.md): batches and bytes appended (duplicates
    // and failed appends not counted) and how long each fdatasync of appends took.
    std::uint64_t batches_appended() const { return batches_.load(std::memory_order_relaxed); }
    std::uint64_t bytes_appended() const { return bytes_.load(std::memory_order_relaxed); }
    const latency_histogram& sync_latency() const { return sync_latency_; }
    const log_config& config() const { return log_->config(); }
    std::vector<std::shared_ptr<segment>> segments() const { return log_->segments(); }

    // Run on the writer, after the appends queued before them.
    std::future<errc> set_leader_epoch(leader_epoch e);
    std::future<errc> truncate_to(offset o);
    std::future<errc> flush();
    std::future<std::size_t> enforce_retention(std::int64_t now_ms);
    // Builds compacted copies on the calling thread, then swaps them in on the writer.
    // Returns the number of records removed.
    std::size_t compact(std::int64_t now_ms, errc& error);
    // Finishes queued appends, syncs and marks the partition cleanly closed. Later appends
    // complete with errc::closed.
    errc close();

    partition(std::unique_ptr<partition_log> log, writer_pool& pool, std::size_t worker);
    // Before the partition is shared with other threads (the store does it when opening).
    void set_commit_hook(std::shared_ptr<const commit_hook> hook) { hook_ = std::move(hook); }

  private:
    struct pending {
        record_batch batch;
        append_callback done;
        bool follower;
        bool marker = false;  // no batch: `done` gets the log end as its base offset
    };
    ticket enqueue(pending p);
    void drain();
    // The end of a group under `always`, at the end of the writer's round: fdatasync, then
    // commit and complete the appends written since the last one.
    void sync_and_complete();
    void complete(std::vector<pending>& group, std::vector<append_result>& results, errc e,
                  bool wrote);
    void schedule_interval_flush();
    // Runs fn on the writer after every append queued before it. Once the partition is
    // closed it does not touch the pool (which may be gone) and yields `closed_value`.
    template <typename T, typename Fn>
    std::future<T> on_writer(Fn fn, T closed_value, bool even_if_closed = false);

    std::unique_ptr<partition_log> log_;
    writer_pool& pool_;
    const std::size_t worker_;

    std::mutex mu_;  // guards queue_, scheduled_, closed_, last_ticket_
    std::vector<pending> queue_;
    ticket last_ticket_ = 0;
    bool scheduled_ = false;
    bool closed_ = false;

    std::mutex compact_mu_;  // one compaction of this partition at a time (they share file names)
    std::atomic<std::uint64_t> groups_{0};
    std::atomic<std::uint64_t> syncs_{0};
    std::atomic<std::uint64_t> batches_{0};  // written by the writer thread only
    std::atomic<std::uint64_t> bytes_{0};
    latency_histogram sync_latency_;
    std::shared_ptr<const commit_hook> hook_;  // set before sharing, then read-only

    // writer thread only
    leader_epoch epoch_{0};
    bool flush_scheduled_ = false;
    bool log_closed_ = false;
    // Written under `always`, waiting for the round's fdatasync (sync_and_complete).
    std::vector<std::pair<append_callback, append_result>> unsynced_;
};

}  // namespace sluice::store

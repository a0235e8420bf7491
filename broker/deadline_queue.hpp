#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

// The deadlines of one io thread (connect timeouts, keep alives, session expiries, will
// delays) in one structure, so that a thread needs a single Asio timer armed at
// next_deadline() instead of one timer object per connection or session.
//
// Why a binary heap with back-pointers rather than a hierarchical timing wheel: the deadlines
// here range from 100 ms (connect timeout) to days (a 7-day session expiry) and must fire at
// their exact time, not at a wheel tick; a wheel needs several levels and cascading to cover
// that range and costs memory per slot even when empty. The heap costs O(log n) per
// schedule/cancel/reschedule (about 20 comparisons for a million deadlines), is one vector of
// 24-byte entries plus one slot per live deadline, and gives the exact next deadline in O(1).
//
// Each entry's callback lives in a slot; the heap holds (time, sequence, slot) and each slot
// records its entry's position in the heap, so cancel() and reschedule() find it without a
// search. A handle is (slot, generation): a slot's generation changes every time it is freed,
// so a handle to a deadline that already ran or was cancelled is recognised as stale and
// cancelling it again is harmless, even after the slot was reused. Cancelling destroys the
// callback at once (with whatever it captured) and puts the slot on a free list: heap and
// slot table never hold more than the largest number of deadlines pending at one time, so
// reconnect churn with long session expiries cannot grow them.
//
// Deadlines due at the same time run in the order they were scheduled.
//
// Threads: one io thread owns it; no locks. Callbacks run on that thread inside run_due().
namespace sluice::broker {

class deadline_queue {
  public:
    using clock = std::chrono::steady_clock;
    using time_point = clock::time_point;
    using callback = std::function<void()>;

    // Names one scheduled deadline. A default handle names nothing.
    struct handle {
        std::uint32_t slot = no_slot;
        std::uint32_t generation = 0;
        friend bool operator==(const handle&, const handle&) = default;
    };

    deadline_queue() = default;
    deadline_queue(const deadline_queue&) = delete;
    deadline_queue& operator=(const deadline_queue&) = delete;

    // Runs `cb` in the first run_due(now) with now >= when. Called from inside run_due() with
    // `when` at or before that call's `now`, the deadline is moved to just after it: it runs in
    // the next call, so a callback that re-arms itself for "now" cannot keep run_due() busy.
    handle schedule(time_point when, callback cb);

    // Removes the deadline and destroys its callback now. False (and nothing done) when `h` no
    // longer names a pending deadline: it ran, was cancelled, or is a default handle.
    bool cancel(handle h);

    // Moves a pending deadline to `when` (the same rule as schedule() inside run_due()). The
    // handle stays valid. False when `h` is not pending.
    bool reschedule(handle h, time_point when);

    bool pending(handle h) const;

    // The earliest pending deadline, to arm the thread's timer with; nullopt when none.
    std::optional<time_point> next_deadline() const;

    // Runs, in deadline order, every callback due at `now` (deadline <= now). Each is removed
    // before it runs, so it may schedule, cancel (its own handle is already stale) or
    // reschedule anything. Returns how many ran.
    std::size_t run_due(time_point now);

    std::size_t size() const { return heap_.size(); }
    bool empty() const { return heap_.empty(); }

    // Slots allocated (pending plus free for reuse): the high-water mark of pending deadlines.
    std::size_t slot_capacity() const { return slots_.size(); }

  private:
    static constexpr std::uint32_t no_slot = 0xFFFF'FFFF;

    struct entry {
        time_point when;
        std::uint64_t sequence;  // ties: earlier scheduled first
        std::uint32_t slot;
    };
    struct slot_state {
        callback cb;
        std::uint32_t heap_index = no_slot;  // no_slot while free
        std::uint32_t generation = 0;
        std::uint32_t next_free = no_slot;
    };

    static bool earlier(const entry& a, const entry& b) {
        return a.when < b.when || (a.when == b.when && a.sequence < b.sequence);
    }
    time_point clamp(time_point when) const;
    const slot_state* live_slot(handle h) const;
    void place(std::size_t index, entry e);
    void sift_up(std::size_t index);
    void sift_down(std::size_t index);
    // Removes heap_[index] and frees its slot; returns the callback.
    callback remove_at(std::size_t index);

    std::vector<entry> heap_;
    std::vector<slot_state> slots_;
    std::uint32_t free_head_ = no_slot;
    std::uint64_t next_sequence_ = 0;
    std::optional<time_point> running_now_;  // set while run_due() runs
};

}  // namespace sluice::broker

#pragma once

#include <atomic>
#include <cstdint>

#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SLUICE_COMPACT_MUTEX_TSAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__) && !defined(SLUICE_COMPACT_MUTEX_TSAN)
#define SLUICE_COMPACT_MUTEX_TSAN 1
#endif
#ifdef SLUICE_COMPACT_MUTEX_TSAN
#include <sanitizer/tsan_interface.h>
#endif

// A mutex in four bytes, for locks that exist once per client and are rarely contended (a
// session's lock: std::mutex is 40 bytes, about a twentieth of what an idle connection costs,
// broker/README.md "Per connection memory and performance").
//
// Three states in one word: 0 free, 1 held, 2 held and someone may be waiting. Taking it is
// one compare-and-swap; a contended lock spins briefly (sections are short), then parks on the
// word (std::atomic wait, a futex on Linux); unlocking wakes a waiter only from state 2.
// Not recursive, no owner check; it meets Lockable, so std::lock_guard and std::unique_lock work.
//
// ThreadSanitizer is told it is a mutex (its annotations), so it reports races and lock-order
// inversions through it as it does through std::mutex.
//
// Threads: any (it is a lock).
namespace sluice::broker {

class compact_mutex {
  public:
    compact_mutex() noexcept {
#ifdef SLUICE_COMPACT_MUTEX_TSAN
        __tsan_mutex_create(this, __tsan_mutex_not_static);
#endif
    }
    ~compact_mutex() {
#ifdef SLUICE_COMPACT_MUTEX_TSAN
        __tsan_mutex_destroy(this, 0);
#endif
    }
    compact_mutex(const compact_mutex&) = delete;
    compact_mutex& operator=(const compact_mutex&) = delete;

    void lock() noexcept {
#ifdef SLUICE_COMPACT_MUTEX_TSAN
        __tsan_mutex_pre_lock(this, 0);
#endif
        std::uint32_t expected = 0;
        if (!state_.compare_exchange_strong(expected, 1, std::memory_order_acquire,
                                            std::memory_order_relaxed))
            lock_contended();
#ifdef SLUICE_COMPACT_MUTEX_TSAN
        __tsan_mutex_post_lock(this, 0, 0);
#endif
    }

    bool try_lock() noexcept {
#ifdef SLUICE_COMPACT_MUTEX_TSAN
        __tsan_mutex_pre_lock(this, __tsan_mutex_try_lock);
#endif
        std::uint32_t expected = 0;
        const bool ok = state_.compare_exchange_strong(expected, 1, std::memory_order_acquire,
                                                       std::memory_order_relaxed);
#ifdef SLUICE_COMPACT_MUTEX_TSAN
        __tsan_mutex_post_lock(this, ok ? __tsan_mutex_try_lock : __tsan_mutex_try_lock_failed,
                               0);
#endif
        return ok;
    }

    void unlock() noexcept {
#ifdef SLUICE_COMPACT_MUTEX_TSAN
        __tsan_mutex_pre_unlock(this, 0);
#endif
        if (state_.exchange(0, std::memory_order_release) == 2) state_.notify_one();
#ifdef SLUICE_COMPACT_MUTEX_TSAN
        __tsan_mutex_post_unlock(this, 0);
#endif
    }

  private:
    void lock_contended() noexcept {
        // The holder is most likely running on another core and about to leave a short
        // section: spin a little before parking.
        for (int i = 0; i < 64; ++i) {
            std::uint32_t s = state_.load(std::memory_order_relaxed);
            if (s == 0 && state_.compare_exchange_weak(s, 1, std::memory_order_acquire,
                                                       std::memory_order_relaxed))
                return;
#if defined(__x86_64__) || defined(__i386__)
            __builtin_ia32_pause();
#endif
        }
        // Mark it contended; whoever unlocks from 2 wakes one waiter. Taking it here leaves
        // it at 2, which costs at most one needless wake-up.
        while (state_.exchange(2, std::memory_order_acquire) != 0)
            state_.wait(2, std::memory_order_relaxed);
    }

    std::atomic<std::uint32_t> state_{0};
};

static_assert(sizeof(compact_mutex) == 4);

}  // namespace sluice::broker

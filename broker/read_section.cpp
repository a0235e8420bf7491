#include "broker/read_section.hpp"

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <thread>

namespace sluice::broker {
namespace {

// One per thread that ever read. `seq` is odd while the thread is inside a section; only the
// owning thread writes it. Slots form a push-only list, so a writer can walk it without a lock.
struct alignas(64) slot {
    std::atomic<std::uint64_t> seq{0};
    std::atomic<bool> claimed{true};
    slot* next = nullptr;
    unsigned depth = 0;  // nesting, owning thread only
};

std::atomic<slot*> slots{nullptr};

slot* claim_slot() {
    for (slot* s = slots.load(std::memory_order_acquire); s; s = s->next) {
        bool free = false;
        if (s->claimed.compare_exchange_strong(free, true, std::memory_order_acq_rel)) return s;
    }
    auto* s = new slot;  // reachable from `slots` for the life of the process
    slot* head = slots.load(std::memory_order_relaxed);
    do {
        s->next = head;
    } while (!slots.compare_exchange_weak(head, s, std::memory_order_release,
                                          std::memory_order_relaxed));
    return s;
}

// Gives the slot back when its thread exits (its seq is even then: no section is open).
struct slot_holder {
    slot* s = claim_slot();
    ~slot_holder() { s->claimed.store(false, std::memory_order_release); }
};

slot& my_slot() {
    thread_local slot_holder holder;
    return *holder.s;
}

}  // namespace

read_section::read_section() {
    slot& s = my_slot();
    if (s.depth++ == 0) {
        // Odd: open. seq_cst so that the store is ordered before the section's loads, whether
        // or not they go through a lock.
        s.seq.store(s.seq.load(std::memory_order_relaxed) + 1, std::memory_order_seq_cst);
    }
}

read_section::~read_section() {
    slot& s = my_slot();
    if (--s.depth == 0)
        s.seq.store(s.seq.load(std::memory_order_relaxed) + 1, std::memory_order_release);
}

void wait_for_readers() {
    // Order the writer's earlier stores (unlinking what it removed) before reading the slots.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    for (slot* s = slots.load(std::memory_order_acquire); s; s = s->next) {
        const std::uint64_t seen = s->seq.load(std::memory_order_acquire);
        if ((seen & 1) == 0) continue;
        // Inside a section that may predate the call: wait until it ends (any change of seq
        // means it did). Sections are short (one route), so yield rather than sleep.
        for (int spins = 0; s->seq.load(std::memory_order_acquire) == seen; ++spins)
            if (spins > 64) std::this_thread::yield();
    }
}

writer_first_mutex::writer_first_mutex() {
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    if (pthread_rwlock_init(&lock_, &attr) != 0) std::abort();
    pthread_rwlockattr_destroy(&attr);
}

writer_first_mutex::~writer_first_mutex() {
    pthread_rwlock_destroy(&lock_);
}

void writer_first_mutex::lock() {
    pthread_rwlock_wrlock(&lock_);
}
void writer_first_mutex::unlock() {
    pthread_rwlock_unlock(&lock_);
}
void writer_first_mutex::lock_shared() {
    pthread_rwlock_rdlock(&lock_);
}
void writer_first_mutex::unlock_shared() {
    pthread_rwlock_unlock(&lock_);
}

}  // namespace sluice::broker

#include "broker/read_section.hpp"

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <thread>

#include "broker/thread_slots.hpp"

namespace sluice::broker {
namespace {

// One per thread that ever read (broker/thread_slots.hpp). `seq` is odd while the thread is
// inside a section; only the owning thread writes it. A slot is given back with an even seq
// (a thread that exits has closed its sections).
struct reader_slot {
    std::atomic<std::uint64_t> seq{0};
    unsigned depth = 0;  // nesting, owning thread only
};
struct reader_tag {};
using readers = thread_slots<reader_slot, reader_tag>;

}  // namespace

read_section::read_section() {
    reader_slot& s = readers::mine();
    if (s.depth++ == 0) {
        // Odd: open. Relaxed is enough because every section takes the lock its writers
        // unlink under (the router's `mu_`) after opening: if the reader holds that lock
        // before a writer, the reader's unlock synchronizes with the writer's lock, so the
        // writer's later wait_for_readers() sees this store; if after, the reader cannot
        // find what the writer unlinked. (A seq_cst store here, a locked exchange, cost
        // about 10 ns per routed message.)
        s.seq.store(s.seq.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    }
}

read_section::~read_section() {
    reader_slot& s = readers::mine();
    if (--s.depth == 0)
        s.seq.store(s.seq.load(std::memory_order_relaxed) + 1, std::memory_order_release);
}

void wait_for_readers() {
    // Order the writer's earlier stores (unlinking what it removed) before reading the slots.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    readers::for_each([](const reader_slot& s) {
        const std::uint64_t seen = s.seq.load(std::memory_order_acquire);
        if ((seen & 1) == 0) return;
        // Inside a section that may predate the call: wait until it ends (any change of seq
        // means it did). Sections are short (one route), so yield rather than sleep.
        for (int spins = 0; s.seq.load(std::memory_order_acquire) == seen; ++spins)
            if (spins > 64) std::this_thread::yield();
    });
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

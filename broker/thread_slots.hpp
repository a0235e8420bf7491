#pragma once

#include <atomic>

// Process-wide slots, one per thread that uses them, each written only by the thread that
// holds it: the thread can update its slot with plain loads and stores instead of locked
// read-modify-writes, and a reader that wants the whole picture walks every slot.
//
// A thread claims a slot on first use and gives it back when it exits; slots are reused by
// later threads (with their contents as left) and never freed, so a walk needs no lock.
// `Value` is what one slot holds (its fields are typically relaxed atomics, read by walkers);
// `Tag` keeps unrelated users apart.
//
// Threads: any.
namespace sluice::broker {

template <class Value, class Tag>
class thread_slots {
  public:
    // This thread's slot (claimed on the first call).
    static Value& mine() {
        thread_local holder h;
        return h.s->value;
    }

    // Calls f(const Value&) for every slot ever claimed, held or not.
    template <class F>
    static void for_each(F&& f) {
        for (const slot* s = head().load(std::memory_order_acquire); s; s = s->next) f(s->value);
    }

  private:
    struct alignas(64) slot {
        Value value{};
        std::atomic<bool> claimed{true};
        slot* next = nullptr;
    };

    static std::atomic<slot*>& head() {
        static std::atomic<slot*> h{nullptr};
        return h;
    }

    static slot* claim() {
        for (slot* s = head().load(std::memory_order_acquire); s; s = s->next) {
            bool free = false;
            if (s->claimed.compare_exchange_strong(free, true, std::memory_order_acq_rel)) return s;
        }
        auto* s = new slot;  // reachable from head() for the life of the process
        slot* first = head().load(std::memory_order_relaxed);
        do {
            s->next = first;
        } while (!head().compare_exchange_weak(first, s, std::memory_order_release,
                                               std::memory_order_relaxed));
        return s;
    }

    // Gives the slot back when its thread exits.
    struct holder {
        slot* s = claim();
        ~holder() { s->claimed.store(false, std::memory_order_release); }
    };
};

}  // namespace sluice::broker

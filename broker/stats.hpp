#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include "broker/io_pool.hpp"

// Broker counters for $SYS/broker/...: one cache-line-sized slot per io thread (plus one for
// other threads), so counting never contends; readers sum the slots.
// Threads: any (relaxed atomics).
namespace sluice::broker {

struct alignas(64) counter_slot {
    std::atomic<std::uint64_t> messages_in{0};
    std::atomic<std::uint64_t> messages_out{0};
    std::atomic<std::uint64_t> bytes_in{0};
    std::atomic<std::uint64_t> bytes_out{0};
    std::atomic<std::uint64_t> dropped{0};  // QoS 0 past a full send queue, full session queues
    std::atomic<std::uint64_t> parked{0};   // QoS 1/2 publishes held back for a full receiver
    // For /metrics (docs/operations.md): by MQTT packet type (index = type, 1..15) and by QoS.
    std::atomic<std::uint64_t> packets_in[16]{};
    std::atomic<std::uint64_t> packets_out[16]{};
    std::atomic<std::uint64_t> packet_bytes_in[16]{};
    std::atomic<std::uint64_t> packet_bytes_out[16]{};
    std::atomic<std::uint64_t> messages_in_qos[3]{};
    std::atomic<std::uint64_t> messages_out_qos[3]{};
    // True for an io thread's own slot: that thread is its only writer.
    bool owned = false;
};

struct counter_totals {
    std::uint64_t messages_in = 0, messages_out = 0, bytes_in = 0, bytes_out = 0, dropped = 0;
};

class broker_stats {
  public:
    explicit broker_stats(std::size_t io_threads) : slots_(io_threads + 1) {
        for (std::size_t i = 0; i < io_threads; ++i) slots_[i].owned = true;
    }

    counter_slot& local() {
        int i = current_io_thread();
        return slots_[i >= 0 && static_cast<std::size_t>(i) + 1 < slots_.size()
                          ? i
                          : slots_.size() - 1];
    }
    // Adds to counter `c` of `slot` (from local()). The slot an io thread owns has no other
    // writer, so a plain load and store will do: a locked add per counter, eight per
    // delivered message, was about 40 ns per message at full speed. The slot that other
    // threads share takes the locked add.
    static void add(counter_slot& slot, std::atomic<std::uint64_t>& c, std::uint64_t n) {
        if (slot.owned)
            c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
        else
            c.fetch_add(n, std::memory_order_relaxed);
    }

    // Adds n to one counter of this thread's slot.
    void add_local(std::atomic<std::uint64_t> counter_slot::*counter, std::uint64_t n) {
        auto& slot = local();
        add(slot, slot.*counter, n);
    }

    // Every slot, for readers that sum more than totals() does (broker/broker_metrics.cpp).
    const std::vector<counter_slot>& slots() const { return slots_; }

    counter_totals totals() const {
        counter_totals t;
        for (const auto& s : slots_) {
            t.messages_in += s.messages_in.load(std::memory_order_relaxed);
            t.messages_out += s.messages_out.load(std::memory_order_relaxed);
            t.bytes_in += s.bytes_in.load(std::memory_order_relaxed);
            t.bytes_out += s.bytes_out.load(std::memory_order_relaxed);
            t.dropped += s.dropped.load(std::memory_order_relaxed);
        }
        return t;
    }

    std::atomic<std::int64_t> clients_connected{0};

  private:
    std::vector<counter_slot> slots_;
};

}  // namespace sluice::broker

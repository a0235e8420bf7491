#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

#include "broker/io_pool.hpp"

// Kafka requests handled, by API key, for /metrics (docs/operations.md): one cache-line-aligned
// slot per io thread, as broker_stats does for MQTT, so counting never contends; a scrape sums
// the slots. Threads: count() from any thread; totals() from any thread.
namespace sluice::broker {

class kafka_request_counts {
  public:
    static constexpr std::size_t keys = 64;  // Kafka API keys in use are below this

    void count(int api_key) {
        if (api_key < 0 || static_cast<std::size_t>(api_key) >= keys) return;
        const int t = current_io_thread();
        auto& s = slots_[t >= 0 && static_cast<std::size_t>(t) + 1 < slots_.size()
                             ? static_cast<std::size_t>(t)
                             : slots_.size() - 1];
        s.n[api_key].fetch_add(1, std::memory_order_relaxed);
    }
    std::array<std::uint64_t, keys> totals() const {
        std::array<std::uint64_t, keys> out{};
        for (const auto& s : slots_)
            for (std::size_t k = 0; k < keys; ++k) out[k] += s.n[k].load(std::memory_order_relaxed);
        return out;
    }

  private:
    struct alignas(64) slot {
        std::atomic<std::uint64_t> n[keys]{};
    };
    std::array<slot, 33> slots_{};  // 32 io threads, then one shared by the rest
};

}  // namespace sluice::broker

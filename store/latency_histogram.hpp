#pragma once
// A fixed-bucket latency histogram for the operations page (fsync latency of a partition):
// one relaxed atomic per bucket, written by one thread (the partition's writer) and read by
// any (a metrics scrape). The bounds are in seconds, Prometheus style, and never change, so a
// reader needs no lock and the writer pays two relaxed adds per observation.
// Thread: observe() from one writer at a time; snapshot() from any thread.

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>

namespace sluice::store {

class latency_histogram {
  public:
    // Upper bounds in seconds (the last bucket, +Inf, is implicit): 50 us .. 2.5 s covers an
    // fdatasync on NVMe through a struggling network disk.
    static constexpr std::array<double, 14> bounds{0.00005, 0.0001, 0.00025, 0.0005, 0.001,
                                                   0.0025,  0.005,  0.01,    0.025,  0.05,
                                                   0.1,     0.25,   0.5,     2.5};

    void observe(std::chrono::nanoseconds d) {
        const double s = std::chrono::duration<double>(d).count();
        std::size_t i = 0;
        while (i < bounds.size() && s > bounds[i]) ++i;
        counts_[i].fetch_add(1, std::memory_order_relaxed);
        sum_ns_.fetch_add(static_cast<std::uint64_t>(d.count() < 0 ? 0 : d.count()),
                          std::memory_order_relaxed);
    }

    struct snapshot_t {
        std::array<std::uint64_t, bounds.size() + 1> counts{};  // per bucket, not cumulative
        std::uint64_t sum_ns = 0;
    };
    snapshot_t snapshot() const {
        snapshot_t s;
        for (std::size_t i = 0; i < counts_.size(); ++i)
            s.counts[i] = counts_[i].load(std::memory_order_relaxed);
        s.sum_ns = sum_ns_.load(std::memory_order_relaxed);
        return s;
    }

  private:
    std::array<std::atomic<std::uint64_t>, bounds.size() + 1> counts_{};
    std::atomic<std::uint64_t> sum_ns_{0};
};

}  // namespace sluice::store

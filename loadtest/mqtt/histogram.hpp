#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

namespace sluice::bench {

// A latency histogram in the manner of HdrHistogram: values (microseconds) below 2048 are
// counted exactly; above that each power of two is split into 1024 equal buckets, so every
// recorded value is known to within 0.1% at a fixed memory cost and recording is O(1).
// Histograms from different worker processes merge by adding counts, which is why the
// percentiles of a whole run are exact over all its samples rather than an average of
// per-worker percentiles.
//
// Threads: not synchronised; one thread records, merging happens after recording stops.
class histogram {
public:
    // Values above this are clamped to it (about 19 hours).
    static constexpr std::uint64_t max_trackable = (std::uint64_t{1} << 36) - 1;

    histogram();

    void record(std::uint64_t value, std::uint64_t times = 1);
    void merge(const histogram& other);

    std::uint64_t count() const { return count_; }
    std::uint64_t min() const { return count_ ? min_ : 0; }
    std::uint64_t max() const { return max_; }
    double mean() const;

    // The smallest recorded value v such that at least `percentile`% of the samples are <= v,
    // reported as the highest value its bucket stands for (HdrHistogram's convention, which
    // never under-reports a tail), capped at the largest value actually recorded.
    std::uint64_t value_at_percentile(double percentile) const;

    // Sparse form for carrying a histogram from a worker to the coordinator:
    // {"buckets": [[index, count], ...], "min": .., "max": .., "sum": ..}.
    nlohmann::json to_json() const;
    // Returns false (and leaves *this unchanged) on a malformed document.
    bool from_json(const nlohmann::json& j);

    // Exposed for tests: the bucket a value falls in and the range of values a bucket holds.
    static std::size_t bucket_of(std::uint64_t value);
    static std::uint64_t lowest_in(std::size_t bucket);
    static std::uint64_t highest_in(std::size_t bucket);
    static std::size_t bucket_count();

private:
    std::vector<std::uint64_t> counts_;
    std::uint64_t count_ = 0;
    std::uint64_t min_ = 0;
    std::uint64_t max_ = 0;
    double sum_ = 0;
};

}  // namespace sluice::bench

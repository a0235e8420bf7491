#include "loadtest/mqtt/histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace sluice::bench {
namespace {
// 2^sub_bits values are exact; each later power of two has 2^(sub_bits-1) buckets.
constexpr unsigned sub_bits = 11;
constexpr std::uint64_t exact_limit = std::uint64_t{1} << sub_bits;
constexpr std::uint64_t half = exact_limit / 2;
constexpr unsigned top_bit = 36;  // values are < 2^36

// Number of bits a value in bucket group `shift` is shifted right by.
unsigned shift_of(std::uint64_t value) {
    const unsigned width = static_cast<unsigned>(std::bit_width(value));  // value >= exact_limit
    return width - sub_bits;
}
}  // namespace

std::size_t histogram::bucket_count() {
    // Buckets [0, exact_limit) are exact; shift s (1..top_bit-sub_bits) adds `half` more each.
    return static_cast<std::size_t>(exact_limit + half * (top_bit - sub_bits));
}

std::size_t histogram::bucket_of(std::uint64_t value) {
    value = std::min(value, max_trackable);
    if (value < exact_limit) return static_cast<std::size_t>(value);
    const unsigned s = shift_of(value);
    // (value >> s) lies in [half, exact_limit); shift s starts at exact_limit + (s-1)*half.
    return static_cast<std::size_t>(exact_limit + (s - 1) * half + ((value >> s) - half));
}

std::uint64_t histogram::lowest_in(std::size_t bucket) {
    if (bucket < exact_limit) return bucket;
    const std::uint64_t rel = bucket - exact_limit;
    const unsigned s = static_cast<unsigned>(rel / half) + 1;
    return (half + rel % half) << s;
}

std::uint64_t histogram::highest_in(std::size_t bucket) {
    if (bucket < exact_limit) return bucket;
    const unsigned s = static_cast<unsigned>((bucket - exact_limit) / half) + 1;
    return lowest_in(bucket) + ((std::uint64_t{1} << s) - 1);
}

histogram::histogram() : counts_(bucket_count(), 0) {}

void histogram::record(std::uint64_t value, std::uint64_t times) {
    if (times == 0) return;
    value = std::min(value, max_trackable);
    counts_[bucket_of(value)] += times;
    if (count_ == 0 || value < min_) min_ = value;
    max_ = std::max(max_, value);
    count_ += times;
    sum_ += static_cast<double>(value) * static_cast<double>(times);
}

void histogram::merge(const histogram& other) {
    if (other.count_ == 0) return;
    for (std::size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
    min_ = count_ == 0 ? other.min_ : std::min(min_, other.min_);
    max_ = std::max(max_, other.max_);
    count_ += other.count_;
    sum_ += other.sum_;
}

double histogram::mean() const {
    return count_ ? sum_ / static_cast<double>(count_) : 0.0;
}

std::uint64_t histogram::value_at_percentile(double percentile) const {
    if (count_ == 0) return 0;
    percentile = std::clamp(percentile, 0.0, 100.0);
    // Rank of the sample we want, 1-based; at least the first sample.
    // The epsilon keeps 99.9% of 1000 samples at rank 999 despite 99.9 / 100 > 0.999.
    auto rank = static_cast<std::uint64_t>(
        std::ceil(percentile / 100.0 * static_cast<double>(count_) - 1e-9));
    rank = std::clamp<std::uint64_t>(rank, 1, count_);
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < counts_.size(); ++i) {
        seen += counts_[i];
        if (seen >= rank) return std::min(highest_in(i), max_);
    }
    return max_;
}

nlohmann::json histogram::to_json() const {
    nlohmann::json buckets = nlohmann::json::array();
    for (std::size_t i = 0; i < counts_.size(); ++i)
        if (counts_[i]) buckets.push_back({i, counts_[i]});
    return {{"buckets", std::move(buckets)}, {"min", min()}, {"max", max_}, {"sum", sum_}};
}

bool histogram::from_json(const nlohmann::json& j) {
    if (!j.is_object() || !j.contains("buckets") || !j["buckets"].is_array()) return false;
    histogram h;
    for (const auto& b : j["buckets"]) {
        if (!b.is_array() || b.size() != 2 || !b[0].is_number_unsigned() ||
            !b[1].is_number_unsigned())
            return false;
        const auto index = b[0].get<std::uint64_t>();
        if (index >= h.counts_.size()) return false;
        const auto n = b[1].get<std::uint64_t>();
        h.counts_[index] += n;
        h.count_ += n;
    }
    if (h.count_ > 0) {
        if (!j.value("min", nlohmann::json()).is_number_unsigned() ||
            !j.value("max", nlohmann::json()).is_number_unsigned() ||
            !j.value("sum", nlohmann::json()).is_number())
            return false;
        h.min_ = j["min"].get<std::uint64_t>();
        h.max_ = j["max"].get<std::uint64_t>();
        h.sum_ = j["sum"].get<double>();
    }
    *this = std::move(h);
    return true;
}

}  // namespace sluice::bench

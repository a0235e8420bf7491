#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

// Metrics for GET /metrics (docs/operations.md): families of samples in the Prometheus text
// exposition format 0.0.4, and a registry that components add collectors to.
//
// Nothing here counts: counters live where the events happen (per-io-thread slots in
// broker/stats.hpp, atomics in the store and listeners) and a collector reads them when
// /metrics is scraped, so the hot paths never see this file.
// Threads: a family is built and encoded by one thread; the registry is safe from any thread.
namespace sluice::broker::metrics {

enum class metric_type { counter, gauge, histogram };

using labels = std::vector<std::pair<std::string, std::string>>;

struct sample {
    labels label_set;
    double value = 0;
};

// One histogram series: per-bucket counts (not cumulative) for `bounds` plus +Inf.
struct histogram_sample {
    labels label_set;
    std::vector<double> bounds;
    std::vector<std::uint64_t> counts;  // bounds.size() + 1 entries
    double sum = 0;
};

// A metric family: every series of one name. Counters are named `..._total` (promtool
// insists); histograms get their _bucket, _sum and _count series from encode().
struct family {
    std::string name;
    std::string help;
    metric_type type = metric_type::gauge;
    std::vector<sample> samples;
    std::vector<histogram_sample> histograms;

    family& add(double value, labels l = {}) {
        samples.push_back({std::move(l), value});
        return *this;
    }
};

// What a collector fills at scrape time.
class family_list {
  public:
    family& counter(std::string name, std::string help) {
        return add(std::move(name), std::move(help), metric_type::counter);
    }
    family& gauge(std::string name, std::string help) {
        return add(std::move(name), std::move(help), metric_type::gauge);
    }
    family& histogram(std::string name, std::string help) {
        return add(std::move(name), std::move(help), metric_type::histogram);
    }
    // A copy, in the order the families were first named.
    std::vector<family> families() const { return {families_.begin(), families_.end()}; }

  private:
    family& add(std::string name, std::string help, metric_type t);
    std::deque<family> families_;  // a deque: the references handed out stay valid
};

// The text format 0.0.4: # HELP and # TYPE per family, one line per sample, label values
// escaped (backslash, double quote, newline), families with no series left out.
std::string encode(const std::vector<family>& families);
// A sample value as the format spells it (integers without exponent, +Inf, -Inf, NaN).
std::string format_value(double v);
// A label value escaped for the text format.
std::string escape_label_value(std::string_view v);

// Collectors by name: the broker's own (broker/broker_metrics.hpp) and those of components
// that register later (the Kafka listener's request counts and consumer-group lag).
class registry {
  public:
    using collector = std::function<void(family_list&)>;
    // Adds or replaces the collector `name`.
    void add(std::string name, collector fn);
    void remove(std::string_view name);
    // Runs every collector (in the order they were added) and encodes the result.
    std::string scrape() const;

  private:
    mutable std::mutex mu_;  // guards collectors_; held while scraping (collectors are quick)
    std::vector<std::pair<std::string, collector>> collectors_;
};

}  // namespace sluice::broker::metrics

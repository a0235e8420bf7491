#pragma once

#include <cstdint>
#include <optional>

namespace sluice::bench {

// A sample of another process's resource use, read from /proc/<pid>/stat and
// /proc/<pid>/status: the figures a benchmark reports next to its throughput, because on a
// small machine the load generator competes with the broker for the same cores.
struct process_sample {
    double cpu_seconds = 0;      // utime + stime
    std::uint64_t rss_bytes = 0; // VmRSS
    std::uint64_t threads = 0;
};

// Nothing when the process does not exist (or /proc is unreadable).
std::optional<process_sample> sample_process(int pid);

}  // namespace sluice::bench

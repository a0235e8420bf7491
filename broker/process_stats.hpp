#pragma once

#include <cstdint>
#include <optional>

// This process's CPU time and resident memory, from /proc/self (Linux), for /metrics.
namespace sluice::broker {

struct process_stats {
    double cpu_seconds = 0;        // user + system
    std::uint64_t resident_bytes = 0;
    std::uint64_t virtual_bytes = 0;
    double start_time_seconds = 0;  // since the Unix epoch
    std::uint64_t open_fds = 0;
};

// nullopt when /proc cannot be read.
std::optional<process_stats> read_process_stats();

}  // namespace sluice::broker

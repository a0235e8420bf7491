#include "broker/process_stats.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace sluice::broker {

namespace {

// Seconds since the epoch at which the machine booted (/proc/stat "btime").
std::optional<double> boot_time() {
    std::ifstream in("/proc/stat");
    std::string key;
    while (in >> key) {
        if (key == "btime") {
            double v = 0;
            in >> v;
            return v;
        }
        in.ignore(1 << 20, '\n');
    }
    return std::nullopt;
}

}  // namespace

std::optional<process_stats> read_process_stats() {
    std::ifstream in("/proc/self/stat");
    std::string line;
    if (!std::getline(in, line)) return std::nullopt;
    // The command name (field 2) is in parentheses and may hold spaces: fields after the last ')'.
    auto close = line.rfind(')');
    if (close == std::string::npos) return std::nullopt;
    std::istringstream rest(line.substr(close + 2));
    // Fields 3.. : state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime
    // stime cutime cstime priority nice threads itrealvalue starttime vsize rss
    std::string f[22];
    for (auto& x : f)
        if (!(rest >> x)) return std::nullopt;
    const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
    const double page = static_cast<double>(::sysconf(_SC_PAGESIZE));
    process_stats s;
    s.cpu_seconds = (std::stod(f[11]) + std::stod(f[12])) / ticks;
    s.virtual_bytes = std::stoull(f[20]);
    s.resident_bytes = static_cast<std::uint64_t>(std::stod(f[21]) * page);
    if (auto bt = boot_time()) s.start_time_seconds = *bt + std::stod(f[19]) / ticks;
    std::error_code ec;
    for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
        ++s.open_fds;
    return s;
}

}  // namespace sluice::broker

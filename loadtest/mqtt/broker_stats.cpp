#include "loadtest/mqtt/broker_stats.hpp"

#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

namespace sluice::bench {

std::optional<process_sample> sample_process(int pid) {
    const std::string dir = "/proc/" + std::to_string(pid);
    process_sample s;
    {
        std::ifstream stat(dir + "/stat");
        std::string line;
        if (!std::getline(stat, line)) return std::nullopt;
        // The command name (field 2) may contain spaces and parentheses; fields after the last
        // ')' are plain numbers: state is field 3, utime 14, stime 15.
        const auto close = line.rfind(')');
        if (close == std::string::npos) return std::nullopt;
        std::istringstream rest(line.substr(close + 1));
        std::string field;
        unsigned long long utime = 0, stime = 0;
        for (int n = 3; n <= 15 && rest >> field; ++n) {
            if (n == 14) utime = std::stoull(field);
            if (n == 15) stime = std::stoull(field);
        }
        const long ticks = sysconf(_SC_CLK_TCK);
        s.cpu_seconds = static_cast<double>(utime + stime) / static_cast<double>(ticks > 0 ? ticks : 100);
    }
    {
        std::ifstream status(dir + "/status");
        std::string key;
        while (status >> key) {
            if (key == "VmRSS:") {
                std::uint64_t kb = 0;
                status >> kb;
                s.rss_bytes = kb * 1024;
            } else if (key == "Threads:") {
                status >> s.threads;
            }
            status.ignore(1 << 20, '\n');
        }
    }
    return s;
}

}  // namespace sluice::bench

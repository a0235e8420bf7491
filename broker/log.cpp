#include "broker/log.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>

namespace sluice::broker {
namespace {
std::atomic<int> current_level{static_cast<int>(log_level::info)};
}

std::optional<log_level> parse_log_level(std::string_view name) {
    if (name == "error") return log_level::error;
    if (name == "warn") return log_level::warn;
    if (name == "info") return log_level::info;
    if (name == "debug") return log_level::debug;
    if (name == "trace") return log_level::trace;
    return std::nullopt;
}

std::string_view to_string(log_level level) {
    switch (level) {
        case log_level::error:
            return "error";
        case log_level::warn:
            return "warn";
        case log_level::info:
            return "info";
        case log_level::debug:
            return "debug";
        case log_level::trace:
            return "trace";
    }
    return "?";
}

void set_log_level(log_level level) {
    current_level.store(static_cast<int>(level));
}

bool log_enabled(log_level level) {
    return static_cast<int>(level) <= current_level.load(std::memory_order_relaxed);
}

void write_log_line(log_level level, std::string_view text) {
    using namespace std::chrono;
    auto now = system_clock::now();
    std::time_t secs = system_clock::to_time_t(now);
    auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char stamp[96];
    std::snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<int>(ms));
    std::string line;
    line.reserve(text.size() + 48);
    line += stamp;
    line += to_string(level);
    line += ' ';
    line += text;
    line += '\n';
    // One write(2) per line: lines from different threads never interleave.
    ssize_t ignored = ::write(STDERR_FILENO, line.data(), line.size());
    (void)ignored;
}

}  // namespace sluice::broker

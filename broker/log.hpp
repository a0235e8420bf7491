#pragma once

#include <atomic>
#include <optional>
#include <sstream>
#include <string_view>

// Levelled logging to stderr. One line per call, written with a single write so lines from
// different io threads never interleave. Threads: any.
namespace sluice::broker {

enum class log_level : int { error = 0, warn = 1, info = 2, debug = 3, trace = 4 };

std::optional<log_level> parse_log_level(std::string_view name);
std::string_view to_string(log_level level);

void set_log_level(log_level level);
bool log_enabled(log_level level);
void write_log_line(log_level level, std::string_view text);

template <typename... Args>
void log(log_level level, const Args&... args) {
    if (!log_enabled(level)) return;
    std::ostringstream out;
    (out << ... << args);
    write_log_line(level, out.str());
}

template <typename... Args>
void log_error(const Args&... args) {
    log(log_level::error, args...);
}
template <typename... Args>
void log_warn(const Args&... args) {
    log(log_level::warn, args...);
}
template <typename... Args>
void log_info(const Args&... args) {
    log(log_level::info, args...);
}
template <typename... Args>
void log_debug(const Args&... args) {
    log(log_level::debug, args...);
}

}  // namespace sluice::broker

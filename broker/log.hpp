#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <sstream>
#include <string_view>

// Levelled logging to stderr (docs/configuration.md, "Logs"). One line per event, written with a
// single write(2) so lines from different io threads never interleave; plain text by default,
// JSON lines with `log_format` json. A line may name whom it is about (a connection's client id
// and peer address), as fields of their own in both formats. Threads: any.
namespace sluice::broker {

enum class log_level : int { error = 0, warn = 1, info = 2, debug = 3, trace = 4 };
enum class log_format { text, json };

std::optional<log_level> parse_log_level(std::string_view name);
std::string_view to_string(log_level level);
std::optional<log_format> parse_log_format(std::string_view name);

void set_log_level(log_level level);
log_level current_log_level();
void set_log_format(log_format format);
bool log_enabled(log_level level);

// Whom a line is about; empty fields are left out.
struct log_subject {
    std::string_view client_id;
    std::string_view peer;  // "address:port" of the remote end
};

void write_log_line(log_level level, const log_subject& subject, std::string_view text);
inline void write_log_line(log_level level, std::string_view text) {
    write_log_line(level, log_subject{}, text);
}
// The line as write_log_line writes it (with its newline); for tests.
std::string format_log_line(log_level level, const log_subject& subject, std::string_view text,
                            std::chrono::system_clock::time_point when, log_format format);

template <typename... Args>
void log_about(log_level level, const log_subject& subject, const Args&... args) {
    if (!log_enabled(level)) return;
    std::ostringstream out;
    (out << ... << args);
    write_log_line(level, subject, out.str());
}

template <typename... Args>
void log(log_level level, const Args&... args) {
    log_about(level, log_subject{}, args...);
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

// Keeps one kind of event from flooding the log: at most `burst` lines per `interval`; the
// lines past that are counted, and the next line let through says how many were dropped. One
// static instance per call site (or per kind of event). Lock-free: a flood of malformed
// packets on every io thread costs an atomic increment each, not a lock.
class log_rate_limit {
  public:
    explicit log_rate_limit(std::uint32_t burst = 10,
                            std::chrono::milliseconds interval = std::chrono::seconds(10))
        : burst_(burst), interval_ms_(interval.count()) {}

    // True when this event may be logged; `suppressed` is then set to the events dropped since
    // the last one let through.
    bool allow(std::uint64_t& suppressed, std::chrono::steady_clock::time_point now =
                                              std::chrono::steady_clock::now());

  private:
    const std::uint32_t burst_;
    const std::int64_t interval_ms_;
    std::atomic<std::int64_t> window_start_ms_{INT64_MIN};
    std::atomic<std::uint32_t> in_window_{0};
    std::atomic<std::uint64_t> suppressed_{0};
};

// log_about through a rate limit; the line says how many like it were suppressed before it.
template <typename... Args>
void log_limited(log_rate_limit& limit, log_level level, const log_subject& subject,
                 const Args&... args) {
    if (!log_enabled(level)) return;
    std::uint64_t suppressed = 0;
    if (!limit.allow(suppressed)) return;
    if (suppressed)
        log_about(level, subject, args..., " (", suppressed, " similar lines suppressed)");
    else
        log_about(level, subject, args...);
}

}  // namespace sluice::broker

#include "broker/log.hpp"

#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <string>

namespace sluice::broker {
namespace {
std::atomic<int> current_level{static_cast<int>(log_level::info)};
std::atomic<int> current_format{static_cast<int>(log_format::text)};

// JSON string contents: quotes, backslashes and control characters escaped; bytes >= 0x80
// pass through (client ids are UTF-8 by the MQTT spec; a stray byte stays a stray byte).
void append_json_escaped(std::string& out, std::string_view s) {
    for (unsigned char c : s) {
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            default:
                if (c < 0x20) {
                    char buf[8];
                    std::snprintf(buf, sizeof buf, "\\u%04x", c);
                    out += buf;
                } else {
                    out += static_cast<char>(c);
                }
        }
    }
}

// Text lines keep one line per event: a newline inside a message would forge a second line.
void append_text_escaped(std::string& out, std::string_view s) {
    for (char c : s) out += (c == '\n' || c == '\r') ? ' ' : c;
}
}  // namespace

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

std::optional<log_format> parse_log_format(std::string_view name) {
    if (name == "text") return log_format::text;
    if (name == "json") return log_format::json;
    return std::nullopt;
}

log_level current_log_level() {
    return static_cast<log_level>(current_level.load(std::memory_order_relaxed));
}

void set_log_level(log_level level) {
    current_level.store(static_cast<int>(level));
}

void set_log_format(log_format format) {
    current_format.store(static_cast<int>(format));
}

bool log_enabled(log_level level) {
    return static_cast<int>(level) <= current_level.load(std::memory_order_relaxed);
}

std::string format_log_line(log_level level, const log_subject& subject, std::string_view text,
                            std::chrono::system_clock::time_point when, log_format format) {
    using namespace std::chrono;
    std::time_t secs = system_clock::to_time_t(when);
    auto ms = duration_cast<milliseconds>(when.time_since_epoch()).count() % 1000;
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char stamp[64];
    std::snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<int>(ms));
    std::string line;
    line.reserve(text.size() + subject.client_id.size() + subject.peer.size() + 64);
    if (format == log_format::json) {
        line += "{\"time\":\"";
        line += stamp;
        line += "\",\"level\":\"";
        line += to_string(level);
        line += '"';
        if (!subject.client_id.empty()) {
            line += ",\"client_id\":\"";
            append_json_escaped(line, subject.client_id);
            line += '"';
        }
        if (!subject.peer.empty()) {
            line += ",\"peer\":\"";
            append_json_escaped(line, subject.peer);
            line += '"';
        }
        line += ",\"msg\":\"";
        append_json_escaped(line, text);
        line += "\"}\n";
        return line;
    }
    line += stamp;
    line += ' ';
    line += to_string(level);
    line += ' ';
    if (!subject.client_id.empty()) {
        line += "client=";
        append_text_escaped(line, subject.client_id);
        line += ' ';
    }
    if (!subject.peer.empty()) {
        line += "peer=";
        append_text_escaped(line, subject.peer);
        line += ' ';
    }
    append_text_escaped(line, text);
    line += '\n';
    return line;
}

void write_log_line(log_level level, const log_subject& subject, std::string_view text) {
    const auto format = static_cast<log_format>(current_format.load(std::memory_order_relaxed));
    const std::string line =
        format_log_line(level, subject, text, std::chrono::system_clock::now(), format);
    // One write(2) per line: lines from different threads never interleave.
    ssize_t ignored = ::write(STDERR_FILENO, line.data(), line.size());
    (void)ignored;
}

bool log_rate_limit::allow(std::uint64_t& suppressed, std::chrono::steady_clock::time_point now) {
    const std::int64_t now_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
    std::int64_t start = window_start_ms_.load(std::memory_order_relaxed);
    if (start == INT64_MIN || now_ms - start >= interval_ms_) {
        // One thread opens the next window; the others see it and count in it.
        if (window_start_ms_.compare_exchange_strong(start, now_ms, std::memory_order_relaxed))
            in_window_.store(0, std::memory_order_relaxed);
    }
    if (in_window_.fetch_add(1, std::memory_order_relaxed) < burst_) {
        suppressed = suppressed_.exchange(0, std::memory_order_relaxed);
        return true;
    }
    suppressed_.fetch_add(1, std::memory_order_relaxed);
    return false;
}

}  // namespace sluice::broker

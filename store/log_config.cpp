#include "store/log_config.hpp"

#include <sstream>

namespace sluice::store {

const char* to_string(durability d) {
    switch (d) {
        case durability::always:
            return "always";
        case durability::interval:
            return "interval";
        case durability::never:
            return "never";
    }
    return "always";
}

std::optional<durability> parse_durability(const std::string& s) {
    if (s == "always") return durability::always;
    if (s == "interval") return durability::interval;
    if (s == "never") return durability::never;
    return std::nullopt;
}

std::string serialize(const log_config& c) {
    std::ostringstream out;
    out << "sluice-topic-config 1\n"
        << "flush " << to_string(c.flush) << "\n"
        << "flush_interval_ms " << c.flush_interval_ms << "\n"
        << "segment_bytes " << c.segment_bytes << "\n"
        << "segment_ms " << c.segment_ms << "\n"
        << "index_interval_bytes " << c.index_interval_bytes << "\n"
        << "retention_ms " << c.retention_ms << "\n"
        << "retention_bytes " << c.retention_bytes << "\n"
        << "cleanup " << (c.cleanup == cleanup_policy::compact ? "compact" : "delete") << "\n"
        << "delete_retention_ms " << c.delete_retention_ms << "\n"
        << "max_batch_bytes " << c.max_batch_bytes << "\n";
    return out.str();
}

std::optional<log_config> parse_log_config(const std::string& text) {
    std::istringstream in(text);
    std::string magic;
    int version = 0;
    if (!(in >> magic >> version) || magic != "sluice-topic-config" || version != 1)
        return std::nullopt;
    log_config c;
    std::string key;
    std::string value;
    while (in >> key >> value) {
        try {
            if (key == "flush") {
                auto d = parse_durability(value);
                if (!d) return std::nullopt;
                c.flush = *d;
            } else if (key == "flush_interval_ms") {
                c.flush_interval_ms = std::stoll(value);
            } else if (key == "segment_bytes") {
                c.segment_bytes = std::stoull(value);
            } else if (key == "segment_ms") {
                c.segment_ms = std::stoll(value);
            } else if (key == "index_interval_bytes") {
                c.index_interval_bytes = static_cast<std::uint32_t>(std::stoul(value));
            } else if (key == "retention_ms") {
                c.retention_ms = std::stoll(value);
            } else if (key == "retention_bytes") {
                c.retention_bytes = std::stoll(value);
            } else if (key == "cleanup") {
                if (value != "compact" && value != "delete") return std::nullopt;
                c.cleanup = value == "compact" ? cleanup_policy::compact : cleanup_policy::remove;
            } else if (key == "delete_retention_ms") {
                c.delete_retention_ms = std::stoll(value);
            } else if (key == "max_batch_bytes") {
                c.max_batch_bytes = static_cast<std::uint32_t>(std::stoul(value));
            }
        } catch (const std::exception&) {  // stoll on garbage: a bad file, not a crash
            return std::nullopt;
        }
    }
    if (c.segment_bytes < 1024 || c.segment_bytes > 0xFFFFFFFFull || c.flush_interval_ms <= 0)
        return std::nullopt;
    return c;
}

}  // namespace sluice::store

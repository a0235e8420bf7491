#include "mqtt/topic.hpp"

#include <algorithm>

#include "mqtt/utf8.hpp"

namespace sluice::mqtt {

namespace {

constexpr std::string_view share_prefix = "$share/";

bool valid_string(std::string_view s) {
    return !s.empty() && s.size() <= 65'535 && valid_utf8(s);
}

// A non-shared filter: '+' alone in its level, '#' alone in the last level.
bool valid_plain_filter(std::string_view f) {
    if (f.empty()) return false;
    for (std::size_t i = 0; i < f.size(); ++i) {
        const char c = f[i];
        const bool level_start = i == 0 || f[i - 1] == '/';
        const bool level_end = i + 1 == f.size() || f[i + 1] == '/';
        if (c == '+' && !(level_start && level_end)) return false;
        if (c == '#' && !(level_start && i + 1 == f.size())) return false;
    }
    return true;
}

}  // namespace

bool valid_topic_name(std::string_view name) {
    return valid_string(name) && name.find_first_of("+#") == std::string_view::npos;
}

std::optional<topic_filter_parts> parse_topic_filter(std::string_view filter) {
    if (!valid_string(filter)) return std::nullopt;
    if (filter.substr(0, share_prefix.size()) != share_prefix) {
        if (!valid_plain_filter(filter)) return std::nullopt;
        return topic_filter_parts{false, {}, filter};
    }
    const std::string_view rest = filter.substr(share_prefix.size());
    const std::size_t slash = rest.find('/');
    if (slash == std::string_view::npos) return std::nullopt;  // "$share/group" has no filter
    const std::string_view group = rest.substr(0, slash);
    const std::string_view inner = rest.substr(slash + 1);
    if (group.empty() || group.find_first_of("+#") != std::string_view::npos) return std::nullopt;
    if (!valid_plain_filter(inner)) return std::nullopt;
    return topic_filter_parts{true, group, inner};
}

bool valid_topic_filter(std::string_view filter) {
    return parse_topic_filter(filter).has_value();
}

bool topic_matches(std::string_view filter, std::string_view topic) {
    if (filter.empty() || topic.empty()) return false;
    // A filter starting with a wildcard does not match topics starting with '$' [MQTT-4.7.2-1].
    if (topic.front() == '$' && (filter.front() == '+' || filter.front() == '#')) return false;
    std::size_t f = 0;
    std::size_t t = 0;
    while (true) {
        const std::size_t f_end = std::min(filter.find('/', f), filter.size());
        const std::string_view f_level = filter.substr(f, f_end - f);
        if (f_level == "#") return true;     // also matches the parent level ("a/#" matches "a")
        if (t > topic.size()) return false;  // the topic has run out of levels
        const std::size_t t_end = std::min(topic.find('/', t), topic.size());
        const std::string_view t_level = topic.substr(t, t_end - t);
        if (f_level != "+" && f_level != t_level) return false;
        const bool f_last = f_end == filter.size();
        const bool t_last = t_end == topic.size();
        if (f_last && t_last) return true;
        if (f_last) return false;
        f = f_end + 1;
        t = t_last ? topic.size() + 1 : t_end + 1;
    }
}

}  // namespace sluice::mqtt

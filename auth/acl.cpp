#include "auth/acl.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "auth/filter_relation.hpp"
#include "mqtt/topic.hpp"

namespace sluice::auth {

namespace {

constexpr std::string_view kafka_prefix = "kafka:";

std::vector<std::string_view> words(std::string_view line) {
    std::vector<std::string_view> out;
    std::size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
        if (i == line.size()) break;
        const std::size_t start = i;
        while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
        out.push_back(line.substr(start, i - start));
    }
    return out;
}

// '*' matches any run of characters (none included); everything else matches itself.
bool glob_matches(std::string_view pattern, std::string_view s) {
    std::size_t p = 0, i = 0, star = std::string_view::npos, resume = 0;
    while (i < s.size()) {
        if (p < pattern.size() && pattern[p] == '*') {
            star = p++;
            resume = i;
        } else if (p < pattern.size() && pattern[p] == s[i]) {
            ++p;
            ++i;
        } else if (star != std::string_view::npos) {
            p = star + 1;
            i = ++resume;
        } else {
            return false;
        }
    }
    while (p < pattern.size() && pattern[p] == '*') ++p;
    return p == pattern.size();
}

bool subject_matches(const acl_rule& r, const acl_identity& who) {
    switch (r.subject) {
        case acl_subject::all:
            return true;
        case acl_subject::anonymous:
            return !who.username.has_value();
        case acl_subject::user:
            return who.username && glob_matches(r.pattern, *who.username);
        case acl_subject::client:
            return glob_matches(r.pattern, who.client_id);
    }
    return false;
}

bool has(acl_access set, acl_access wanted) {
    return (static_cast<unsigned>(set) & static_cast<unsigned>(wanted)) != 0;
}

// Checks a rule's filter at load time: %c and %u are the only escapes, and the filter is a
// valid non-shared filter once they are filled in.
bool valid_rule_filter(std::string_view filter, acl_domain domain, std::string& what) {
    std::string probe;
    for (std::size_t i = 0; i < filter.size(); ++i) {
        if (filter[i] != '%') {
            probe += filter[i];
            continue;
        }
        if (i + 1 < filter.size() && (filter[i + 1] == 'c' || filter[i + 1] == 'u')) {
            probe += 'x';
            ++i;
            continue;
        }
        what = "'%' must be followed by 'c' (client id) or 'u' (user name)";
        return false;
    }
    const auto parts = mqtt::parse_topic_filter(probe);
    if (!parts || parts->shared) {
        what = "'" + std::string(filter) + "' is not a valid topic filter";
        return false;
    }
    if (domain == acl_domain::kafka && probe.find('/') != std::string::npos) {
        what = "a kafka: filter is one level (Kafka topic names have no '/')";
        return false;
    }
    return true;
}

}  // namespace

bool valid_kafka_topic_name(std::string_view name) {
    if (name.empty() || name.size() > 249 || name == "." || name == "..") return false;
    for (const char c : name) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
        if (!ok) return false;
    }
    return true;
}

std::optional<std::string> substitute_acl_filter(std::string_view filter, const acl_identity& who) {
    const auto usable = [](std::string_view id) {
        // '$' first could reach the broker's own "$SYS/..." namespace through "%c/#".
        return !id.empty() && id.front() != '$' &&
               id.find_first_of("+#/") == std::string_view::npos;
    };
    std::string out;
    for (std::size_t i = 0; i < filter.size(); ++i) {
        if (filter[i] == '%' && i + 1 < filter.size()) {
            if (filter[i + 1] == 'c') {
                if (!usable(who.client_id)) return std::nullopt;
                out += who.client_id;
                ++i;
                continue;
            }
            if (filter[i + 1] == 'u') {
                if (!who.username || !usable(*who.username)) return std::nullopt;
                out += *who.username;
                ++i;
                continue;
            }
        }
        out += filter[i];
    }
    if (!mqtt::valid_topic_filter(out)) return std::nullopt;
    return out;
}

acl_parse_result acl::parse(std::string_view text, std::string_view source,
                            acl_effect default_effect) {
    acl_parse_result result;
    std::vector<acl_rule> rules;
    bool default_seen = false;
    std::size_t line_no = 0;
    std::size_t pos = 0;
    const auto fail = [&](const std::string& what) {
        result.error = std::string(source) + ":" + std::to_string(line_no) + ": " + what;
        return result;
    };
    while (pos < text.size()) {
        ++line_no;
        std::size_t end = text.find('\n', pos);
        if (end == std::string_view::npos) end = text.size();
        std::string_view line = text.substr(pos, end - pos);
        pos = end + 1;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        const auto w = words(line);
        if (w.empty() || w[0].starts_with('#')) continue;

        if (w[0] == "default") {
            if (w.size() != 2 || (w[1] != "allow" && w[1] != "deny"))
                return fail("expected 'default allow' or 'default deny'");
            if (default_seen) return fail("a second 'default' line");
            default_seen = true;
            default_effect = w[1] == "allow" ? acl_effect::allow : acl_effect::deny;
            continue;
        }
        if (w.size() != 4)
            return fail("expected '<allow|deny> <publish|subscribe|readwrite> <who> <filter>'");
        acl_rule r;
        r.line = line_no;
        if (w[0] == "allow")
            r.effect = acl_effect::allow;
        else if (w[0] == "deny")
            r.effect = acl_effect::deny;
        else
            return fail("unknown effect '" + std::string(w[0]) + "' (allow or deny)");

        if (w[1] == "publish")
            r.access = acl_access::publish;
        else if (w[1] == "subscribe")
            r.access = acl_access::subscribe;
        else if (w[1] == "readwrite")
            r.access = acl_access::readwrite;
        else
            return fail("unknown access '" + std::string(w[1]) +
                        "' (publish, subscribe or readwrite)");

        if (w[2] == "all") {
            r.subject = acl_subject::all;
        } else if (w[2] == "anonymous") {
            r.subject = acl_subject::anonymous;
        } else if (w[2].starts_with("user=") && w[2].size() > 5) {
            r.subject = acl_subject::user;
            r.pattern = std::string(w[2].substr(5));
        } else if (w[2].starts_with("client=") && w[2].size() > 7) {
            r.subject = acl_subject::client;
            r.pattern = std::string(w[2].substr(7));
        } else {
            return fail("unknown subject '" + std::string(w[2]) +
                        "' (all, anonymous, user=PATTERN or client=PATTERN)");
        }

        std::string_view filter = w[3];
        if (filter.starts_with(kafka_prefix)) {
            r.domain = acl_domain::kafka;
            filter.remove_prefix(kafka_prefix.size());
        }
        std::string what;
        if (!valid_rule_filter(filter, r.domain, what)) return fail(what);
        r.filter = std::string(filter);
        rules.push_back(std::move(r));
    }
    result.rules.emplace(std::move(rules), default_effect);
    return result;
}

acl_parse_result acl::load(const std::string& path, acl_effect default_effect) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        acl_parse_result r;
        r.error = path + ": cannot open: " + std::strerror(errno);
        return r;
    }
    std::ostringstream text;
    text << in.rdbuf();
    return parse(text.str(), path, default_effect);
}

acl_decision acl::decide(const acl_identity& who, acl_domain domain, acl_access access, target kind,
                         std::string_view name) const {
    for (const acl_rule& r : rules_) {
        if (r.domain != domain || !has(r.access, access) || !subject_matches(r, who)) continue;
        const auto filter = substitute_acl_filter(r.filter, who);
        if (!filter) {
            // An identity that cannot be substituted safely never gains access through the
            // rule; a deny rule it cannot be checked against denies.
            if (r.effect == acl_effect::deny) return {false, &r};
            continue;
        }
        bool applies = false;
        if (kind == target::topic_name)
            applies = mqtt::topic_matches(*filter, name);
        else if (r.effect == acl_effect::allow)
            applies = filter_covers(*filter, name);
        else
            applies = filters_overlap(*filter, name);
        if (applies) return {r.effect == acl_effect::allow, &r};
    }
    return {default_ == acl_effect::allow, nullptr};
}

acl_decision acl::check_publish(const acl_identity& who, std::string_view topic) const {
    if (!mqtt::valid_topic_name(topic)) return {false, nullptr};
    return decide(who, acl_domain::mqtt, acl_access::publish, target::topic_name, topic);
}

acl_decision acl::check_subscribe(const acl_identity& who, std::string_view filter) const {
    const auto parts = mqtt::parse_topic_filter(filter);
    if (!parts) return {false, nullptr};
    return decide(who, acl_domain::mqtt, acl_access::subscribe, target::subscription,
                  parts->filter);
}

acl_decision acl::check_kafka(const acl_identity& who, kafka_operation op,
                              std::string_view topic) const {
    if (!valid_kafka_topic_name(topic)) return {false, nullptr};
    const acl_access access =
        op == kafka_operation::produce ? acl_access::publish : acl_access::subscribe;
    return decide(who, acl_domain::kafka, access, target::topic_name, topic);
}

}  // namespace sluice::auth

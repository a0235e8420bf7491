#include "ingest/ingest_rules.hpp"

#include <charconv>

#include "ingest/partitioner.hpp"
#include "ingest/rule_json.hpp"
#include "mqtt/topic.hpp"
#include "store/store.hpp"

namespace sluice::ingest {
namespace {

constexpr int max_partitions = 10'000;
constexpr std::int64_t max_flush_interval_ms = 24ll * 3600 * 1000;

bool is_sys_topic(std::string_view topic) {
    return topic.substr(0, 4) == "$SYS" && (topic.size() == 4 || topic[4] == '/');
}

// One rule object; false with reader's error set.
bool parse_rule(detail::json_object_reader& in, ingest_rule& rule) {
    if (!in.only_keys(
            {"filter", "log", "log_topic", "partitions", "key", "durability", "flush_interval_ms"}))
        return false;
    std::optional<std::string> filter;
    if (!in.get_string("filter", filter)) return false;
    if (!filter) return in.fail("filter", "required");
    auto parts = mqtt::parse_topic_filter(*filter);
    if (!parts) return in.fail("filter", "not a valid MQTT topic filter");
    if (parts->shared) return in.fail("filter", "a shared subscription is not a topic filter");
    if (is_sys_topic(*filter)) return in.fail("filter", "$SYS topics are never logged");
    rule.filter = *filter;

    std::optional<bool> log;
    if (!in.get_bool("log", log)) return false;
    rule.logged = log.value_or(true);
    if (!rule.logged) {
        for (auto key : {"log_topic", "partitions", "key", "durability", "flush_interval_ms"})
            if (in.has(key)) return in.fail(key, "not allowed with \"log\": false");
        return true;
    }

    std::optional<std::string> log_topic;
    if (!in.get_string("log_topic", log_topic)) return false;
    if (!log_topic) return in.fail("log_topic", "required");
    if (!valid_log_topic(*log_topic))
        return in.fail("log_topic",
                       "must be 1..249 of [a-zA-Z0-9._-], not \".\" or \"..\", not starting "
                       "with \"__\"");
    rule.log_topic = *log_topic;

    std::optional<std::int64_t> partitions;
    if (!in.get_int("partitions", partitions)) return false;
    if (partitions && *partitions < 1) return in.fail("partitions", "must be >= 1");
    if (partitions && *partitions > max_partitions)
        return in.fail("partitions", "must be <= " + std::to_string(max_partitions));
    rule.partitions = static_cast<int>(partitions.value_or(1));

    std::optional<std::string> key;
    if (!in.get_string("key", key)) return false;
    if (key) {
        auto spec = parse_partition_key(*key);
        if (!spec) return in.fail("key", "must be \"client_id\", \"topic\" or \"level:N\"");
        rule.key = *spec;
    }

    std::optional<std::string> durability;
    if (!in.get_string("durability", durability)) return false;
    if (durability) {
        auto d = store::parse_durability(*durability);
        if (!d) return in.fail("durability", "must be \"always\", \"interval\" or \"never\"");
        rule.flush = *d;
    }
    std::optional<std::int64_t> interval;
    if (!in.get_int("flush_interval_ms", interval)) return false;
    if (interval) {
        if (rule.flush != store::durability::interval)
            return in.fail("flush_interval_ms", "only with \"durability\": \"interval\"");
        if (*interval < 1 || *interval > max_flush_interval_ms)
            return in.fail("flush_interval_ms",
                           "must be 1.." + std::to_string(max_flush_interval_ms));
        rule.flush_interval_ms = *interval;
    }
    return true;
}

// Two rules writing one log topic must agree on what the topic is created with.
bool check_same_topic(detail::json_object_reader& in, const ingest_rule& rule,
                      const std::vector<ingest_rule>& earlier) {
    for (std::size_t i = 0; i < earlier.size(); ++i) {
        const ingest_rule& other = earlier[i];
        if (!other.logged || other.log_topic != rule.log_topic) continue;
        const std::string where = " in " + detail::indexed_path("ingest_rules", i);
        if (other.partitions != rule.partitions)
            return in.fail("partitions", "log topic \"" + rule.log_topic + "\" has " +
                                             std::to_string(other.partitions) + " partitions" +
                                             where);
        if (other.flush != rule.flush || other.flush_interval_ms != rule.flush_interval_ms)
            return in.fail("durability",
                           "log topic \"" + rule.log_topic + "\" has another durability" + where);
    }
    return true;
}

}  // namespace

compiled_filter::compiled_filter(std::string_view filter) {
    starts_with_wildcard_ = !filter.empty() && (filter.front() == '+' || filter.front() == '#');
    std::size_t start = 0;
    for (;;) {
        const std::size_t end = std::min(filter.find('/', start), filter.size());
        const std::string_view text = filter.substr(start, end - start);
        if (text == "#")
            levels_.push_back({kind::multi, {}});
        else if (text == "+")
            levels_.push_back({kind::single, {}});
        else
            levels_.push_back({kind::literal, std::string(text)});
        if (end == filter.size()) break;
        start = end + 1;
    }
}

bool compiled_filter::matches(std::string_view topic) const {
    if (topic.empty()) return false;
    // A filter starting with a wildcard does not match topics starting with '$' (MQTT 4.7.2).
    if (topic.front() == '$' && starts_with_wildcard_) return false;
    std::size_t start = 0;
    bool topic_done = false;
    for (const level& l : levels_) {
        if (l.k == kind::multi) return true;  // also matches the parent: "a/#" matches "a"
        if (topic_done) return false;
        const std::size_t end = std::min(topic.find('/', start), topic.size());
        if (l.k == kind::literal && topic.substr(start, end - start) != l.text) return false;
        if (end == topic.size())
            topic_done = true;
        else
            start = end + 1;
    }
    return topic_done;
}

ingest_rules::ingest_rules(std::vector<ingest_rule> rules) : rules_(std::move(rules)) {
    filters_.reserve(rules_.size());
    for (const auto& r : rules_) filters_.emplace_back(r.filter);
}

ingest_rules ingest_rules::defaults() {
    ingest_rule rule;
    rule.filter = "#";
    rule.log_topic = "mqtt";
    rule.partitions = 4;
    rule.key = {key_source::topic, 0};
    rule.flush = store::durability::always;
    return ingest_rules({rule});
}

std::optional<ingest_rules> ingest_rules::parse(const nlohmann::json& rules, std::string& error) {
    try {
        if (rules.is_null() || (rules.is_array() && rules.empty())) return defaults();
        if (!rules.is_array()) {
            error = "ingest_rules: must be an array of objects";
            return std::nullopt;
        }
        std::vector<ingest_rule> parsed;
        for (std::size_t i = 0; i < rules.size(); ++i) {
            const std::string path = detail::indexed_path("ingest_rules", i);
            if (!rules[i].is_object()) {
                error = path + ": must be an object";
                return std::nullopt;
            }
            detail::json_object_reader in(rules[i], path);
            ingest_rule rule;
            if (!parse_rule(in, rule) || (rule.logged && !check_same_topic(in, rule, parsed))) {
                error = in.error();
                return std::nullopt;
            }
            parsed.push_back(std::move(rule));
        }
        return ingest_rules(std::move(parsed));
    } catch (const std::exception& e) {
        error = std::string("ingest_rules: ") + e.what();
        return std::nullopt;
    }
}

const ingest_rule* ingest_rules::match(std::string_view topic) const {
    if (is_sys_topic(topic)) return nullptr;
    for (std::size_t i = 0; i < filters_.size(); ++i)
        if (filters_[i].matches(topic)) return &rules_[i];
    return nullptr;
}

const ingest_rule* ingest_rules::logging_rule(std::string_view topic) const {
    const ingest_rule* r = match(topic);
    return r && r->logged ? r : nullptr;
}

std::vector<log_topic_spec> ingest_rules::log_topics() const {
    std::vector<log_topic_spec> out;
    for (const auto& r : rules_) {
        if (!r.logged) continue;
        bool seen = false;
        for (const auto& t : out) seen = seen || t.name == r.log_topic;
        if (!seen) out.push_back({r.log_topic, r.partitions, log_config_for(r)});
    }
    return out;
}

store::log_config log_config_for(const ingest_rule& rule) {
    store::log_config c;
    c.flush = rule.flush;
    c.flush_interval_ms = rule.flush_interval_ms;
    return c;
}

std::string_view partition_key(const partition_key_spec& spec, std::string_view topic,
                               std::string_view client_id) {
    switch (spec.source) {
        case key_source::client_id:
            return client_id;
        case key_source::topic:
            return topic;
        case key_source::topic_level: {
            std::size_t start = 0;
            for (std::uint16_t n = 0; n < spec.level; ++n) {
                const std::size_t slash = topic.find('/', start);
                if (slash == std::string_view::npos) return topic;  // fewer levels
                start = slash + 1;
            }
            const std::size_t end = std::min(topic.find('/', start), topic.size());
            return topic.substr(start, end - start);
        }
    }
    return topic;
}

int partition_for(const ingest_rule& rule, std::string_view topic, std::string_view client_id) {
    return kafka_partition(partition_key(rule.key, topic, client_id), rule.partitions);
}

std::optional<partition_key_spec> parse_partition_key(std::string_view text) {
    if (text == "client_id") return partition_key_spec{key_source::client_id, 0};
    if (text == "topic") return partition_key_spec{key_source::topic, 0};
    constexpr std::string_view prefix = "level:";
    if (text.substr(0, prefix.size()) != prefix) return std::nullopt;
    const std::string_view digits = text.substr(prefix.size());
    if (digits.empty() || digits.size() > 5 || (digits.size() > 1 && digits[0] == '0'))
        return std::nullopt;
    unsigned value = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (ec != std::errc{} || end != digits.data() + digits.size() || value > 65535)
        return std::nullopt;
    return partition_key_spec{key_source::topic_level, static_cast<std::uint16_t>(value)};
}

std::string to_string(const partition_key_spec& spec) {
    switch (spec.source) {
        case key_source::client_id:
            return "client_id";
        case key_source::topic:
            return "topic";
        case key_source::topic_level:
            return "level:" + std::to_string(spec.level);
    }
    return "topic";
}

bool valid_log_topic(std::string_view name) {
    return store::store::valid_topic_name(std::string(name)) && name.substr(0, 2) != "__";
}

}  // namespace sluice::ingest

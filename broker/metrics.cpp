#include "broker/metrics.hpp"

#include <cmath>
#include <cstdio>

namespace sluice::broker::metrics {

family& family_list::add(std::string name, std::string help, metric_type t) {
    // A second collector naming the same family adds to it: one # TYPE line per name.
    for (auto& f : families_)
        if (f.name == name) return f;
    family f;
    f.name = std::move(name);
    f.help = std::move(help);
    f.type = t;
    return families_.emplace_back(std::move(f));
}

std::string format_value(double v) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    char buf[64];
    if (v == std::floor(v) && std::fabs(v) < 9.0e15)
        std::snprintf(buf, sizeof buf, "%.0f", v);
    else
        std::snprintf(buf, sizeof buf, "%.17g", v);
    return buf;
}

std::string escape_label_value(std::string_view v) {
    std::string out;
    out.reserve(v.size());
    for (char c : v) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '"')
            out += "\\\"";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    return out;
}

namespace {

std::string escape_help(std::string_view v) {
    std::string out;
    for (char c : v) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    return out;
}

void put_labels(std::string& out, const labels& l, const char* extra_name = nullptr,
                const std::string& extra_value = {}) {
    if (l.empty() && !extra_name) return;
    out += '{';
    bool first = true;
    for (const auto& [k, v] : l) {
        if (!first) out += ',';
        first = false;
        out += k;
        out += "=\"";
        out += escape_label_value(v);
        out += '"';
    }
    if (extra_name) {
        if (!first) out += ',';
        out += extra_name;
        out += "=\"";
        out += extra_value;
        out += '"';
    }
    out += '}';
}

const char* type_name(metric_type t) {
    switch (t) {
        case metric_type::counter:
            return "counter";
        case metric_type::histogram:
            return "histogram";
        case metric_type::gauge:
            break;
    }
    return "gauge";
}

}  // namespace

std::string encode(const std::vector<family>& families) {
    std::string out;
    for (const auto& f : families) {
        if (f.samples.empty() && f.histograms.empty()) continue;
        out += "# HELP " + f.name + " " + escape_help(f.help) + "\n";
        out += "# TYPE " + f.name + " " + type_name(f.type) + "\n";
        for (const auto& s : f.samples) {
            out += f.name;
            put_labels(out, s.label_set);
            out += ' ';
            out += format_value(s.value);
            out += '\n';
        }
        for (const auto& h : f.histograms) {
            std::uint64_t cumulative = 0;
            for (std::size_t i = 0; i <= h.bounds.size() && i < h.counts.size(); ++i) {
                cumulative += h.counts[i];
                out += f.name + "_bucket";
                put_labels(out, h.label_set, "le",
                           i < h.bounds.size() ? format_value(h.bounds[i]) : "+Inf");
                out += ' ' + format_value(static_cast<double>(cumulative)) + '\n';
            }
            out += f.name + "_sum";
            put_labels(out, h.label_set);
            out += ' ' + format_value(h.sum) + '\n';
            out += f.name + "_count";
            put_labels(out, h.label_set);
            out += ' ' + format_value(static_cast<double>(cumulative)) + '\n';
        }
    }
    return out;
}

void registry::add(std::string name, collector fn) {
    std::lock_guard lock(mu_);
    for (auto& c : collectors_)
        if (c.first == name) {
            c.second = std::move(fn);
            return;
        }
    collectors_.emplace_back(std::move(name), std::move(fn));
}

void registry::remove(std::string_view name) {
    std::lock_guard lock(mu_);
    std::erase_if(collectors_, [&](const auto& c) { return c.first == name; });
}

std::string registry::scrape() const {
    family_list list;
    {
        std::lock_guard lock(mu_);
        for (const auto& c : collectors_) c.second(list);
    }
    return encode(list.families());
}

}  // namespace sluice::broker::metrics

#include "store/epoch_cache.hpp"

#include <sstream>

namespace sluice::store {

void epoch_cache::assign(std::int32_t epoch, offset start) {
    if (epoch < 0) return;
    std::lock_guard lock(mu_);
    if (!entries_.empty() && entries_.back().epoch >= epoch) return;
    entries_.push_back({epoch, start.value});
}

void epoch_cache::truncate_from_end(offset end) {
    std::lock_guard lock(mu_);
    while (!entries_.empty() && entries_.back().start_offset >= end.value) entries_.pop_back();
}

void epoch_cache::clear() {
    std::lock_guard lock(mu_);
    entries_.clear();
}

std::vector<epoch_entry> epoch_cache::entries() const {
    std::lock_guard lock(mu_);
    return entries_;
}

std::optional<std::int32_t> epoch_cache::latest_epoch() const {
    std::lock_guard lock(mu_);
    if (entries_.empty()) return std::nullopt;
    return entries_.back().epoch;
}

std::optional<std::pair<std::int32_t, offset>> epoch_cache::end_offset_for(std::int32_t epoch,
                                                                           offset log_end) const {
    std::lock_guard lock(mu_);
    for (std::size_t i = entries_.size(); i-- > 0;) {
        if (entries_[i].epoch <= epoch) {
            offset end = i + 1 < entries_.size() ? offset{entries_[i + 1].start_offset} : log_end;
            return std::make_pair(entries_[i].epoch, end);
        }
    }
    return std::nullopt;
}

std::string epoch_cache::serialize() const {
    std::lock_guard lock(mu_);
    std::ostringstream out;
    out << "0\n" << entries_.size() << "\n";
    for (const auto& e : entries_) out << e.epoch << " " << e.start_offset << "\n";
    return out.str();
}

bool epoch_cache::parse(const std::string& text) {
    std::istringstream in(text);
    int version = -1;
    long long count = -1;
    std::vector<epoch_entry> parsed;
    if (!(in >> version >> count) || version != 0 || count < 0 || count > 1000000) return false;
    for (long long i = 0; i < count; ++i) {
        long long epoch = 0;
        long long start = 0;
        if (!(in >> epoch >> start) || epoch < 0 || epoch > INT32_MAX || start < 0) return false;
        if (!parsed.empty() && (parsed.back().epoch >= epoch || parsed.back().start_offset > start))
            return false;
        parsed.push_back({static_cast<std::int32_t>(epoch), start});
    }
    std::string rest;
    if (in >> rest) return false;
    std::lock_guard lock(mu_);
    entries_ = std::move(parsed);
    return true;
}

}  // namespace sluice::store

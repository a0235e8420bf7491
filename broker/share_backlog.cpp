#include "broker/share_backlog.hpp"

#include <algorithm>

#include "broker/session.hpp"
#include "mqtt/topic.hpp"

namespace sluice::broker {

namespace {
std::string filter_of(std::string_view share) {
    auto parts = mqtt::parse_topic_filter(share);
    return parts ? std::string(parts->filter) : std::string(share);
}
}  // namespace

share_backlog::share_backlog(std::string s) : share(std::move(s)), filter(filter_of(share)) {}

std::shared_ptr<offline_cursors> share_backlog::open(const std::vector<logged_partition>& logged) {
    auto cursors = std::make_shared<offline_cursors>();
    std::lock_guard lock(mu_);
    for (const auto& where : logged) {
        if (std::any_of(marks_.begin(), marks_.end(),
                        [&](const mark& m) { return m.where.partition == where.partition; }))
            continue;
        cursors->expect_one();
        // Under mu_: a route that read no mark here (covers() false) appended before this.
        const auto t = where.partition->mark(
            [cursors, where](const store::partition::mark_result& r) { cursors->reported(where, r); });
        marks_.push_back({where, t, -1, cursors});
    }
    return cursors;
}

void share_backlog::restore(std::vector<std::pair<logged_partition, std::int64_t>> cursors) {
    std::lock_guard lock(mu_);
    for (auto& [where, next] : cursors) marks_.push_back({std::move(where), 0, next, nullptr});
}

bool share_backlog::covers(const store::partition* p, store::partition::ticket ticket) const {
    std::shared_ptr<append_outcome> wait;
    {
        std::lock_guard lock(mu_);
        auto m = std::find_if(marks_.begin(), marks_.end(),
                              [&](const mark& x) { return x.where.partition.get() == p; });
        if (m == marks_.end() || ticket < m->from) return false;  // raced the opening: live
        if (m->source && !m->source->durable->finished()) wait = m->source->durable;
    }
    // No acknowledgement before the cursor that covers it is durable.
    if (wait) session::wait_for_durable(std::move(wait));
    return true;
}

void share_backlog::resolve() const {
    for (auto& m : marks_)
        if (m.cursor < 0 && m.source && m.source->durable->finished())
            if (auto c = m.source->find(m.where.partition.get())) m.cursor = c->next;
}

std::vector<std::pair<logged_partition, std::int64_t>> share_backlog::cursors_behind() const {
    std::lock_guard lock(mu_);
    resolve();
    std::vector<std::pair<logged_partition, std::int64_t>> out;
    for (const auto& m : marks_)
        if (m.cursor >= 0 && m.cursor < m.where.partition->high_watermark().value)
            out.emplace_back(m.where, m.cursor);
    return out;
}

std::vector<log_cursor> share_backlog::cursors() const {
    std::lock_guard lock(mu_);
    resolve();
    std::vector<log_cursor> out;
    for (const auto& m : marks_)
        if (m.cursor >= 0) out.push_back({m.where.log_topic, m.where.index, m.cursor});
    return out;
}

bool share_backlog::advance(const store::partition* p, std::int64_t from, std::int64_t next) {
    std::lock_guard lock(mu_);
    for (auto& m : marks_)
        if (m.where.partition.get() == p) {
            if (m.cursor != from) return false;
            m.cursor = next;
            return true;
        }
    return false;
}

}  // namespace sluice::broker

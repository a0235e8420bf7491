#include "broker/producer_ids.hpp"
#include "broker/internal_topic.hpp"

#include <charconv>
#include <chrono>

#include "store/batch_builder.hpp"

namespace sluice::broker {

std::unique_ptr<producer_ids> producer_ids::open(store::store& s, std::string& error) {
    store::log_config cfg;
    cfg.cleanup = store::cleanup_policy::compact;
    cfg.retention_ms = -1;
    cfg.flush = store::durability::always;
    if (!ensure_internal_topic(s, topic, 1, cfg, error)) return nullptr;
    auto p = s.get(topic, 0);
    if (!p) {
        error = std::string("cannot open ") + topic;
        return nullptr;
    }
    std::int64_t highest = 0;
    auto e = p->for_each_record(p->log_start_offset(), [&](const store::record& r) {
        if (r.value) {
            std::int64_t v = 0;
            const auto& text = *r.value;
            auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
            if (ec == std::errc{} && end == text.data() + text.size() && v > highest) highest = v;
        }
        return true;
    });
    if (e != store::errc::ok) {
        error = std::string("cannot read ") + topic + ": " + store::to_string(e);
        return nullptr;
    }
    std::unique_ptr<producer_ids> ids(new producer_ids(std::move(p)));
    std::lock_guard lock(ids->mu_);
    if (!ids->reserve_locked(highest)) {
        error = std::string("cannot record a block of producer ids in ") + topic;
        return nullptr;
    }
    return ids;
}

bool producer_ids::reserve_locked(std::int64_t from) {
    const std::int64_t limit = from + block_size;
    store::batch_builder b(store::compression::none);
    b.add(wall_ms(), std::string_view("limit"), std::string_view(std::to_string(limit)), {});
    auto batch = b.build();
    if (!batch) return false;
    auto r = partition_->append(std::move(*batch)).get();
    if (r.error != store::errc::ok) return false;
    next_ = from;
    limit_ = limit;
    return true;
}

std::optional<std::int64_t> producer_ids::next() {
    std::lock_guard lock(mu_);
    if (next_ >= limit_ && !reserve_locked(limit_)) return std::nullopt;
    return next_++;
}

}  // namespace sluice::broker

#include "broker/retained_log.hpp"
#include "broker/internal_topic.hpp"

#include <chrono>
#include <map>

#include "broker/durable_log.hpp"
#include "broker/log.hpp"
#include "ingest/retained_record.hpp"
#include "store/batch_builder.hpp"

namespace sluice::broker {

std::unique_ptr<retained_log> retained_log::open(store::store& s, std::string& error) {
    const std::string topic(ingest::retained_topic);
    if (!ensure_internal_topic(s, topic, ingest::retained_partitions,
                               ingest::retained_log_config(), error))
        return nullptr;
    auto p = s.get(topic, 0);
    if (!p) {
        error = "cannot open " + topic;
        return nullptr;
    }
    return std::unique_ptr<retained_log>(new retained_log(std::move(p)));
}

std::shared_ptr<append_outcome> retained_log::put(retained_store& into, const message_ptr& msg,
                                                  const std::string& client_id) {
    auto outcome = std::make_shared<append_outcome>();
    mqtt::publish p = msg->packet();
    // What is left of the expiry counts from now (the record's timestamp).
    if (p.props.message_expiry_interval)
        p.props.message_expiry_interval = msg->remaining_expiry(steady_clock::now());
    const store::record r = ingest::retained_to_record(p, client_id, wall_ms());
    store::batch_builder b(store::compression::none);
    if (r.value)
        b.add(r.timestamp, r.key, std::string_view(*r.value), r.headers);
    else
        b.add(r.timestamp, r.key, std::nullopt, r.headers);
    auto batch = b.build();
    std::lock_guard lock(mu_);
    into.put(msg);
    if (!batch) {
        outcome->finish(mqtt::reason_code::unspecified_error);
        return outcome;
    }
    partition_->append(std::move(*batch), [outcome](const store::append_result& res) {
        if (res.error != store::errc::ok)
            log_warn("a retained message could not be logged: ", store::to_string(res.error));
        outcome->finish(res.error == store::errc::ok ? mqtt::reason_code::success
                                                     : failure_reason(res.error));
    });
    return outcome;
}

bool retained_log::replay(retained_store& into, std::size_t& loaded, std::string& error) {
    // The latest record per topic (compaction may not have run on the tail yet).
    std::map<std::string, store::record> latest;
    auto e = partition_->for_each_record(partition_->log_start_offset(),
                                         [&](const store::record& r) {
                                             if (r.key) latest[*r.key] = r;
                                             return true;
                                         });
    if (e != store::errc::ok) {
        error = "cannot read " + std::string(ingest::retained_topic) + ": " + store::to_string(e);
        return false;
    }
    loaded = 0;
    const auto now_ms = wall_ms();
    const auto now = steady_clock::now();
    for (auto& [topic, r] : latest) {
        auto res = ingest::retained_from_record(r, now_ms);
        if (!res.ok()) {
            if (res.error != ingest::mapping_error::expired)
                log_warn("retained message of ", topic, " not restored: ",
                         ingest::to_string(res.error), " (", res.detail, ")");
            continue;
        }
        if (!res.entry.message) continue;  // cleared
        into.put(make_message(std::move(*res.entry.message), nullptr, now));
        ++loaded;
    }
    return true;
}

}  // namespace sluice::broker

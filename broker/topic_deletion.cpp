#include "broker/topic_deletion.hpp"

#include "broker/durable_log.hpp"
#include "broker/kafka_admin_handlers.hpp"
#include "broker/log.hpp"

namespace sluice::broker {

topic_deletion_result delete_log_topic(durable_log& log, const ingest::egress_rules& egress,
                                       const std::string& name, const std::string& who) {
    auto st = log.store_handle();
    if (!st) return {topic_deletion::failed, "the commit log is not open"};
    if (st->partition_count(name) <= 0)
        return {topic_deletion::unknown, "no log topic " + name};
    if (is_internal_topic(name))
        return {topic_deletion::internal, "topic " + name + " is internal and cannot be deleted"};
    for (const auto& r : log.rules().rules())
        if (r.logged && r.log_topic == name)
            return {topic_deletion::ingest_rule, "topic " + name +
                                                     " is written by the ingest rule " +
                                                     r.filter + "; change the rules first"};
    const auto& eg = egress.rules();
    for (std::size_t i = 0; i < eg.size(); ++i)
        if (eg[i].log_topic == name) {
            const std::string to = eg[i].mqtt_topic ? " to MQTT topic " + eg[i].mqtt_topic->text()
                                                    : std::string(" to MQTT");
            return {topic_deletion::egress_rule,
                    "topic " + name + " is read by the egress rule egress_rules[" +
                        std::to_string(i) + "] (publishing" + to +
                        "); remove the rule and restart first"};
        }
    switch (auto e = st->delete_topic(name)) {
        case store::errc::ok:
            log_info("log topic ", name, " deleted by ", who);
            return {topic_deletion::deleted, {}};
        case store::errc::unknown_topic:  // deleted meanwhile by someone else
            return {topic_deletion::unknown, "no log topic " + name};
        default:
            log_warn("log topic ", name, ": deletion failed: ", store::to_string(e));
            return {topic_deletion::failed,
                    "topic " + name + " not deleted: " + store::to_string(e)};
    }
}

}  // namespace sluice::broker

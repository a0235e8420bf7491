#include "broker/internal_topic.hpp"

namespace sluice::broker {

int ensure_internal_topic(store::store& s, const std::string& topic, int partitions,
                          const store::log_config& cfg, std::string& error) {
    if (s.partition_count(topic) == 0) {
        if (auto e = s.create_topic(topic, partitions, cfg);
            e != store::errc::ok && e != store::errc::topic_exists) {
            error = "cannot create " + topic + ": " + store::to_string(e);
            return 0;
        }
    }
    const int n = s.partition_count(topic);
    if (n == 0) error = "cannot open " + topic;
    return n;
}

}  // namespace sluice::broker

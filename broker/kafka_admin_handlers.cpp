#include "broker/kafka_admin_handlers.hpp"

#include <charconv>
#include <limits>

#include "broker/log.hpp"
#include "broker/topic_deletion.hpp"

namespace sluice::broker {

using kafka::error_code;

namespace {

// Kafka's POLICY_VIOLATION: the broker's policy refuses the request (a topic an ingest rule
// writes). KAFKA_STORAGE_ERROR: the log is not open or the store failed.
constexpr auto policy_violation = static_cast<error_code>(44);
constexpr auto kafka_storage_error = static_cast<error_code>(56);
constexpr auto invalid_config = static_cast<error_code>(40);

std::optional<std::int64_t> parse_i64(const std::optional<std::string>& v) {
    if (!v || v->empty()) return std::nullopt;
    std::int64_t out = 0;
    auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
    if (ec != std::errc() || p != v->data() + v->size()) return std::nullopt;
    return out;
}

// DescribeConfigs v1+ config_source: 1 DYNAMIC_TOPIC_CONFIG (set for this topic), 5
// DEFAULT_CONFIG. Sluice keeps only the values, so a value equal to the default is reported
// as the default.
constexpr std::int8_t source_topic = 1;
constexpr std::int8_t source_default = 5;
// DescribeConfigs v3 config_type: 2 STRING, 3 INT, 4 LONG.
constexpr std::int8_t type_string = 2;
constexpr std::int8_t type_int = 3;
constexpr std::int8_t type_long = 4;

struct config_entry {
    const char* name;
    std::string value;
    bool is_default;
    std::int8_t type;
};

std::vector<config_entry> topic_configs(const store::log_config& c) {
    const store::log_config d;
    const auto flush_ms = c.flush == store::durability::interval
                              ? c.flush_interval_ms
                              : c.flush == store::durability::always
                                    ? 0
                                    : std::numeric_limits<std::int64_t>::max();
    return {
        {"cleanup.policy", c.cleanup == store::cleanup_policy::compact ? "compact" : "delete",
         c.cleanup == d.cleanup, type_string},
        {"retention.ms", std::to_string(c.retention_ms), c.retention_ms == d.retention_ms,
         type_long},
        {"retention.bytes", std::to_string(c.retention_bytes),
         c.retention_bytes == d.retention_bytes, type_long},
        {"segment.bytes", std::to_string(c.segment_bytes), c.segment_bytes == d.segment_bytes,
         type_int},
        {"segment.ms", std::to_string(c.segment_ms), c.segment_ms == d.segment_ms, type_long},
        {"max.message.bytes", std::to_string(c.max_batch_bytes),
         c.max_batch_bytes == d.max_batch_bytes, type_int},
        {"index.interval.bytes", std::to_string(c.index_interval_bytes),
         c.index_interval_bytes == d.index_interval_bytes, type_int},
        {"delete.retention.ms", std::to_string(c.delete_retention_ms),
         c.delete_retention_ms == d.delete_retention_ms, type_long},
        {"flush.ms", std::to_string(flush_ms),
         c.flush == d.flush && c.flush_interval_ms == d.flush_interval_ms, type_long},
        {"sluice.durability", store::to_string(c.flush), c.flush == d.flush, type_string},
    };
}

}  // namespace

bool is_internal_topic(const std::string& name) {
    return name.size() >= 2 && name[0] == '_' && name[1] == '_';
}

error_code kafka_error(store::errc e) {
    switch (e) {
        case store::errc::ok:
            return error_code::none;
        case store::errc::corrupt_message:
            return error_code::corrupt_message;
        case store::errc::unsupported_compression:
            return static_cast<error_code>(76);  // UNSUPPORTED_COMPRESSION_TYPE
        case store::errc::record_too_large:
            return error_code::message_too_large;
        case store::errc::out_of_order_sequence:
            return error_code::out_of_order_sequence_number;
        case store::errc::invalid_producer_epoch:
            return error_code::invalid_producer_epoch;
        case store::errc::offset_out_of_range:
            return error_code::offset_out_of_range;
        case store::errc::unknown_topic:
            return error_code::unknown_topic_or_partition;
        case store::errc::topic_exists:
            return error_code::topic_already_exists;
        case store::errc::invalid_argument:
            return error_code::invalid_request;
        case store::errc::invalid_offset:
        case store::errc::io_error:
        case store::errc::closed:
            break;
    }
    return static_cast<error_code>(56);  // KAFKA_STORAGE_ERROR: the client retries
}

kafka::metadata_response metadata_answer(const kafka::metadata_request& req,
                                         const store::store& s, const kafka_node_address& self) {
    kafka::metadata_response resp;
    resp.brokers.push_back({0, self.host, self.port, std::nullopt});
    resp.cluster_id = "sluice";
    resp.controller_id = 0;
    std::vector<std::string> names = req.topics ? *req.topics : s.topics();
    for (const auto& name : names) {
        auto& t = resp.topics.emplace_back();
        t.name = name;
        t.is_internal = is_internal_topic(name);
        const int count = s.partition_count(name);
        if (count <= 0) {
            t.error = error_code::unknown_topic_or_partition;
            continue;
        }
        for (int i = 0; i < count; ++i) {
            auto& p = t.partitions.emplace_back();
            p.index = i;
            p.leader_id = 0;
            p.leader_epoch = 0;
            p.replica_nodes = {0};
            p.isr_nodes = {0};
        }
    }
    return resp;
}

kafka::list_offsets_response list_offsets_answer(const kafka::list_offsets_request& req,
                                                 std::int16_t version, const store::store& s) {
    kafka::list_offsets_response resp;
    for (const auto& t : req.topics) {
        auto& rt = resp.topics.emplace_back();
        rt.name = t.name;
        for (const auto& p : t.partitions) {
            auto& rp = rt.partitions.emplace_back();
            rp.index = p.index;
            auto part = s.get(t.name, p.index);
            if (!part) {
                rp.error = error_code::unknown_topic_or_partition;
                continue;
            }
            std::int64_t found = -1;
            std::int64_t ts = -1;
            if (p.timestamp == -1) {
                found = part->high_watermark().value;
            } else if (p.timestamp == -2) {
                found = part->log_start_offset().value;
            } else if (p.timestamp >= 0) {
                // The first record at or after the timestamp (the time index narrows the scan).
                if (auto o = part->offset_for_timestamp(p.timestamp)) {
                    found = o->value;
                    part->for_each_record(*o, [&](const store::record& r) {
                        ts = r.timestamp;
                        return false;
                    });
                } else {
                    // None that late: Kafka answers the log end for v0 and -1 for v1+.
                    found = version == 0 ? part->high_watermark().value : -1;
                }
            } else {
                rp.error = error_code::invalid_request;
                continue;
            }
            if (version == 0) {
                if (found >= 0 && p.max_num_offsets > 0) rp.old_style_offsets.push_back(found);
            } else {
                rp.offset = found;
                rp.timestamp = ts;
                rp.leader_epoch = 0;
            }
        }
    }
    return resp;
}

std::optional<std::string> apply_topic_config(store::log_config& c, const std::string& name,
                                              const std::optional<std::string>& value) {
    auto bad = [&] { return "invalid value for " + name + ": " + value.value_or("null"); };
    if (name == "cleanup.policy") {
        if (value == "delete") c.cleanup = store::cleanup_policy::remove;
        else if (value == "compact") c.cleanup = store::cleanup_policy::compact;
        else return bad();
        return std::nullopt;
    }
    if (name == "sluice.durability") {
        auto d = value ? store::parse_durability(*value) : std::nullopt;
        if (!d) return bad();
        c.flush = *d;
        return std::nullopt;
    }
    auto n = parse_i64(value);
    if (!n) return bad();
    if (name == "retention.ms") {
        if (*n < -1) return bad();
        c.retention_ms = *n;
    } else if (name == "retention.bytes") {
        if (*n < -1) return bad();
        c.retention_bytes = *n;
    } else if (name == "segment.bytes") {
        if (*n < 14 || *n > std::numeric_limits<std::int32_t>::max()) return bad();
        c.segment_bytes = static_cast<std::uint64_t>(*n);
    } else if (name == "segment.ms") {
        if (*n < 1) return bad();
        c.segment_ms = *n;
    } else if (name == "max.message.bytes") {
        if (*n < 0 || *n > std::numeric_limits<std::int32_t>::max()) return bad();
        c.max_batch_bytes = static_cast<std::uint32_t>(*n);
    } else if (name == "index.interval.bytes") {
        if (*n < 0 || *n > std::numeric_limits<std::int32_t>::max()) return bad();
        c.index_interval_bytes = static_cast<std::uint32_t>(*n);
    } else if (name == "delete.retention.ms") {
        if (*n < 0) return bad();
        c.delete_retention_ms = *n;
    } else if (name == "flush.ms") {
        // 0: every append synced (always); a period: interval; Long.MAX: left to the OS.
        if (*n < 0) return bad();
        if (*n == 0) {
            c.flush = store::durability::always;
        } else if (*n == std::numeric_limits<std::int64_t>::max()) {
            c.flush = store::durability::never;
        } else {
            c.flush = store::durability::interval;
            c.flush_interval_ms = *n;
        }
    } else {
        return "unknown or unsupported topic config " + name;
    }
    return std::nullopt;
}

kafka::create_topics_response create_topics_answer(const kafka::create_topics_request& req,
                                                   store::store& s) {
    kafka::create_topics_response resp;
    for (const auto& t : req.topics) {
        auto& rt = resp.topics.emplace_back();
        rt.name = t.name;
        auto fail = [&](error_code e, std::string message) {
            rt.error = e;
            rt.error_message = std::move(message);
        };
        if (!store::store::valid_topic_name(t.name)) {
            fail(error_code::invalid_topic_exception,
                 "topic names are 1-249 characters of [a-zA-Z0-9._-]");
            continue;
        }
        if (is_internal_topic(t.name)) {
            fail(error_code::invalid_topic_exception,
                 "topics named __* are internal to the broker");
            continue;
        }
        if (s.partition_count(t.name) > 0) {
            fail(error_code::topic_already_exists, "topic " + t.name + " already exists");
            continue;
        }
        if (!t.assignments.empty()) {
            fail(error_code::invalid_request, "manual replica assignment is not supported");
            continue;
        }
        if (t.replication_factor != -1 && t.replication_factor != 1) {
            fail(error_code::invalid_replication_factor,
                 "this single node holds one replica of each partition");
            continue;
        }
        const int partitions = t.num_partitions == -1 ? 1 : t.num_partitions;
        if (partitions <= 0 || partitions > 10000) {
            fail(error_code::invalid_partitions, "partitions must be 1..10000");
            continue;
        }
        store::log_config cfg;
        std::optional<std::string> problem;
        for (const auto& c : t.configs)
            if (!problem) problem = apply_topic_config(cfg, c.name, c.value);
        if (problem) {
            fail(invalid_config, *problem);
            continue;
        }
        if (req.validate_only) continue;
        if (auto e = s.create_topic(t.name, partitions, cfg); e != store::errc::ok)
            fail(kafka_error(e), std::string("not created: ") + store::to_string(e));
    }
    return resp;
}

kafka::delete_topics_response delete_topics_answer(const kafka::delete_topics_request& req,
                                                   durable_log& log,
                                                   const ingest::egress_rules& egress) {
    kafka::delete_topics_response resp;
    for (const auto& name : req.topic_names) {
        auto& r = resp.responses.emplace_back();
        r.name = name;
        // DeleteTopics 0-3 carry no error message: the reason goes to the broker's log.
        auto result = delete_log_topic(log, egress, name, "a Kafka client (DeleteTopics)");
        switch (result.outcome) {
            case topic_deletion::deleted:
                break;
            case topic_deletion::unknown:
                r.error = error_code::unknown_topic_or_partition;
                break;
            case topic_deletion::internal:
                r.error = error_code::invalid_topic_exception;
                break;
            case topic_deletion::ingest_rule:
            case topic_deletion::egress_rule:
                log_info("DeleteTopics refused: ", result.message);
                r.error = policy_violation;
                break;
            case topic_deletion::failed:
                r.error = kafka_storage_error;
                break;
        }
    }
    return resp;
}

kafka::describe_configs_response describe_configs_answer(
    const kafka::describe_configs_request& req, std::int16_t version, const store::store& s) {
    constexpr std::int8_t topic_resource = 2;
    constexpr std::int8_t broker_resource = 4;
    kafka::describe_configs_response resp;
    for (const auto& r : req.resources) {
        auto& out = resp.results.emplace_back();
        out.resource_type = r.resource_type;
        out.resource_name = r.resource_name;
        if (r.resource_type == broker_resource) continue;  // no broker settings over Kafka yet
        if (r.resource_type != topic_resource) {
            out.error = error_code::invalid_request;
            out.error_message = "only topic and broker resources are described";
            continue;
        }
        auto cfg = s.topic_config(r.resource_name);
        if (!cfg) {
            out.error = error_code::unknown_topic_or_partition;
            out.error_message = "unknown topic " + r.resource_name;
            continue;
        }
        for (auto& e : topic_configs(*cfg)) {
            if (r.configuration_keys) {
                bool wanted = false;
                for (const auto& k : *r.configuration_keys) wanted = wanted || k == e.name;
                if (!wanted) continue;
            }
            auto& c = out.configs.emplace_back();
            c.name = e.name;
            c.value = e.value;
            c.read_only = true;  // no AlterConfigs yet
            c.is_default = e.is_default;
            c.config_source = e.is_default ? source_default : source_topic;
            if (version >= 1 && req.include_synonyms)
                c.synonyms.push_back({e.name, e.value, c.config_source});
            c.config_type = e.type;
        }
    }
    return resp;
}

}  // namespace sluice::broker

#pragma once
// Internal to the codec: one field list per message, per Kafka's message definitions
// (clients/src/main/resources/common/message/*.json). Each function is a template over the
// reader or writer (wire.hpp) and over the message's constness, so the same list decodes and
// encodes. `v` is the version being read or written; fields outside their version range are
// skipped and keep their defaults.

#include <cstdint>
#include <type_traits>

#include "kafka/messages_admin.hpp"
#include "kafka/messages_data.hpp"
#include "kafka/messages_group.hpp"
#include "kafka/wire.hpp"

namespace sluice::kafka::schema {

// ---- data path ----

template <class Io, class M>
void produce_request(Io& io, M& m, std::int16_t v) {
    if (v >= 3) io.nullable_string(m.transactional_id);
    io.i16(m.acks);
    io.i32(m.timeout_ms);
    io.array(m.topics, [&](auto& t) {
        io.string(t.name);
        io.array(t.partitions, [&](auto& p) {
            io.i32(p.index);
            io.nullable_bytes(p.records);
        });
    });
}

template <class Io, class M>
void produce_response(Io& io, M& m, std::int16_t v) {
    io.array(m.topics, [&](auto& t) {
        io.string(t.name);
        io.array(t.partitions, [&](auto& p) {
            io.i32(p.index);
            io.i16(p.error);
            io.i64(p.base_offset);
            if (v >= 2) io.i64(p.log_append_time_ms);
            if (v >= 5) io.i64(p.log_start_offset);
        });
    });
    if (v >= 1) io.i32(m.throttle_time_ms);
}

template <class Io, class M>
void fetch_request(Io& io, M& m, std::int16_t v) {
    io.i32(m.replica_id);
    io.i32(m.max_wait_ms);
    io.i32(m.min_bytes);
    if (v >= 3) io.i32(m.max_bytes);
    if (v >= 4) io.i8(m.isolation_level);
    if (v >= 7) {
        io.i32(m.session_id);
        io.i32(m.session_epoch);
    }
    io.array(m.topics, [&](auto& t) {
        io.string(t.name);
        io.array(t.partitions, [&](auto& p) {
            io.i32(p.index);
            if (v >= 9) io.i32(p.current_leader_epoch);
            io.i64(p.fetch_offset);
            if (v >= 5) io.i64(p.log_start_offset);
            io.i32(p.partition_max_bytes);
        });
    });
    if (v >= 7) {
        io.array(m.forgotten_topics, [&](auto& t) {
            io.string(t.name);
            io.array(t.partitions, [&](auto& p) { io.i32(p); });
        });
    }
    if (v >= 11) io.string(m.rack_id);
}

template <class Io, class M>
void fetch_response(Io& io, M& m, std::int16_t v) {
    if (v >= 1) io.i32(m.throttle_time_ms);
    if (v >= 7) {
        io.i16(m.error);
        io.i32(m.session_id);
    }
    io.array(m.topics, [&](auto& t) {
        io.string(t.name);
        io.array(t.partitions, [&](auto& p) {
            io.i32(p.index);
            io.i16(p.error);
            io.i64(p.high_watermark);
            if (v >= 4) io.i64(p.last_stable_offset);
            if (v >= 5) io.i64(p.log_start_offset);
            if (v >= 4) {
                io.nullable_array(p.aborted_transactions, [&](auto& a) {
                    io.i64(a.producer_id);
                    io.i64(a.first_offset);
                });
            }
            if (v >= 11) io.i32(p.preferred_read_replica);
            io.records(p.records);
        });
    });
}

template <class Io, class M>
void list_offsets_request(Io& io, M& m, std::int16_t v) {
    io.i32(m.replica_id);
    if (v >= 2) io.i8(m.isolation_level);
    io.array(m.topics, [&](auto& t) {
        io.string(t.name);
        io.array(t.partitions, [&](auto& p) {
            io.i32(p.index);
            if (v >= 4) io.i32(p.current_leader_epoch);
            io.i64(p.timestamp);
            if (v == 0) io.i32(p.max_num_offsets);
        });
    });
}

template <class Io, class M>
void list_offsets_response(Io& io, M& m, std::int16_t v) {
    if (v >= 2) io.i32(m.throttle_time_ms);
    io.array(m.topics, [&](auto& t) {
        io.string(t.name);
        io.array(t.partitions, [&](auto& p) {
            io.i32(p.index);
            io.i16(p.error);
            if (v == 0) io.array(p.old_style_offsets, [&](auto& o) { io.i64(o); });
            if (v >= 1) {
                io.i64(p.timestamp);
                io.i64(p.offset);
            }
            if (v >= 4) io.i32(p.leader_epoch);
        });
    });
}

template <class Io, class M>
void metadata_request(Io& io, M& m, std::int16_t v) {
    if (v == 0) {
        // v0 has no null: an empty array asks for every topic. Decoded as null (all topics).
        if constexpr (!std::is_const_v<M>) {
            std::vector<std::string> names;
            io.array(names, [&](auto& s) { io.string(s); });
            if (names.empty())
                m.topics.reset();
            else
                m.topics = std::move(names);
        } else {
            static const std::vector<std::string> none;
            io.array(m.topics ? *m.topics : none, [&](auto& s) { io.string(s); });
        }
    } else {
        io.nullable_array(m.topics, [&](auto& s) { io.string(s); });
    }
    if (v >= 4) io.boolean(m.allow_auto_topic_creation);
    if (v >= 8) {
        io.boolean(m.include_cluster_authorized_operations);
        io.boolean(m.include_topic_authorized_operations);
    }
}

template <class Io, class M>
void metadata_response(Io& io, M& m, std::int16_t v) {
    if (v >= 3) io.i32(m.throttle_time_ms);
    io.array(m.brokers, [&](auto& b) {
        io.i32(b.node_id);
        io.string(b.host);
        io.i32(b.port);
        if (v >= 1) io.nullable_string(b.rack);
    });
    if (v >= 2) io.nullable_string(m.cluster_id);
    if (v >= 1) io.i32(m.controller_id);
    io.array(m.topics, [&](auto& t) {
        io.i16(t.error);
        io.string(t.name);
        if (v >= 1) io.boolean(t.is_internal);
        io.array(t.partitions, [&](auto& p) {
            io.i16(p.error);
            io.i32(p.index);
            io.i32(p.leader_id);
            if (v >= 7) io.i32(p.leader_epoch);
            io.array(p.replica_nodes, [&](auto& n) { io.i32(n); });
            io.array(p.isr_nodes, [&](auto& n) { io.i32(n); });
            if (v >= 5) io.array(p.offline_replicas, [&](auto& n) { io.i32(n); });
        });
        if (v >= 8) io.i32(t.topic_authorized_operations);
    });
    if (v >= 8) io.i32(m.cluster_authorized_operations);
}

// ---- consumer groups ----

template <class Io, class M>
void find_coordinator_request(Io& io, M& m, std::int16_t v) {
    io.string(m.key);
    if (v >= 1) io.i8(m.key_type);
}

template <class Io, class M>
void find_coordinator_response(Io& io, M& m, std::int16_t v) {
    if (v >= 1) io.i32(m.throttle_time_ms);
    io.i16(m.error);
    if (v >= 1) io.nullable_string(m.error_message);
    io.i32(m.node_id);
    io.string(m.host);
    io.i32(m.port);
}

template <class Io, class M>
void join_group_request(Io& io, M& m, std::int16_t v) {
    io.string(m.group_id);
    io.i32(m.session_timeout_ms);
    if (v >= 1) io.i32(m.rebalance_timeout_ms);
    io.string(m.member_id);
    if (v >= 5) io.nullable_string(m.group_instance_id);
    io.string(m.protocol_type);
    io.array(m.protocols, [&](auto& p) {
        io.string(p.name);
        io.bytes(p.metadata);
    });
}

template <class Io, class M>
void join_group_response(Io& io, M& m, std::int16_t v) {
    if (v >= 2) io.i32(m.throttle_time_ms);
    io.i16(m.error);
    io.i32(m.generation_id);
    io.string(m.protocol_name);
    io.string(m.leader);
    io.string(m.member_id);
    io.array(m.members, [&](auto& x) {
        io.string(x.member_id);
        if (v >= 5) io.nullable_string(x.group_instance_id);
        io.bytes(x.metadata);
    });
}

template <class Io, class M>
void sync_group_request(Io& io, M& m, std::int16_t v) {
    io.string(m.group_id);
    io.i32(m.generation_id);
    io.string(m.member_id);
    if (v >= 3) io.nullable_string(m.group_instance_id);
    io.array(m.assignments, [&](auto& a) {
        io.string(a.member_id);
        io.bytes(a.assignment);
    });
}

template <class Io, class M>
void sync_group_response(Io& io, M& m, std::int16_t v) {
    if (v >= 1) io.i32(m.throttle_time_ms);
    io.i16(m.error);
    io.bytes(m.assignment);
}

template <class Io, class M>
void heartbeat_request(Io& io, M& m, std::int16_t v) {
    io.string(m.group_id);
    io.i32(m.generation_id);
    io.string(m.member_id);
    if (v >= 3) io.nullable_string(m.group_instance_id);
}

template <class Io, class M>
void heartbeat_response(Io& io, M& m, std::int16_t v) {
    if (v >= 1) io.i32(m.throttle_time_ms);
    io.i16(m.error);
}

template <class Io, class M>
void leave_group_request(Io& io, M& m, std::int16_t) {
    io.string(m.group_id);
    io.string(m.member_id);
}

template <class Io, class M>
void leave_group_response(Io& io, M& m, std::int16_t v) {
    if (v >= 1) io.i32(m.throttle_time_ms);
    io.i16(m.error);
}

template <class Io, class M>
void offset_commit_request(Io& io, M& m, std::int16_t v) {
    io.string(m.group_id);
    if (v >= 1) {
        io.i32(m.generation_id);
        io.string(m.member_id);
    }
    if (v >= 7) io.nullable_string(m.group_instance_id);
    if (v >= 2 && v <= 4) io.i64(m.retention_time_ms);
    io.array(m.topics, [&](auto& t) {
        io.string(t.name);
        io.array(t.partitions, [&](auto& p) {
            io.i32(p.index);
            io.i64(p.committed_offset);
            if (v >= 6) io.i32(p.committed_leader_epoch);
            if (v == 1) io.i64(p.commit_timestamp);
            io.nullable_string(p.committed_metadata);
        });
    });
}

template <class Io, class M>
void offset_commit_response(Io& io, M& m, std::int16_t v) {
    if (v >= 3) io.i32(m.throttle_time_ms);
    io.array(m.topics, [&](auto& t) {
        io.string(t.name);
        io.array(t.partitions, [&](auto& p) {
            io.i32(p.index);
            io.i16(p.error);
        });
    });
}

template <class Io, class M>
void offset_fetch_request(Io& io, M& m, std::int16_t v) {
    io.string(m.group_id);
    auto topic = [&](auto& t) {
        io.string(t.name);
        io.array(t.partition_indexes, [&](auto& p) { io.i32(p); });
    };
    if (v >= 2) {
        io.nullable_array(m.topics, topic);
    } else if constexpr (!std::is_const_v<M>) {
        m.topics.emplace();
        io.array(*m.topics, topic);
    } else {
        static const std::vector<kafka::offset_fetch_request::topic> none;
        io.array(m.topics ? *m.topics : none, topic);
    }
}

template <class Io, class M>
void offset_fetch_response(Io& io, M& m, std::int16_t v) {
    if (v >= 3) io.i32(m.throttle_time_ms);
    io.array(m.topics, [&](auto& t) {
        io.string(t.name);
        io.array(t.partitions, [&](auto& p) {
            io.i32(p.index);
            io.i64(p.committed_offset);
            if (v >= 5) io.i32(p.committed_leader_epoch);
            io.nullable_string(p.metadata);
            io.i16(p.error);
        });
    });
    if (v >= 2) io.i16(m.error);
}

template <class Io, class M>
void describe_groups_request(Io& io, M& m, std::int16_t v) {
    io.array(m.groups, [&](auto& g) { io.string(g); });
    if (v >= 3) io.boolean(m.include_authorized_operations);
}

template <class Io, class M>
void describe_groups_response(Io& io, M& m, std::int16_t v) {
    if (v >= 1) io.i32(m.throttle_time_ms);
    io.array(m.groups, [&](auto& g) {
        io.i16(g.error);
        io.string(g.group_id);
        io.string(g.group_state);
        io.string(g.protocol_type);
        io.string(g.protocol_data);
        io.array(g.members, [&](auto& x) {
            io.string(x.member_id);
            if (v >= 4) io.nullable_string(x.group_instance_id);
            io.string(x.client_id);
            io.string(x.client_host);
            io.bytes(x.member_metadata);
            io.bytes(x.member_assignment);
        });
        if (v >= 3) io.i32(g.authorized_operations);
    });
}

template <class Io, class M>
void list_groups_request(Io&, M&, std::int16_t) {}

template <class Io, class M>
void list_groups_response(Io& io, M& m, std::int16_t v) {
    if (v >= 1) io.i32(m.throttle_time_ms);
    io.i16(m.error);
    io.array(m.groups, [&](auto& g) {
        io.string(g.group_id);
        io.string(g.protocol_type);
    });
}

// ---- connection and admin ----

template <class Io, class M>
void api_versions_request(Io& io, M& m, std::int16_t v) {
    if (v >= 3) {
        io.string(m.client_software_name);
        io.string(m.client_software_version);
        io.tagged_fields();
    }
}

template <class Io, class M>
void api_versions_response(Io& io, M& m, std::int16_t v) {
    io.i16(m.error);
    io.array(m.apis, [&](auto& a) {
        io.i16(a.key);
        io.i16(a.min_version);
        io.i16(a.max_version);
        io.tagged_fields();
    });
    if (v >= 1) io.i32(m.throttle_time_ms);
    io.tagged_fields();
}

template <class Io, class M>
void sasl_handshake_request(Io& io, M& m, std::int16_t) {
    io.string(m.mechanism);
}

template <class Io, class M>
void sasl_handshake_response(Io& io, M& m, std::int16_t) {
    io.i16(m.error);
    io.array(m.mechanisms, [&](auto& s) { io.string(s); });
}

template <class Io, class M>
void sasl_authenticate_request(Io& io, M& m, std::int16_t) {
    io.bytes(m.auth_bytes);
}

template <class Io, class M>
void sasl_authenticate_response(Io& io, M& m, std::int16_t v) {
    io.i16(m.error);
    io.nullable_string(m.error_message);
    io.bytes(m.auth_bytes);
    if (v >= 1) io.i64(m.session_lifetime_ms);
}

template <class Io, class M>
void init_producer_id_request(Io& io, M& m, std::int16_t) {
    io.nullable_string(m.transactional_id);
    io.i32(m.transaction_timeout_ms);
}

template <class Io, class M>
void init_producer_id_response(Io& io, M& m, std::int16_t) {
    io.i32(m.throttle_time_ms);
    io.i16(m.error);
    io.i64(m.producer_id);
    io.i16(m.producer_epoch);
}

template <class Io, class M>
void create_topics_request(Io& io, M& m, std::int16_t v) {
    io.array(m.topics, [&](auto& t) {
        io.string(t.name);
        io.i32(t.num_partitions);
        io.i16(t.replication_factor);
        io.array(t.assignments, [&](auto& a) {
            io.i32(a.partition_index);
            io.array(a.broker_ids, [&](auto& b) { io.i32(b); });
        });
        io.array(t.configs, [&](auto& c) {
            io.string(c.name);
            io.nullable_string(c.value);
        });
    });
    io.i32(m.timeout_ms);
    if (v >= 1) io.boolean(m.validate_only);
}

template <class Io, class M>
void create_topics_response(Io& io, M& m, std::int16_t v) {
    if (v >= 2) io.i32(m.throttle_time_ms);
    io.array(m.topics, [&](auto& t) {
        io.string(t.name);
        io.i16(t.error);
        if (v >= 1) io.nullable_string(t.error_message);
    });
}

template <class Io, class M>
void delete_topics_request(Io& io, M& m, std::int16_t) {
    io.array(m.topic_names, [&](auto& s) { io.string(s); });
    io.i32(m.timeout_ms);
}

template <class Io, class M>
void delete_topics_response(Io& io, M& m, std::int16_t v) {
    if (v >= 1) io.i32(m.throttle_time_ms);
    io.array(m.responses, [&](auto& r) {
        io.string(r.name);
        io.i16(r.error);
    });
}

template <class Io, class M>
void describe_configs_request(Io& io, M& m, std::int16_t v) {
    io.array(m.resources, [&](auto& r) {
        io.i8(r.resource_type);
        io.string(r.resource_name);
        io.nullable_array(r.configuration_keys, [&](auto& k) { io.string(k); });
    });
    if (v >= 1) io.boolean(m.include_synonyms);
    if (v >= 3) io.boolean(m.include_documentation);
}

template <class Io, class M>
void describe_configs_response(Io& io, M& m, std::int16_t v) {
    io.i32(m.throttle_time_ms);
    io.array(m.results, [&](auto& r) {
        io.i16(r.error);
        io.nullable_string(r.error_message);
        io.i8(r.resource_type);
        io.string(r.resource_name);
        io.array(r.configs, [&](auto& c) {
            io.string(c.name);
            io.nullable_string(c.value);
            io.boolean(c.read_only);
            if (v == 0) io.boolean(c.is_default);
            if (v >= 1) io.i8(c.config_source);
            io.boolean(c.is_sensitive);
            if (v >= 1) {
                io.array(c.synonyms, [&](auto& s) {
                    io.string(s.name);
                    io.nullable_string(s.value);
                    io.i8(s.source);
                });
            }
            if (v >= 3) {
                io.i8(c.config_type);
                io.nullable_string(c.documentation);
            }
        });
    });
}

}  // namespace sluice::kafka::schema

#include "kafka/error_response.hpp"

#include "kafka/api_versions.hpp"

namespace sluice::kafka {

namespace {

// Topic/partition responses: one entry per requested partition, each with `e`.
template <class Out, class In, class Make>
std::vector<Out> per_partition(const std::vector<In>& topics, Make make) {
    std::vector<Out> out;
    for (const auto& t : topics) {
        auto& o = out.emplace_back();
        o.name = t.name;
        for (const auto& p : t.partitions) o.partitions.push_back(make(p));
    }
    return out;
}

struct builder {
    error_code e;

    response_body operator()(const api_versions_request&) const { return api_versions_body(e); }
    response_body operator()(const metadata_request& r) const {
        metadata_response out;
        for (const auto& name : r.topics.value_or(std::vector<std::string>{})) {
            auto& t = out.topics.emplace_back();
            t.error = e;
            t.name = name;
        }
        return out;
    }
    response_body operator()(const produce_request& r) const {
        produce_response out;
        out.topics = per_partition<produce_response::topic>(r.topics, [&](const auto& p) {
            produce_response::partition x;
            x.index = p.index;
            x.error = e;
            return x;
        });
        return out;
    }
    response_body operator()(const fetch_request& r) const {
        fetch_response out;
        out.error = e;
        out.session_id = r.session_id;
        out.topics = per_partition<fetch_response::topic>(r.topics, [&](const auto& p) {
            fetch_response::partition x;
            x.index = p.index;
            x.error = e;
            return x;
        });
        return out;
    }
    response_body operator()(const list_offsets_request& r) const {
        list_offsets_response out;
        out.topics = per_partition<list_offsets_response::topic>(r.topics, [&](const auto& p) {
            list_offsets_response::partition x;
            x.index = p.index;
            x.error = e;
            return x;
        });
        return out;
    }
    response_body operator()(const find_coordinator_request&) const {
        find_coordinator_response out;
        out.error = e;
        return out;
    }
    response_body operator()(const join_group_request& r) const {
        join_group_response out;
        out.error = e;
        out.member_id = r.member_id;
        return out;
    }
    response_body operator()(const sync_group_request&) const {
        sync_group_response out;
        out.error = e;
        return out;
    }
    response_body operator()(const heartbeat_request&) const {
        heartbeat_response out;
        out.error = e;
        return out;
    }
    response_body operator()(const leave_group_request&) const {
        leave_group_response out;
        out.error = e;
        return out;
    }
    response_body operator()(const offset_commit_request& r) const {
        offset_commit_response out;
        out.topics = per_partition<offset_commit_response::topic>(r.topics, [&](const auto& p) {
            return offset_commit_response::partition{p.index, e};
        });
        return out;
    }
    response_body operator()(const offset_fetch_request& r) const {
        offset_fetch_response out;
        out.error = e;
        for (const auto& t : r.topics.value_or(std::vector<offset_fetch_request::topic>{})) {
            auto& o = out.topics.emplace_back();
            o.name = t.name;
            for (auto p : t.partition_indexes) {
                offset_fetch_response::partition x;
                x.index = p;
                x.error = e;
                o.partitions.push_back(x);
            }
        }
        return out;
    }
    response_body operator()(const init_producer_id_request&) const {
        init_producer_id_response out;
        out.error = e;
        return out;
    }
    response_body operator()(const describe_groups_request& r) const {
        describe_groups_response out;
        for (const auto& g : r.groups) {
            auto& o = out.groups.emplace_back();
            o.error = e;
            o.group_id = g;
        }
        return out;
    }
    response_body operator()(const list_groups_request&) const {
        list_groups_response out;
        out.error = e;
        return out;
    }
    response_body operator()(const create_topics_request& r) const {
        create_topics_response out;
        for (const auto& t : r.topics) out.topics.push_back({t.name, e, std::nullopt});
        return out;
    }
    response_body operator()(const delete_topics_request& r) const {
        delete_topics_response out;
        for (const auto& name : r.topic_names) out.responses.push_back({name, e});
        return out;
    }
    response_body operator()(const describe_configs_request& r) const {
        describe_configs_response out;
        for (const auto& res : r.resources) {
            auto& o = out.results.emplace_back();
            o.error = e;
            o.resource_type = res.resource_type;
            o.resource_name = res.resource_name;
        }
        return out;
    }
    response_body operator()(const sasl_handshake_request&) const {
        sasl_handshake_response out;
        out.error = e;
        return out;
    }
    response_body operator()(const sasl_authenticate_request&) const {
        sasl_authenticate_response out;
        out.error = e;
        return out;
    }
};

}  // namespace

response_body error_response(const request& req, error_code e) {
    return std::visit(builder{e}, req.body);
}

response_frame encode_response(const request_header& h, const response_body& body) {
    return std::visit(
        [&](const auto& b) { return encode_response(h.correlation_id, h.api_version, b); }, body);
}

}  // namespace sluice::kafka

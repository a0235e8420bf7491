#include "broker/kafka_acl.hpp"

#include <algorithm>
#include <type_traits>
#include <vector>

namespace sluice::broker {

using kafka::error_code;
constexpr auto denied_code = error_code::topic_authorization_failed;

bool kafka_topic_access::check(auth::kafka_operation op, std::string_view topic) const {
    if (!acl_) return true;
    auth::acl_identity who{client_id_, user_ ? std::optional<std::string_view>(*user_)
                                             : std::nullopt};
    return acl_->check_kafka(who, op, topic).allowed;
}

bool kafka_topic_access::may_produce(std::string_view topic) const {
    return check(auth::kafka_operation::produce, topic);
}

bool kafka_topic_access::may_consume(std::string_view topic) const {
    return check(auth::kafka_operation::consume, topic);
}

namespace {

// Moves the topics `allowed` refuses out of `topics`; `name` reads a topic's name.
template <class T, class Allowed, class Name>
std::vector<T> take_denied(std::vector<T>& topics, Allowed allowed, Name name) {
    std::vector<T> out;
    auto keep = std::stable_partition(topics.begin(), topics.end(),
                                      [&](const T& t) { return allowed(name(t)); });
    std::move(keep, topics.end(), std::back_inserter(out));
    topics.erase(keep, topics.end());
    return out;
}

template <class T, class Allowed>
std::vector<T> take_denied(std::vector<T>& topics, Allowed allowed) {
    return take_denied(topics, allowed, [](const T& t) -> const std::string& { return t.name; });
}

// Adds one answer topic per denied request topic, each partition refused.
template <class Response, class ReqTopic>
response_fixup add_partitions_denied(std::vector<ReqTopic> denied) {
    if (denied.empty()) return {};
    return [denied = std::move(denied)](kafka::response_body& body) {
        auto* r = std::get_if<Response>(&body);
        if (!r) return;  // a whole-request error answer
        for (const auto& t : denied) {
            auto& rt = r->topics.emplace_back();
            rt.name = t.name;
            for (const auto& p : t.partitions) {
                auto& rp = rt.partitions.emplace_back();
                rp.index = p.index;
                rp.error = denied_code;
            }
        }
    };
}

}  // namespace

response_fixup apply_topic_acl(kafka::request& req, const kafka_topic_access& access,
                               std::size_t& denied) {
    denied = 0;
    if (!access.active()) return {};
    auto produce = [&](const std::string& t) { return access.may_produce(t); };
    auto consume = [&](const std::string& t) { return access.may_consume(t); };
    auto describe = [&](const std::string& t) { return access.may_describe(t); };
    auto counted = [&](auto v) {
        denied = v.size();
        return v;
    };

    if (auto* p = std::get_if<kafka::produce_request>(&req.body))
        return add_partitions_denied<kafka::produce_response>(counted(take_denied(p->topics, produce)));
    if (auto* f = std::get_if<kafka::fetch_request>(&req.body))
        return add_partitions_denied<kafka::fetch_response>(counted(take_denied(f->topics, consume)));
    if (auto* l = std::get_if<kafka::list_offsets_request>(&req.body))
        return add_partitions_denied<kafka::list_offsets_response>(
            counted(take_denied(l->topics, consume)));
    if (auto* c = std::get_if<kafka::offset_commit_request>(&req.body))
        return add_partitions_denied<kafka::offset_commit_response>(
            counted(take_denied(c->topics, consume)));

    if (auto* o = std::get_if<kafka::offset_fetch_request>(&req.body)) {
        if (!o->topics) {
            // Every committed partition of the group: answer only the readable topics.
            return [access](kafka::response_body& body) {
                if (auto* r = std::get_if<kafka::offset_fetch_response>(&body))
                    std::erase_if(r->topics, [&](const auto& t) { return !access.may_consume(t.name); });
            };
        }
        auto out = counted(take_denied(*o->topics, consume));
        if (out.empty()) return {};
        return [out = std::move(out)](kafka::response_body& body) {
            auto* r = std::get_if<kafka::offset_fetch_response>(&body);
            if (!r) return;
            for (const auto& t : out) {
                auto& rt = r->topics.emplace_back();
                rt.name = t.name;
                for (auto i : t.partition_indexes) {
                    auto& rp = rt.partitions.emplace_back();
                    rp.index = i;
                    rp.error = denied_code;
                }
            }
        };
    }

    if (auto* m = std::get_if<kafka::metadata_request>(&req.body)) {
        if (!m->topics) {
            // Every topic: list only those the client may read or write (Kafka omits the rest).
            return [access](kafka::response_body& body) {
                if (auto* r = std::get_if<kafka::metadata_response>(&body))
                    std::erase_if(r->topics, [&](const auto& t) { return !access.may_describe(t.name); });
            };
        }
        auto out = counted(take_denied(*m->topics, describe, [](const std::string& s) -> const std::string& { return s; }));
        if (out.empty()) return {};
        return [out = std::move(out)](kafka::response_body& body) {
            auto* r = std::get_if<kafka::metadata_response>(&body);
            if (!r) return;
            for (const auto& name : out) {
                auto& t = r->topics.emplace_back();
                t.name = name;
                t.error = denied_code;
            }
        };
    }

    if (auto* c = std::get_if<kafka::create_topics_request>(&req.body)) {
        auto out = counted(take_denied(c->topics, produce));
        if (out.empty()) return {};
        return [out = std::move(out)](kafka::response_body& body) {
            auto* r = std::get_if<kafka::create_topics_response>(&body);
            if (!r) return;
            for (const auto& t : out) r->topics.push_back({t.name, denied_code, "not authorized"});
        };
    }
    if (auto* d = std::get_if<kafka::delete_topics_request>(&req.body)) {
        auto out = counted(take_denied(d->topic_names, produce, [](const std::string& s) -> const std::string& { return s; }));
        if (out.empty()) return {};
        return [out = std::move(out)](kafka::response_body& body) {
            auto* r = std::get_if<kafka::delete_topics_response>(&body);
            if (!r) return;
            for (const auto& name : out) r->responses.push_back({name, denied_code});
        };
    }
    if (auto* d = std::get_if<kafka::describe_configs_request>(&req.body)) {
        constexpr std::int8_t topic_resource = 2;
        auto out = counted(take_denied(d->resources, describe, [](const auto& r) -> const std::string& { return r.resource_name; }));
        // Only topic resources are checked; a broker resource goes back in as it was.
        std::vector<kafka::describe_configs_request::resource> topics;
        for (auto& r : out) {
            if (r.resource_type == topic_resource)
                topics.push_back(std::move(r));
            else
                d->resources.push_back(std::move(r));
        }
        denied = topics.size();
        if (topics.empty()) return {};
        return [topics = std::move(topics)](kafka::response_body& body) {
            auto* r = std::get_if<kafka::describe_configs_response>(&body);
            if (!r) return;
            for (const auto& t : topics) {
                auto& rr = r->results.emplace_back();
                rr.error = denied_code;
                rr.error_message = "not authorized";
                rr.resource_type = t.resource_type;
                rr.resource_name = t.resource_name;
            }
        };
    }
    return {};
}

}  // namespace sluice::broker

#include "kafka/api_versions.hpp"

#include <array>

namespace sluice::kafka {

namespace {
constexpr std::array<api_support, 20> apis{{
    {api_key::produce, 0, 7, 3},          {api_key::fetch, 4, 11, 4},
    {api_key::list_offsets, 0, 5, 0},     {api_key::metadata, 0, 8, 0},
    {api_key::offset_commit, 0, 7, 0},    {api_key::offset_fetch, 0, 5, 0},
    {api_key::find_coordinator, 0, 2, 0}, {api_key::join_group, 0, 5, 0},
    {api_key::heartbeat, 0, 3, 0},        {api_key::leave_group, 0, 1, 0},
    {api_key::sync_group, 0, 3, 0},       {api_key::describe_groups, 0, 4, 0},
    {api_key::list_groups, 0, 2, 0},      {api_key::sasl_handshake, 0, 1, 0},
    {api_key::api_versions, 0, 3, 0},     {api_key::create_topics, 0, 4, 0},
    {api_key::delete_topics, 0, 3, 0},    {api_key::init_producer_id, 0, 1, 0},
    {api_key::describe_configs, 0, 3, 0}, {api_key::sasl_authenticate, 0, 1, 0},
}};
}  // namespace

std::span<const api_support> supported_apis() {
    return apis;
}

const api_support* find_api(std::int16_t key) {
    for (const auto& a : apis)
        if (static_cast<std::int16_t>(a.key) == key) return &a;
    return nullptr;
}

bool is_advertised(std::int16_t key, std::int16_t version) {
    const api_support* a = find_api(key);
    return a && version >= a->advertised_min && version <= a->advertised_max;
}

api_versions_response api_versions_body(error_code error) {
    api_versions_response r;
    r.error = error;
    for (const auto& a : apis)
        r.apis.push_back({static_cast<std::int16_t>(a.key), a.advertised_min, a.advertised_max});
    return r;
}

}  // namespace sluice::kafka

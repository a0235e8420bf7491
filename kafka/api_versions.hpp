#pragma once
// What Sluice advertises in ApiVersions and what it serves. The two differ for Produce:
// librdkafka enables LZ4 (and the v2 message format) only when the broker's advertised
// Produce range starts at 0, so 0-7 is advertised while requests below v3 (old message
// sets, which the store cannot hold) are answered with UNSUPPORTED_VERSION per partition.
//
// Threads: constant tables; any thread.

#include <cstdint>
#include <span>

#include "kafka/api_key.hpp"
#include "kafka/messages_admin.hpp"

namespace sluice::kafka {

struct api_support {
    api_key key;
    std::int16_t advertised_min;
    std::int16_t advertised_max;
    std::int16_t served_min;  // versions below it are answered with UNSUPPORTED_VERSION
    // Versions between advertised_min and served_min are decoded too (to answer them).
};

// Every API Sluice implements, in key order.
std::span<const api_support> supported_apis();
// The entry for a key, or nullptr for an API Sluice does not implement.
const api_support* find_api(std::int16_t key);
// Whether `version` of `key` can be decoded (advertised range).
bool is_advertised(std::int16_t key, std::int16_t version);

// The body of an ApiVersions response listing supported_apis() with error NONE, or with
// `error` (UNSUPPORTED_VERSION) for a request of a version Sluice does not know.
api_versions_response api_versions_body(error_code error = error_code::none);

}  // namespace sluice::kafka

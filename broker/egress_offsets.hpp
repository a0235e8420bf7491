#pragma once
// Where egress stands in each log partition it follows (docs/ingest.md, "Egress"): the
// internal compacted topic `__egress_offsets`, one partition, one key per followed partition:
//
//   key    "<log topic>:<partition>"   (log topic names hold no ':')
//   value  the next offset to publish, decimal text
//
// Compaction keeps the latest record of each key. Readable with `sluice log-dump --topic
// __egress_offsets`.
// Threads: free functions; any thread (replay runs at start-up, before the listeners open).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "store/log_config.hpp"
#include "store/store.hpp"

namespace sluice::broker::egress_offsets {

inline constexpr const char* topic = "__egress_offsets";

// Compacted, kept forever, durability always, small segments so compaction keeps up.
store::log_config log_config();

std::string encode_key(std::string_view log_topic, int partition);
std::optional<std::pair<std::string, int>> decode_key(std::string_view key);
std::string encode_value(std::int64_t next_offset);
std::optional<std::int64_t> decode_value(std::string_view value);

using table = std::map<std::pair<std::string, int>, std::int64_t>;

// Creates the topic when missing and reads the latest position of every key into `out`.
// Returns the topic's partition 0, or null with `error`.
std::shared_ptr<store::partition> open(store::store& s, table& out, std::string& error);

}  // namespace sluice::broker::egress_offsets

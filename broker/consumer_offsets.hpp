#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "store/store.hpp"

// Committed consumer-group offsets as they are kept on disk (docs/kafka-protocol.md,
// "Consumer groups and offsets"): the internal compacted topic `__consumer_offsets`, a few
// partitions with every commit of one group in the same partition (so commits of one key are
// ordered), records in Kafka's own layout:
//
//   key   (version 1)  int16 1, string group, string topic, int32 partition
//   value (version 3)  int16 3, int64 offset, int32 leader epoch, string metadata,
//                      int64 commit timestamp (ms since the epoch)
//   null value         a tombstone: the commit is deleted (compaction drops it later)
//
// Strings are an int16 length and bytes, integers big-endian. Compaction keeps the latest
// record of each key, so the topic stays as small as the set of live commits.
//
// Threads: free functions and plain values; any thread. The table belongs to its owner.
namespace sluice::broker {

struct committed_offset {
    std::int64_t offset = -1;
    std::int32_t leader_epoch = -1;
    std::string metadata;
    std::int64_t commit_timestamp = 0;
    bool operator==(const committed_offset&) const = default;
};

// topic and partition within a group
using topic_partition = std::pair<std::string, std::int32_t>;
// group -> (topic, partition) -> its last commit
using offset_table = std::map<std::string, std::map<topic_partition, committed_offset>>;

struct offset_key {
    std::string group;
    std::string topic;
    std::int32_t partition = 0;
    bool operator==(const offset_key&) const = default;
};

namespace consumer_offsets {

inline constexpr const char* topic = "__consumer_offsets";
// Partitions of a newly created topic; an existing topic keeps the count it was made with.
inline constexpr int default_partitions = 4;
// Kafka's offset.metadata.max.bytes: longer metadata is refused (OFFSET_METADATA_TOO_LARGE).
inline constexpr std::size_t max_metadata_bytes = 4096;

std::string encode_key(const offset_key& k);
std::optional<offset_key> decode_key(std::string_view bytes);
std::string encode_value(const committed_offset& v);
std::optional<committed_offset> decode_value(std::string_view bytes);

// The partition of `group` among `partitions` (FNV-1a of the group id: stable across runs,
// which matters because replay reads partitions one after the other).
int partition_for(const std::string& group, int partitions);

// Creates the topic if it is missing (compacted, kept forever, durability always). Returns
// the partition count, or 0 with `error` set.
int ensure_topic(store::store& s, std::string& error);

// Reads every partition from its start and applies each record to `table` (a value sets the
// commit, a tombstone deletes it). Records whose key or value this version cannot read are
// skipped and counted in `skipped`. False with `error` set when a partition cannot be read.
bool replay(store::store& s, offset_table& table, std::size_t& skipped, std::string& error);

}  // namespace consumer_offsets
}  // namespace sluice::broker

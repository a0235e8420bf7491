#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string_view>
#include <vector>

// Which MQTT topics a stretch of a logged partition holds, so that a session's replay can pass
// over stretches none of its filters can match without reading them
// (docs/offline-backlog-design.md, "Topic summaries").
//
// The ingest adds every QoS 1/2 record it appended (its offset and its topic's levels) in
// offset order (QoS 0 records are never replayed: an offline session keeps none); consecutive records form a chunk of `records_per_chunk`, and a chunk keeps a Bloom
// filter of (level index, level text) pairs. A filter can match a record only if every
// literal level before its `#` (up to `max_levels`) is in the record's topic at that index, so
// a chunk whose filter lacks one of them holds no match: no false negatives, a few false
// positives (a chunk read for nothing). A chunk covers the offsets from its first record to
// its last; offsets the ingest did not add (a Kafka producer's records, which the replay does
// not deliver either, and QoS 0 records) may lie inside it. Offsets outside every chunk (before this process
// opened the partition, or dropped to keep at most `max_chunks`) are never skipped.
//
// Memory: 1 KiB per chunk, at most `max_chunks` per partition (oldest dropped first).
// In memory only: after a restart the replay reads what it did before.
//
// Threads: add() from the partition's writer thread (append completions), skip() from the
// backlog reader; `mu_` (a leaf lock) guards the chunks.
namespace sluice::broker {

class topic_summary {
  public:
    static constexpr std::size_t max_levels = 8;  // levels past these are not summarised
    static constexpr std::size_t bloom_bits = 8192;

    // A topic's levels (or a filter's literal levels) as hashed tokens, at most max_levels.
    struct tokens {
        std::array<std::uint64_t, max_levels> h{};
        std::uint8_t n = 0;
    };
    static tokens of_topic(std::string_view topic);
    // The literal levels before any `#`; `+` levels are left out. n == 0: the filter can match
    // anything (`#`, `+/+`), so it never lets a chunk be skipped.
    static tokens of_filter(std::string_view filter);

    explicit topic_summary(std::size_t records_per_chunk = 1024, std::size_t max_chunks = 4096);

    // The record at `offset` (above every offset added before) has a topic with `t`.
    void add(std::int64_t offset, const tokens& t);

    // Where a replay from `from` (up to `until`) with `filters` should read. `next`: the first
    // offset that may hold a record matching one of them, past every chunk that starts where
    // the last one ended and cannot match; `from` when the summary knows nothing there.
    // `read_until`: where the run of chunks that may match, from `next`, is followed by one
    // that cannot (reading further decodes what the next skip passes over); `until` when
    // unknown. An empty `filters` matches nothing.
    struct skip_result {
        std::int64_t next = 0;
        std::int64_t read_until = 0;
    };
    skip_result skip(std::int64_t from, std::int64_t until, const std::vector<tokens>& filters) const;

    std::size_t chunks() const;

  private:
    struct chunk {
        std::int64_t from = 0;
        std::int64_t end = 0;  // one past the last record added
        std::size_t records = 0;
        std::array<std::uint64_t, bloom_bits / 64> bloom{};
        bool may_hold(const tokens& filter) const;
    };

    const std::size_t records_per_chunk_;
    const std::size_t max_chunks_;
    mutable std::mutex mu_;
    std::deque<chunk> chunks_;
};

}  // namespace sluice::broker
